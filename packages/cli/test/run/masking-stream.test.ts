import { PassThrough } from 'node:stream'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CONCEALED, MaskingStream, SecretMatcher, SecretSet } from '../../src/run/masking-stream.js'

const setOf = (...values: string[]) => {
  const set = new SecretSet()
  for (const value of values) set.add(value)
  return set
}

/** Feeds `chunks` through a matcher and returns everything it wrote, and the most it held back. */
function stream(secrets: SecretSet, chunks: readonly Buffer[]): { out: Buffer; maxHeld: number } {
  const matcher = new SecretMatcher(secrets)
  const parts: Buffer[] = []
  let maxHeld = 0
  for (const chunk of chunks) {
    parts.push(matcher.push(chunk))
    maxHeld = Math.max(maxHeld, matcher.pending)
  }
  parts.push(matcher.flush())
  return { out: Buffer.concat(parts), maxHeld }
}

const text = (secrets: SecretSet, ...chunks: string[]) =>
  stream(
    secrets,
    chunks.map((c) => Buffer.from(c)),
  ).out.toString()

describe('SecretMatcher', () => {
  it('replaces a secret written whole, every time it appears', () => {
    const secrets = setOf('s3cr3t-value')
    expect(text(secrets, 'key=s3cr3t-value and again s3cr3t-value\n')).toBe(
      `key=${CONCEALED} and again ${CONCEALED}\n`,
    )
  })

  it('replaces a secret split across writes, at every split point', () => {
    const secret = 'sk_live_0123456789'
    const secrets = setOf(secret)
    const line = `token ${secret} end`
    for (let cut = 0; cut <= line.length; cut++) {
      expect(text(secrets, line.slice(0, cut), line.slice(cut)), `cut at ${cut}`).toBe(
        `token ${CONCEALED} end`,
      )
    }
    // One byte at a time.
    expect(text(secrets, ...line.split(''))).toBe(`token ${CONCEALED} end`)
  })

  it('holds back only a tail that may start a secret, at most (longest − 1) bytes', () => {
    const secrets = setOf('abcdef', 'xyz1')
    const matcher = new SecretMatcher(secrets)
    expect(matcher.push(Buffer.from('hello ')).toString()).toBe('hello ')
    expect(matcher.pending).toBe(0)
    expect(matcher.push(Buffer.from('--abcde')).toString()).toBe('--')
    expect(matcher.pending).toBe(5)
    // Not the secret after all: the held bytes go out.
    expect(matcher.push(Buffer.from('X')).toString()).toBe('abcdeX')
    expect(matcher.pending).toBe(0)
    expect(matcher.push(Buffer.from('xy')).toString()).toBe('')
    expect(matcher.flush().toString()).toBe('xy')
  })

  it('is binary-safe and matches multi-byte text', () => {
    const secret = 'pässwörd-€'
    const secrets = setOf(secret)
    const bytes = Buffer.concat([Buffer.from([0, 255, 254]), Buffer.from(secret), Buffer.from([0xc3])])
    const { out } = stream(secrets, [bytes.subarray(0, 6), bytes.subarray(6)])
    expect(out).toEqual(
      Buffer.concat([Buffer.from([0, 255, 254]), Buffer.from(CONCEALED), Buffer.from([0xc3])]),
    )
  })

  it('hides overlapping secrets as one, so no part of either shows', () => {
    const secrets = setOf('abcd', 'cdef')
    expect(text(secrets, 'x abcdef y')).toBe(`x ${CONCEALED} y`)
    expect(text(secrets, 'x ab', 'cd', 'ef y')).toBe(`x ${CONCEALED} y`)
    const nested = setOf('long-secret-inner-part', 'inner')
    expect(text(nested, '<long-secret-inner-part>')).toBe(`<${CONCEALED}>`)
    expect(text(nested, '<inner>')).toBe(`<${CONCEALED}>`)
  })

  it('skips values shorter than 4 characters', () => {
    const secrets = new SecretSet()
    expect(secrets.add('abc')).toBe(false)
    expect(secrets.add('abcd')).toBe(true)
    expect(text(secrets, 'abc abcd')).toBe(`abc ${CONCEALED}`)
  })

  it('learns new values while streaming', () => {
    const secrets = setOf('old-value')
    const matcher = new SecretMatcher(secrets)
    expect(matcher.push(Buffer.from('old-value new-value ')).toString()).toBe(`${CONCEALED} new-value `)
    secrets.add('new-value')
    expect(matcher.push(Buffer.from('new-value old-value\n')).toString()).toBe(`${CONCEALED} ${CONCEALED}\n`)
  })

  it('writes the output unchanged when there is no secret', () => {
    const { out, maxHeld } = stream(new SecretSet(), [Buffer.from('anything')])
    expect(out.toString()).toBe('anything')
    expect(maxHeld).toBe(0)
  })

  it('masks exactly what a one-shot replacement masks, however the output is cut (property)', () => {
    const alphabet = fc.constantFrom(...'abcd-'.split(''))
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: alphabet, minLength: 4, maxLength: 7 }), { minLength: 1, maxLength: 3 }),
        fc.string({ unit: alphabet, maxLength: 60 }),
        fc.array(fc.nat(60), { maxLength: 6 }),
        (values, output, cuts) => {
          const secrets = setOf(...values)
          const bytes = Buffer.from(output)
          const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b)
          const chunks: Buffer[] = []
          let at = 0
          for (const p of [...points, bytes.length]) {
            chunks.push(bytes.subarray(at, p))
            at = p
          }
          const whole = stream(secrets, [bytes]).out.toString()
          const { out, maxHeld } = stream(secrets, chunks)
          expect(out.toString()).toBe(whole)
          // No secret survives, and no more than a secret's length is ever held.
          for (const value of values) expect(whole.replaceAll(CONCEALED, '#')).not.toContain(value)
          expect(maxHeld).toBeLessThanOrEqual(Math.max(...values.map((v) => v.length)) * values.length)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('holds back at most (longest − 1) bytes when no secret overlaps itself or another (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('x', 'y', 'z', 'q'), maxLength: 80 }), (output) => {
        const secrets = setOf('xyzz', 'qqzy')
        const { maxHeld } = stream(
          secrets,
          output.split('').map((c) => Buffer.from(c)),
        )
        expect(maxHeld).toBeLessThanOrEqual(3)
      }),
      { numRuns: 300 },
    )
  })
})

