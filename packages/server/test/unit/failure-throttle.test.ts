import { describe, expect, it } from 'vitest'
import { FailureThrottle } from '../../src/http/failure-throttle.js'

describe('failure throttle', () => {
  it('allows a burst of failures, then refuses until failures are earned back', () => {
    let now = 0
    const throttle = new FailureThrottle({ burst: 3, refillPerSecond: 0.5, now: () => now })
    expect(throttle.retryAfter('a')).toBe(0)
    expect(throttle.fail('a')).toBe(false)
    expect(throttle.fail('a')).toBe(false)
    expect(throttle.fail('a')).toBe(true) // the third failure exhausts the burst
    expect(throttle.retryAfter('a')).toBe(2) // one failure back at 0.5/s
    expect(throttle.retryAfter('b')).toBe(0) // per source
    now += 1000
    expect(throttle.retryAfter('a')).toBe(1)
    now += 1000
    expect(throttle.retryAfter('a')).toBe(0)
    expect(throttle.fail('a')).toBe(true)
    now += 60_000
    expect(throttle.retryAfter('a')).toBe(0)
    expect(throttle.fail('a')).toBe(false) // fully refilled: a fresh burst
  })

  it('neither refills nor drains when the clock steps backwards', () => {
    let now = 10_000
    const throttle = new FailureThrottle({ burst: 2, refillPerSecond: 1, now: () => now })
    throttle.fail('a')
    expect(throttle.fail('a')).toBe(true)
    now -= 5_000 // NTP steps the clock back
    expect(throttle.retryAfter('a')).toBe(1)
    now += 5_000 // back where it was: no time has passed for the bucket
    expect(throttle.retryAfter('a')).toBe(1)
    now += 1_000
    expect(throttle.retryAfter('a')).toBe(0)
  })

  it('keeps the lower of what it holds and what it is told, as answers may come back out of order', () => {
    let now = 0
    const throttle = new FailureThrottle({ burst: 5, refillPerSecond: 0.5, now: () => now })
    throttle.adopt('a', 0.2) // the later answer arrived first
    throttle.adopt('a', 1.2) // the earlier one, late: it must not lift the throttle
    expect(throttle.retryAfter('a')).toBe(2)
    now += 2_000 // earned back, at the database's rate: what it is told now is the truth
    expect(throttle.retryAfter('a')).toBe(0)
    throttle.adopt('a', 0)
    expect(throttle.retryAfter('a')).toBe(2)
    throttle.adopt('b', 5) // a full bucket is nothing to remember
    expect(throttle.retryAfter('b')).toBe(0)
  })

  it('remembers a bounded number of sources', () => {
    const throttle = new FailureThrottle({ burst: 1, refillPerSecond: 0.001, now: () => 0, maxSources: 100 })
    for (let i = 0; i < 1000; i++) throttle.fail(`10.0.${i >> 8}.${i & 255}`)
    expect(throttle.retryAfter('10.0.3.231')).toBeGreaterThan(0) // recent: still throttled
    expect(throttle.retryAfter('10.0.0.0')).toBe(0) // forgotten
  })

  it('keys a source by its first 256 characters, so long client ids cannot fill memory', () => {
    const throttle = new FailureThrottle({ burst: 1, refillPerSecond: 0.001, now: () => 0 })
    const long = 'c'.repeat(16 * 1024)
    throttle.fail(long)
    // The same first 256 characters are the same source; the bucket holds no more than that.
    expect(throttle.retryAfter(`${'c'.repeat(256)}different tail`)).toBeGreaterThan(0)
    const keys = [...(throttle as unknown as { buckets: Map<string, unknown> }).buckets.keys()]
    expect(keys.map((k) => k.length)).toEqual([256])
  })
})
