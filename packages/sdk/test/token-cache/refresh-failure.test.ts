import { afterEach, describe, expect, it, vi } from 'vitest'
import { CredentialProviderError } from '../../src/errors.js'
import type { AccessToken } from '../../src/token-cache/access-token.js'
import { TokenCache } from '../../src/token-cache/token-cache.js'
import { FakeClock, HOUR, MINUTE, SECOND, START, settle, stateOf, tokenFor } from './fake-clock.js'

const caches: TokenCache[] = []
afterEach(() => {
  for (const cache of caches.splice(0)) cache.close()
})

function cacheOn(clock: FakeClock, fetchToken: () => Promise<AccessToken>, random = 0): TokenCache {
  const cache = new TokenCache({
    fetchToken,
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    random: () => random,
  })
  caches.push(cache)
  return cache
}

/** A fetch that succeeds once (a token living `lifetimeMs`), then fails with `error` until told. */
function succeedOnceThenFail(clock: FakeClock, lifetimeMs: number, error: Error) {
  let failing = false
  const fetchToken = vi.fn(async () => {
    if (failing) throw error
    failing = true
    return tokenFor(clock, lifetimeMs, `token-${fetchToken.mock.calls.length}`)
  })
  return {
    fetchToken,
    recover(): void {
      failing = false
    },
  }
}