describe('MaskingStream', () => {
  const collect = (stream: MaskingStream) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    return chunks
  }

  it('flushes what it holds at end of stream', async () => {
    const masker = new MaskingStream(setOf('secret-1'))
    const chunks = collect(masker)
    masker.write('a secret-')
    masker.end()
    await new Promise((resolve) => masker.once('end', resolve))
    expect(Buffer.concat(chunks).toString()).toBe('a secret-')
  })

  it('writes held bytes after an idle period, so a prompt appears', async () => {
    const masker = new MaskingStream(setOf('Password1234'), { idleFlushMs: 30 })
    const chunks = collect(masker)
    masker.write('Enter Pass')
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(Buffer.concat(chunks).toString()).toBe('Enter ')
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(Buffer.concat(chunks).toString()).toBe('Enter Pass')
    masker.end()
  })

  it('masks a value split over two writes with a delay shorter than the idle period', async () => {
    const source = new PassThrough()
    const masker = new MaskingStream(setOf('split-secret-value'), { idleFlushMs: 200 })
    const chunks = collect(masker)
    source.pipe(masker)
    source.write('x split-sec')
    await new Promise((resolve) => setTimeout(resolve, 40))
    source.end('ret-value y')
    await new Promise((resolve) => masker.once('end', resolve))
    expect(Buffer.concat(chunks).toString()).toBe(`x ${CONCEALED} y`)
  })
})
