import { getEventListeners } from 'node:events'
import { describe, expect, it, vi } from 'vitest'
import { TokenCache } from '../../src/token-cache/token-cache.js'
import { call, controlledFetch, FakeClock, HOUR, settle, stateOf, tokenFor } from './fake-clock.js'

function setUp() {
  const clock = new FakeClock()
  const { fetchToken, calls } = controlledFetch()
  const cache = new TokenCache({
    fetchToken,
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    random: () => 0,
  })
  return { clock, cache, calls }
}

describe('TokenCache getToken with an AbortSignal', () => {
  it('lets one caller stop waiting without cancelling the refresh the others share', async () => {
    const { clock, cache, calls } = setUp()
    const controller = new AbortController()
    const impatient = cache.getToken({ signal: controller.signal })
    const patient = cache.getToken()
    expect(calls).toHaveLength(1)

    const reason = new Error('caller gave up')
    controller.abort(reason)
    await expect(impatient).rejects.toBe(reason)
    expect(call(calls, 0).signal.aborted).toBe(false)
    expect(await stateOf(patient)).toBe('pending')

    call(calls, 0).resolve(tokenFor(clock, HOUR, 'shared'))
    expect((await patient).accessToken).toBe('shared')
    expect((await cache.getToken()).accessToken).toBe('shared') // the result was cached for later callers
    expect(calls).toHaveLength(1)
    cache.close()
  })

  it('rejects at once for a signal already aborted, without fetching', async () => {
    const { cache, calls } = setUp()
    await expect(cache.getToken({ signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    })
    expect(calls).toHaveLength(0)
    cache.close()
  })

  it('leaves no listener on a long-lived signal once the call is answered', async () => {
    const { clock, cache, calls } = setUp()
    const signal = new AbortController().signal
    const waiting = Array.from({ length: 5 }, () => cache.getToken({ signal }))
    expect(getEventListeners(signal, 'abort')).toHaveLength(5)
    call(calls, 0).resolve(tokenFor(clock, HOUR))
    await Promise.all(waiting)
    expect(getEventListeners(signal, 'abort')).toHaveLength(0)
    cache.close()
  })
})

describe('TokenCache close', () => {
  it('unrefs every timer it sets', async () => {
    const { clock, cache, calls } = setUp()
    const first = cache.getToken()
    call(calls, 0).resolve(tokenFor(clock, HOUR))
    await first
    await clock.advanceTo(clock.pending[0]?.at ?? Number.NaN)
    call(calls, 1).reject(new Error('down'))
    await settle()
    expect(clock.history.length).toBeGreaterThanOrEqual(2)
    expect(clock.history.every((timer) => timer.unrefed)).toBe(true)
    cache.close()
  })

  it('stops the timers: nothing is fetched afterwards, and getToken rejects with an AbortError', async () => {
    const { clock, cache, calls } = setUp()
    const first = cache.getToken()
    call(calls, 0).resolve(tokenFor(clock, HOUR))
    await first
    expect(clock.pending).toHaveLength(1)

    cache.close()
    expect(clock.pending).toHaveLength(0)
    await clock.advance(10 * HOUR)
    expect(calls).toHaveLength(1)
    await expect(cache.getToken()).rejects.toMatchObject({ name: 'AbortError' })
    cache.close() // idempotent
  })

  it('aborts the refresh under way and answers its waiters even if fetchToken never settles', async () => {
    const { clock, cache, calls } = setUp()
    const waiting = cache.getToken()
    cache.close()
    expect(call(calls, 0).signal.aborted).toBe(true)
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
    call(calls, 0).resolve(tokenFor(clock, HOUR)) // too late: neither kept nor scheduled
    await settle()
    expect(clock.pending).toHaveLength(0)
    expect(JSON.stringify(cache)).toContain('"token":null')
  })

  it('is what `await using` calls', async () => {
    const { clock, cache, calls } = setUp()
    const close = vi.spyOn(cache, 'close')
    {
      await using scoped = cache
      const first = scoped.getToken()
      call(calls, 0).resolve(tokenFor(clock, HOUR))
      await first
    }
    expect(close).toHaveBeenCalledTimes(1)
    expect(clock.pending).toHaveLength(0)
  })
})
