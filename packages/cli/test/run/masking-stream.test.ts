import { randomBytes } from 'node:crypto'
import { PassThrough } from 'node:stream'
import { inspect } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CONCEALED,
  MaskingStream,
  maskedForms,
  RETIRE_GRACE_MS,
  SecretMatcher,
  SecretSet,
} from '../../src/run/masking-stream.js'

const setOf = (...values: string[]) => {
  const set = new SecretSet()
  for (const value of values) set.add(value)
  return set
}

/** The longest stretch of `output` covered by overlapping occurrences of `values` (0: none). */
function longestRun(output: string, values: readonly string[]): number {
  const found: [number, number][] = []
  for (const value of values) {
    for (let at = output.indexOf(value); at !== -1; at = output.indexOf(value, at + 1))
      found.push([at, at + value.length])
  }
  found.sort((a, b) => a[0] - b[0])
  let longest = 0
  let run: [number, number] | undefined
  for (const [start, end] of found) {
    if (run !== undefined && start < run[1]) run[1] = Math.max(run[1], end)
    else run = [start, end]
    longest = Math.max(longest, run[1] - run[0])
  }
  return longest
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
          // No secret survives. What is held back is at most the tail where a secret may start
          // (longest − 1 bytes), or a run of overlapping occurrences that may still grow, held whole
          // with such a tail after it: never more than the output's longest run plus that tail.
          // (The bound was the longest secret × their number, which a run outgrows: fast-check found
          // "-ba-" in "-ba-b", held whole as the start of "-ba-ba-".)
          for (const value of values) expect(whole.replaceAll(CONCEALED, '#')).not.toContain(value)
          const longest = Math.max(...values.map((v) => v.length))
          expect(maxHeld).toBeLessThanOrEqual(longestRun(output, values) + longest - 1)
        },
      ),
      { numRuns: 500, examples: [[['-ba-'], '-ba-b', []]] },
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

