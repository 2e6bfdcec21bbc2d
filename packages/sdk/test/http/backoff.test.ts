import { describe, expect, it } from 'vitest'
import { createHttpClient } from '../../src/http/http-client.js'
import { fullJitterDelay, resolveRetryPolicy, retryAfterMs } from '../../src/http/retry-policy.js'

describe('full-jitter backoff', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1_000 }

  it('draws from [0, min(cap, base·2^n))', () => {
    for (let retry = 0; retry < 8; retry++) {
      const ceiling = Math.min(1_000, 100 * 2 ** retry)
      expect(fullJitterDelay(retry, policy, () => 0)).toBe(0)
      expect(fullJitterDelay(retry, policy, () => 0.5)).toBe(Math.floor(ceiling / 2))
      const highest = fullJitterDelay(retry, policy, () => 0.999_999)
      expect(highest).toBeLessThan(ceiling)
      expect(highest).toBeGreaterThanOrEqual(ceiling - 1)
    }
  })

  it('never exceeds the cap however many retries', () => {
    expect(fullJitterDelay(60, policy, () => 0.999_999)).toBeLessThan(1_000)
  })

  it('is what the client waits between attempts (injected random)', async () => {
    const waits: number[] = []
    const draws = [0.25, 0.75, 0.999]
    const client = createHttpClient({
      retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 300 },
      random: () => draws.shift() ?? 0,
      sleep: async (ms) => {
        waits.push(ms)
      },
      fetch: async () => Response.json({}, { status: 503 }),
    })
    await expect(client.request('GET', 'http://pam.invalid/x')).rejects.toThrow()
    // Ceilings 100, 200, 300 (capped from 400).
    expect(waits).toEqual([25, 150, 299])
  })
})

describe('Retry-After parsing', () => {
  const now = Date.parse('2026-03-01T12:00:00Z')
  it('prefers x-acs-retry-after milliseconds', () => {
    expect(retryAfterMs(new Headers({ 'x-acs-retry-after': '1500', 'retry-after': '9' }), now)).toBe(1_500)
  })
  it('reads delay-seconds and HTTP dates, never negative', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '7' }), now)).toBe(7_000)
    expect(retryAfterMs(new Headers({ 'retry-after': 'Sun, 01 Mar 2026 12:00:05 GMT' }), now)).toBe(5_000)
    expect(retryAfterMs(new Headers({ 'retry-after': 'Sun, 01 Mar 2026 11:00:00 GMT' }), now)).toBe(0)
  })
  it('ignores what it cannot read', () => {
    expect(
      retryAfterMs(new Headers({ 'retry-after': 'soon', 'x-acs-retry-after': '-3' }), now),
    ).toBeUndefined()
    expect(retryAfterMs(new Headers(), now)).toBeUndefined()
  })
})

describe('retry policy', () => {
  it('has capped defaults', () => {
    expect(resolveRetryPolicy(undefined)).toEqual({
      maxAttempts: 3,
      baseDelayMs: 200,
      maxDelayMs: 5_000,
      maxRetryAfterMs: 30_000,
    })
  })
  it('refuses nonsense with a coded TypeError', () => {
    expect(() => resolveRetryPolicy({ maxAttempts: 0 })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }),
    )
  })
})
