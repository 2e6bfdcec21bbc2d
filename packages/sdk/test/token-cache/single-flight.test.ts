import { afterEach, describe, expect, it, vi } from 'vitest'
import type { AccessToken } from '../../src/token-cache/access-token.js'
import { TokenCache } from '../../src/token-cache/token-cache.js'
import { call, controlledFetch, FakeClock, HOUR, MINUTE, stateOf, tokenFor } from './fake-clock.js'

const caches: TokenCache[] = []
afterEach(() => {
  for (const cache of caches.splice(0)) cache.close()
})

function cacheOn(clock: FakeClock, fetchToken: (signal: AbortSignal) => Promise<AccessToken>): TokenCache {
  const cache = new TokenCache({
    fetchToken,
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    random: () => 0,
  })
  caches.push(cache)
  return cache
}

describe('TokenCache single flight', () => {
  it('makes exactly one fetch for 1,000 concurrent calls on a cold cache, and all get its token', async () => {
    const clock = new FakeClock()
    const fetchToken = vi.fn(async () => tokenFor(clock, HOUR, 'only-token'))
    const cache = cacheOn(clock, fetchToken)

    const tokens = await Promise.all(Array.from({ length: 1_000 }, () => cache.getToken()))

    expect(fetchToken).toHaveBeenCalledTimes(1)
    expect(new Set(tokens.map((token) => token.accessToken))).toEqual(new Set(['only-token']))
  })

  it('serves the cached token without fetching again while it is fresh', async () => {
    const clock = new FakeClock()
    const fetchToken = vi.fn(async () => tokenFor(clock, HOUR))
    const cache = cacheOn(clock, fetchToken)
    await cache.getToken()
    await clock.advance(30 * MINUTE)
    await Promise.all(Array.from({ length: 100 }, () => cache.getToken()))
    expect(fetchToken).toHaveBeenCalledTimes(1)
  })

  it('does not wedge when fetchToken throws synchronously: the next call fetches again', async () => {
    const clock = new FakeClock()
    let attempts = 0
    const fetchToken = (): Promise<AccessToken> => {
      attempts += 1
      if (attempts === 1) throw new Error('sync boom')
      return Promise.resolve(tokenFor(clock, HOUR))
    }
    const cache = cacheOn(clock, fetchToken)
    await expect(cache.getToken()).rejects.toThrow('sync boom')
    await clock.advance(MINUTE) // past the backoff
    await expect(cache.getToken()).resolves.toMatchObject({ accessToken: 'token-1' })
    expect(attempts).toBe(2)
  })
})

describe('TokenCache forceRefresh', () => {
  it('fetches a new token now even though the cached one is fresh', async () => {
    const clock = new FakeClock()
    let n = 0
    const fetchToken = vi.fn(async () => tokenFor(clock, HOUR, `token-${++n}`))
    const cache = cacheOn(clock, fetchToken)
    expect((await cache.getToken()).accessToken).toBe('token-1')

    expect((await cache.forceRefresh()).accessToken).toBe('token-2')
    expect((await cache.getToken({ forceRefresh: true })).accessToken).toBe('token-3')
    expect((await cache.getToken()).accessToken).toBe('token-3')
    expect(fetchToken).toHaveBeenCalledTimes(3)
  })

  it('is single-flight: concurrent forced and plain calls share one fetch', async () => {
    const clock = new FakeClock()
    const { fetchToken, calls } = controlledFetch()
    const cache = cacheOn(clock, fetchToken)
    const waiting = [cache.forceRefresh(), cache.getToken(), cache.forceRefresh(), cache.getToken()]
    expect(calls).toHaveLength(1)
    call(calls, 0).resolve(tokenFor(clock, HOUR, 'shared'))
    const tokens = await Promise.all(waiting)
    expect(tokens.map((token) => token.accessToken)).toEqual(['shared', 'shared', 'shared', 'shared'])
  })

  it('rejects with the error when the forced fetch fails, and ignores a backoff in progress', async () => {
    const clock = new FakeClock()
    const { fetchToken, calls } = controlledFetch()
    const cache = cacheOn(clock, fetchToken)
    const first = cache.getToken()
    call(calls, 0).resolve(tokenFor(clock, HOUR, 'old'))
    await first

    const forced = cache.forceRefresh()
    call(calls, 1).reject(new Error('refused'))
    await expect(forced).rejects.toThrow('refused')
    // A plain call still gets the valid old token; a forced one fetches despite the backoff.
    expect((await cache.getToken()).accessToken).toBe('old')
    const again = cache.forceRefresh()
    expect(calls).toHaveLength(3)
    call(calls, 2).resolve(tokenFor(clock, HOUR, 'new'))
    expect((await again).accessToken).toBe('new')
    expect(await stateOf(cache.getToken())).toBe('fulfilled')
  })
})