/** An OpenSSH private key's shape: armour, then 70-character base64 lines. */
function sshKey(): string {
  const body = randomBytes(300).toString('base64')
  const lines = body.match(/.{1,70}/g)!
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`
}

describe('SecretMatcher: values as programs print them', () => {
  it('masks a multi-line key printed by console.log of an object, JSON.stringify, or with CRLF', () => {
    const key = sshKey()
    const secrets = setOf(key)
    const bodyLines = key.split('\n').filter((line) => line.length > 0 && !line.startsWith('-----'))
    const printed = {
      // console.log({ key }): the string split at its newlines into quoted pieces joined by `+`.
      consoleLog: `${inspect({ key })}\n`,
      json: `${JSON.stringify({ key })}\n`,
      crlf: `key:\r\n${key.replaceAll('\n', '\r\n')}`,
      indented: key
        .split('\n')
        .map((line) => `    ${line}`)
        .join('\n'),
    }
    expect(printed.consoleLog).toContain("' +\n")
    for (const [how, output] of Object.entries(printed)) {
      const whole = text(secrets, output)
      const byteByByte = text(secrets, ...output.split(''))
      expect(byteByByte, how).toBe(whole)
      for (const line of bodyLines) expect(whole, `${how}: ${line}`).not.toContain(line.slice(0, 20))
      expect(whole, how).toContain(CONCEALED)
    }
    // The armour alone is not secret: it stays.
    expect(text(secrets, '-----BEGIN OPENSSH PRIVATE KEY-----\n')).toBe(
      '-----BEGIN OPENSSH PRIVATE KEY-----\n',
    )
  })

  it('masks the JSON-escaped form of a value with quotes, backslashes or control characters', () => {
    const value = 'pa"ss\\wo\trd-canary'
    const secrets = setOf(value)
    expect(text(secrets, `${JSON.stringify({ password: value })}\n`)).toBe(`{"password":"${CONCEALED}"}\n`)
    expect(text(secrets, `raw ${value}\n`)).toBe(`raw ${CONCEALED}\n`)
  })

  it('registers the forms: the value, its JSON escape when it differs, each line of 8 or more', () => {
    expect(maskedForms('plain-value')).toEqual(['plain-value'])
    expect(maskedForms('a"quoted"one')).toEqual(['a"quoted"one', 'a\\"quoted\\"one'])
    expect(maskedForms('line-one-long\r\nshort\r\nline-three-long')).toEqual([
      'line-one-long\r\nshort\r\nline-three-long',
      'line-one-long\\r\\nshort\\r\\nline-three-long',
      'line-one-long',
      'line-three-long',
    ])
  })
})

describe('SecretSet: values retire', () => {
  it("stops masking a value once its hold ends, and holds one holder's value against another's retire", () => {
    let now = 1_000_000
    const secrets = new SecretSet({ now: () => now })
    secrets.add('expiring-credential', { until: now + 1000, holder: 'cloud-role' })
    secrets.add('for-ever-value', { holder: 'references' })
    secrets.add('shared-value', { holder: 'references' })
    secrets.add('shared-value', { until: now + 10, holder: 'cloud-role' })
    expect(text(secrets, 'expiring-credential shared-value')).toBe(`${CONCEALED} ${CONCEALED}`)
    now += 1000
    expect(text(secrets, 'expiring-credential shared-value')).toBe(`expiring-credential ${CONCEALED}`)
    expect([...secrets.values()].sort()).toEqual(['for-ever-value', 'shared-value'])

    // A replaced value: retired by its holder, masked for the grace period, then no longer.
    secrets.retire('for-ever-value', now + RETIRE_GRACE_MS, 'references')
    secrets.retire('shared-value', now + 5, 'cloud-role') // not its hold any more: no effect
    now += RETIRE_GRACE_MS - 1
    expect(text(secrets, 'for-ever-value')).toBe(CONCEALED)
    now += 1
    expect(text(secrets, 'for-ever-value shared-value')).toBe(`for-ever-value ${CONCEALED}`)
    expect(secrets.size).toBe(1)
    // Concealed again: masked again.
    secrets.add('for-ever-value', { holder: 'references' })
    expect(text(secrets, 'for-ever-value')).toBe(CONCEALED)
  })

  it('stays bounded by what is live over a long run --cloud-role (two secrets per refresh)', () => {
    let now = Date.UTC(2030, 0, 1)
    const secrets = new SecretSet({ now: () => now })
    secrets.add('capability-for-the-whole-run')
    const matcher = new SecretMatcher(secrets)
    // A week of hourly credentials refreshed every 45 minutes, each masked until an hour after expiry.
    for (let refresh = 0; refresh < 7 * 32; refresh++) {
      const expiresAt = now + 60 * 60_000
      secrets.add(`secret-access-key-${refresh}`, { until: expiresAt + RETIRE_GRACE_MS })
      secrets.add(`session-token-${refresh}-IQoJb3JpZ2luX2Vj`, { until: expiresAt + RETIRE_GRACE_MS })
      matcher.push(Buffer.from('a line of output\n'))
      now += 45 * 60_000
    }
    expect(secrets.patterns.length).toBeLessThanOrEqual(1 + 2 * 3)
    expect([...secrets.values()]).toContain('capability-for-the-whole-run')
    expect(text(secrets, 'secret-access-key-0 secret-access-key-223')).toBe(
      `secret-access-key-0 ${CONCEALED}`,
    )
  })

  // How fast, with 2, 1,000 and 11,520 secrets against the search of before: `npm run bench -- --only
  // masking` (bench/masking.mjs). Here only what it finds.
  it('finds a secret among 11,520, over many lines (the indexed search)', () => {
    const secrets = new SecretSet()
    for (let i = 0; i < 11_520; i++)
      secrets.add(
        i % 2 === 0
          ? randomBytes(30).toString('base64')
          : `IQoJb3JpZ2luX2Vj${randomBytes(600).toString('base64')}`,
      )
    const secret = [...secrets.values()][1_001]!
    const matcher = new SecretMatcher(secrets)
    const line = Buffer.from('2030-01-01T00:00:00Z info request 1234 served in 12 ms path=/api/v1/items/x\n')
    let passed = 0
    for (let i = 0; i < 1_000; i++) passed += matcher.push(line).length
    passed += matcher.flush().length
    expect(passed).toBe(1_000 * line.length)
    expect(text(secrets, `a ${secret} b`)).toBe(`a ${CONCEALED} b`)
  })

  it('masks exactly as the per-pattern search does once the patterns are indexed (property)', () => {
    const alphabet = fc.constantFrom(...'abcd-'.split(''))
    // Decoys the output never holds (other letters): they put the set past the indexed threshold.
    const decoys = Array.from({ length: 12 }, (_, i) => `wxyz${'uv'.repeat(i + 1)}`)
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: alphabet, minLength: 4, maxLength: 7 }), { minLength: 1, maxLength: 4 }),
        fc.string({ unit: alphabet, maxLength: 60 }),
        fc.array(fc.nat(60), { maxLength: 6 }),
        (values, output, cuts) => {
          const few = setOf(...values)
          const many = setOf(...values, ...decoys)
          const bytes = Buffer.from(output)
          const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b)
          const chunks: Buffer[] = []
          let at = 0
          for (const p of [...points, bytes.length]) {
            chunks.push(bytes.subarray(at, p))
            at = p
          }
          const expected = stream(few, [bytes]).out.toString()
          expect(stream(many, [bytes]).out.toString()).toBe(expected)
          const split = stream(many, chunks)
          expect(split.out.toString()).toBe(expected)
          const splitFew = stream(few, chunks)
          expect(split.maxHeld).toBe(splitFew.maxHeld)
        },
      ),
      { numRuns: 500 },
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