describe('TokenCache when refreshing fails', () => {
  it('serves the valid token until it expires, then rejects with the refresh error — never an expired token', async () => {
    const clock = new FakeClock()
    const idpDown = new Error('identity provider unavailable')
    const { fetchToken } = succeedOnceThenFail(clock, HOUR, idpDown)
    const cache = cacheOn(clock, fetchToken)
    const first = await cache.getToken()
    const usableUntil = first.expiresAt - 5 * SECOND

    let served = 0
    let refused = 0
    for (let at = START + 30 * MINUTE; at <= START + HOUR + MINUTE; at += 7 * SECOND) {
      await clock.advanceTo(at)
      const outcome = cache.getToken()
      expect(await stateOf(outcome)).not.toBe('pending')
      if (clock.now() < usableUntil) {
        const token = await outcome
        expect(token.accessToken).toBe('token-1')
        expect(token.expiresAt - 5 * SECOND).toBeGreaterThan(clock.now())
        served += 1
      } else {
        await expect(outcome).rejects.toBe(idpDown)
        refused += 1
      }
    }
    expect(served).toBeGreaterThan(0)
    expect(refused).toBeGreaterThan(0)
    // It kept retrying in the background (between 2/3 of the hour and expiry), but with backoff.
    const retries = fetchToken.mock.calls.length - 1
    expect(retries).toBeGreaterThan(20)
    expect(retries).toBeLessThan(200)
  })

  it('gives waiting callers the still-valid token when the refresh they waited for fails', async () => {
    const clock = new FakeClock()
    const { fetchToken } = succeedOnceThenFail(clock, HOUR, new Error('down'))
    const cache = cacheOn(clock, fetchToken)
    await cache.getToken()
    await clock.jump(59 * MINUTE + 30 * SECOND) // no timer fired: this call is the first to refresh
    expect((await cache.getToken()).accessToken).toBe('token-1')
    expect(fetchToken).toHaveBeenCalledTimes(2)
  })

  it('backs off exponentially between retries, capped at 30 s, and starts over after a success', async () => {
    const clock = new FakeClock()
    const { fetchToken, recover } = succeedOnceThenFail(clock, 10 * HOUR, new Error('down'))
    const cache = cacheOn(clock, fetchToken, 0.5)
    await cache.getToken()
    const refresh = clock.pending[0]
    if (refresh === undefined) throw new Error('expected a refresh timer')
    await clock.advanceTo(refresh.at) // the background refresh fails

    const delays: number[] = []
    for (let i = 0; i < 8; i++) {
      const retry = clock.pending[0]
      if (retry === undefined) throw new Error('expected a retry timer')
      delays.push(retry.delay)
      await clock.advanceTo(retry.at)
    }
    // Between half and all of 1, 2, 4, 8, 16, 30, 30… s (random 0.5 → three quarters).
    expect(delays).toEqual([0.75, 1.5, 3, 6, 12, 22.5, 22.5, 22.5].map((s) => s * SECOND))
    expect(fetchToken).toHaveBeenCalledTimes(10)

    recover()
    await clock.advanceTo(clock.pending[0]?.at ?? Number.NaN)
    expect(fetchToken).toHaveBeenCalledTimes(11)
    expect((await cache.getToken()).accessToken).toBe('token-11')
    const next = clock.pending[0]
    expect(next?.delay).toBeCloseTo(10 * HOUR * (2 / 3 - 0.05), 3) // a refresh timer again, not a retry

    await clock.advanceTo(next?.at ?? Number.NaN) // the next refresh fails again: the backoff starts over
    expect(fetchToken).toHaveBeenCalledTimes(12)
    expect(clock.pending[0]?.delay).toBe(0.75 * SECOND)
  })

  it('does not cache a failure on a cold cache beyond the backoff', async () => {
    const clock = new FakeClock()
    const refused = new Error('invalid_client')
    let fail = true
    const fetchToken = vi.fn(async () => {
      if (fail) throw refused
      return tokenFor(clock, HOUR)
    })
    const cache = cacheOn(clock, fetchToken)

    await expect(cache.getToken()).rejects.toBe(refused)
    expect(clock.pending).toHaveLength(0) // no token to protect: nothing retries in the background
    // During the backoff (0.5 s for the first failure at random 0) callers fail fast with that error.
    await clock.advance(400)
    await expect(cache.getToken()).rejects.toBe(refused)
    expect(fetchToken).toHaveBeenCalledTimes(1)

    fail = false
    await clock.advance(100)
    await expect(cache.getToken()).resolves.toMatchObject({ accessToken: 'token-1' })
    expect(fetchToken).toHaveBeenCalledTimes(2)
  })

  it('refuses a token that expired before it arrived, and backs off as for any failure', async () => {
    const clock = new FakeClock()
    const fetchToken = vi.fn(async () => ({ accessToken: 'stale', expiresAt: clock.now() - 1 }))
    const cache = cacheOn(clock, fetchToken)
    const error = await cache.getToken().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(CredentialProviderError)
    expect((error as CredentialProviderError).code).toBe('ERR_PAM_CREDENTIAL_PROVIDER')
    expect((error as Error).message).not.toContain('stale')
    await expect(cache.getToken()).rejects.toBe(error)
    expect(fetchToken).toHaveBeenCalledTimes(1)
  })

  it('names the unit when expiresAt looks like epoch seconds', async () => {
    const clock = new FakeClock()
    const fetchToken = async () => ({ accessToken: 'x', expiresAt: Math.floor(clock.now() / 1000) + 3600 })
    const cache = cacheOn(clock, fetchToken)
    await expect(cache.getToken()).rejects.toThrow(/looks like epoch seconds, it must be epoch milliseconds/)
  })

  it('refuses a token without an accessToken', async () => {
    const clock = new FakeClock()
    const fetchToken = async () => ({ accessToken: '', expiresAt: clock.now() + HOUR })
    const cache = cacheOn(clock, fetchToken)
    await expect(cache.getToken()).rejects.toBeInstanceOf(CredentialProviderError)
    await settle()
  })
})

describe('TokenCache on a clock that starts at zero', () => {
  it('accepts small epoch-ms values: only the clock decides what has expired', async () => {
    let time = 0
    let fetches = 0
    const cache = new TokenCache({
      fetchToken: async () => ({ accessToken: `token-${++fetches}`, expiresAt: time + HOUR }),
      now: () => time,
      setTimeout: () => undefined,
      clearTimeout: () => {},
    })
    expect((await cache.getToken()).accessToken).toBe('token-1')
    time = HOUR - 5 * SECOND // expired for the cache (5 s of skew): a new token is fetched
    expect((await cache.getToken()).accessToken).toBe('token-2')
    cache.close()
  })
})
