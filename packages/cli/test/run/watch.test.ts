import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Poller, RestartScheduler } from '../../src/run/watch.js'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('RestartScheduler', () => {
  it('restarts once after the debounce and the jitter, however many changes came in the window', async () => {
    const restart = vi.fn()
    const scheduler = new RestartScheduler({ debounceMs: 2000, jitterMs: 6000, random: () => 0.5, restart })
    scheduler.request()
    await vi.advanceTimersByTimeAsync(1500)
    scheduler.request() // within the window: the debounce starts again
    await vi.advanceTimersByTimeAsync(1999)
    expect(restart).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    // Debounce over; now the jitter: 0.5 × 6000 ms.
    scheduler.request() // during the jitter: part of this restart
    await vi.advanceTimersByTimeAsync(2999)
    expect(restart).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(restart).toHaveBeenCalledTimes(1)
    expect(scheduler.pending).toBe(false)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(restart).toHaveBeenCalledTimes(1)
  })

  it('draws the jitter from 0 to the maximum', async () => {
    for (const [random, wait] of [
      [0, 0],
      [0.999, 999],
    ] as const) {
      const restart = vi.fn()
      const scheduler = new RestartScheduler({ debounceMs: 0, jitterMs: 1000, random: () => random, restart })
      scheduler.request()
      if (wait > 0) {
        await vi.advanceTimersByTimeAsync(wait - 1)
        expect(restart).not.toHaveBeenCalled()
      }
      await vi.advanceTimersByTimeAsync(1)
      expect(restart).toHaveBeenCalledTimes(1)
    }
  })

  it('does nothing once cancelled', async () => {
    const restart = vi.fn()
    const scheduler = new RestartScheduler({ debounceMs: 100, jitterMs: 100, restart })
    scheduler.request()
    scheduler.cancel()
    await vi.advanceTimersByTimeAsync(1000)
    expect(restart).not.toHaveBeenCalled()
  })
})

describe('Poller', () => {
  it('polls every interval after the previous poll ended, never two at once, until stopped', async () => {
    let running = 0
    let most = 0
    let polls = 0
    const poller = new Poller(5000, async () => {
      running++
      most = Math.max(most, running)
      polls++
      await new Promise((resolve) => setTimeout(resolve, 7000))
      running--
    })
    poller.start()
    await vi.advanceTimersByTimeAsync(4999)
    expect(polls).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(polls).toBe(1)
    // The poll takes 7 s; the next starts 5 s after it ended: at 17 s.
    await vi.advanceTimersByTimeAsync(11_999)
    expect(polls).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(polls).toBe(2)
    expect(most).toBe(1)
    poller.stop()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(polls).toBe(2)
  })

  it('keeps polling after a poll that failed', async () => {
    let polls = 0
    const poller = new Poller(1000, async () => {
      polls++
      throw new Error('network down')
    })
    poller.start()
    await vi.advanceTimersByTimeAsync(3000)
    expect(polls).toBe(3)
    poller.stop()
  })
})
