import { PassThrough, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { GuardedOutput, isGuarded } from '../../src/run/guarded-output.js'

/** A target that fails every write after `ok` of them with `code`, as a pipe whose reader left. */
class FailingTarget extends Writable {
  readonly written: string[] = []
  constructor(
    readonly ok: number,
    readonly code = 'EPIPE',
  ) {
    super()
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error) => void): void {
    if (this.written.length >= this.ok) {
      callback(Object.assign(new Error(`write ${this.code}`), { code: this.code }))
      return
    }
    this.written.push(String(chunk))
    callback()
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10))

describe('GuardedOutput', () => {
  it('passes writes on until the target fails, then drops them without an error of its own', async () => {
    const target = new FailingTarget(1)
    const broken: string[] = []
    const output = new GuardedOutput(target, { onBroken: (code) => broken.push(code) })
    const errors: unknown[] = []
    output.on('error', (error) => errors.push(error))
    const told: string[] = []
    output.whenBroken(() => told.push('broken'))

    output.write('first\n')
    output.write('second\n') // fails on the target: EPIPE
    await tick()
    expect(output.broken).toBe(true)
    expect(broken).toEqual(['EPIPE'])
    expect(told).toEqual(['broken'])
    output.write('third\n')
    await tick()
    expect(target.written).toEqual(['first\n'])
    expect(errors).toEqual([])
    expect(isGuarded(target)).toBe(true)

    // A listener that comes later is told at once.
    const late: string[] = []
    output.whenBroken(() => late.push('broken'))
    expect(late).toEqual(['broken'])
  })

  it('waits for a target that asks to, and does not wait for one that breaks meanwhile', async () => {
    const target = new PassThrough({ highWaterMark: 4 })
    const output = new GuardedOutput(target)
    let done = false
    output.write('more than four bytes', () => {
      done = true
    })
    await tick()
    expect(done).toBe(false) // the target is full and nobody reads it
    target.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
    await tick()
    expect(done).toBe(true)
    expect(output.broken).toBe(true)
  })

  it('leaves a stream nobody guards to its own handlers', () => {
    expect(isGuarded(new PassThrough())).toBe(false)
  })
})
