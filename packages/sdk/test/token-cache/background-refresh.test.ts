import { afterEach, describe, expect, it } from 'vitest'
import type { AccessToken } from '../../src/token-cache/access-token.js'
import { MAX_TIMER_DELAY_MS } from '../../src/token-cache/timers.js'
import { TokenCache } from '../../src/token-cache/token-cache.js'
import {
  call,
  controlledFetch,
  FakeClock,
  type FetchCall,
  HOUR,
  MINUTE,
  SECOND,
  START,
  settle,
  stateOf,
  tokenFor,
} from './fake-clock.js'

const caches: TokenCache[] = []
afterEach(() => {
  for (const cache of caches.splice(0)) cache.close()
})

function setUp(random = 0): {
  clock: FakeClock
  cache: TokenCache
  calls: FetchCall[]
} {
  const clock = new FakeClock()
  const { fetchToken, calls } = controlledFetch()
  const cache = new TokenCache({
    fetchToken,
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    random: () => random,
  })
  caches.push(cache)
  return { clock, cache, calls }
}

/** The first token, fetched on a cold cache. */
function warm(cache: TokenCache, calls: FetchCall[], token: AccessToken): Promise<AccessToken> {
  const first = cache.getToken()
  call(calls, calls.length - 1).resolve(token)
  return first
}

describe('TokenCache background refresh', () => {
  it('schedules the refresh at 2/3 of the lifetime, jitter moving it only earlier (≤ 10%)', async () => {
    for (const [random, expected] of [
      [0, 40 * MINUTE],
      [0.5, 37 * MINUTE],
      [0.999, 40 * MINUTE - 0.999 * 6 * MINUTE],
    ] as const) {
      const { clock, cache, calls } = setUp(random)
      await warm(cache, calls, tokenFor(clock, HOUR))
      const timers = clock.pending
      expect(timers).toHaveLength(1)
      expect(timers[0]?.at).toBeCloseTo(START + expected, 6)
      expect(timers[0]?.at).toBeLessThanOrEqual(START + (2 / 3) * HOUR)
    }
  })

  it('refreshes before expiry while the valid token keeps being served without waiting', async () => {
    const { clock, cache, calls } = setUp(0.5)
    await warm(cache, calls, tokenFor(clock, HOUR, 'first'))

    await clock.advanceTo(START + 37 * MINUTE - 1)
    expect(calls).toHaveLength(1)
    await clock.advanceTo(START + 37 * MINUTE)
    expect(calls).toHaveLength(2) // the background refresh is under way…

    // …and callers are answered at once with the still-valid token, without another fetch.
    const during = Array.from({ length: 50 }, () => cache.getToken())
    expect(await stateOf(Promise.all(during))).toBe('fulfilled')
    expect((await Promise.all(during)).every((token) => token.accessToken === 'first')).toBe(true)
    expect(calls).toHaveLength(2)

    call(calls, 1).resolve(tokenFor(clock, HOUR, 'second'))
    await settle()
    expect((await cache.getToken()).accessToken).toBe('second')
    // The next refresh is planned from the new token's lifetime.
    expect(clock.pending.map((timer) => timer.at)).toEqual([START + 37 * MINUTE + 37 * MINUTE])
  })

  it('never makes callers wait while more than min(60 s, 10% of the lifetime) is left', async () => {
    const { clock, cache, calls } = setUp()
    await warm(cache, calls, tokenFor(clock, HOUR))
    await clock.advanceTo(START + 40 * MINUTE) // background refresh starts and stays pending
    expect(calls).toHaveLength(2)
    for (const at of [41 * MINUTE, 50 * MINUTE, 58 * MINUTE, 59 * MINUTE - 1]) {
      await clock.advanceTo(START + at)
      expect(await stateOf(cache.getToken())).toBe('fulfilled')
    }
    await clock.advanceTo(START + 59 * MINUTE)
    const blocked = cache.getToken()
    expect(await stateOf(blocked)).toBe('pending')
    expect(calls).toHaveLength(2) // it joined the refresh under way
    call(calls, 1).resolve(tokenFor(clock, HOUR, 'second'))
    expect((await blocked).accessToken).toBe('second')
  })

  it('makes callers in the last stretch share one refresh (10% of a short lifetime)', async () => {
    const { clock, cache, calls } = setUp()
    await warm(cache, calls, tokenFor(clock, 60 * SECOND))
    await clock.jump(55 * SECOND) // suspended: the 40 s timer never fired; 5 s < 6 s are left
    const waiting = Array.from({ length: 20 }, () => cache.getToken())
    expect(await stateOf(Promise.all(waiting))).toBe('pending')
    expect(calls).toHaveLength(2)
    call(calls, 1).resolve(tokenFor(clock, 60 * SECOND, 'second'))
    expect(new Set((await Promise.all(waiting)).map((token) => token.accessToken))).toEqual(
      new Set(['second']),
    )
  })

  it('starts the refresh from a call when its timer has not fired (a suspended process)', async () => {
    const { clock, cache, calls } = setUp()
    await warm(cache, calls, tokenFor(clock, HOUR, 'first'))
    await clock.jump(45 * MINUTE)
    expect((await cache.getToken()).accessToken).toBe('first')
    expect(calls).toHaveLength(2)
  })

  it('re-arms timers longer than setTimeout allows instead of firing early', async () => {
    const { clock, cache, calls } = setUp()
    const lifetime = 400 * 24 * HOUR
    await warm(cache, calls, tokenFor(clock, lifetime))
    expect(clock.pending[0]?.delay).toBe(MAX_TIMER_DELAY_MS)
    const refreshAt = START + (2 / 3) * lifetime
    await clock.advanceTo(refreshAt - 1)
    expect(calls).toHaveLength(1)
    expect(clock.history.every((timer) => timer.delay <= MAX_TIMER_DELAY_MS)).toBe(true)
    await clock.advanceTo(refreshAt)
    expect(calls).toHaveLength(2)
  })

  it('does not refresh in the background sooner than 5 s after a token arrived, however short its life', async () => {
    const { clock, cache, calls } = setUp()
    await warm(cache, calls, tokenFor(clock, 50))
    // A server answering 50 ms tokens: an idle client asked for one every 33 ms before.
    await clock.advance(3 * SECOND)
    expect(calls).toHaveLength(1)
    const second = cache.getToken()
    expect(calls).toHaveLength(2)
    call(calls, 1).resolve(tokenFor(clock, MINUTE))
    await second
    // A token living a minute is still refreshed in the background, at 2/3 of its life.
    await clock.advance(39 * SECOND)
    expect(calls).toHaveLength(2)
    await clock.advance(2 * SECOND)
    expect(calls).toHaveLength(3)
  })
})
