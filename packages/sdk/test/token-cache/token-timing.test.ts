import { describe, expect, it } from 'vitest'
import { backoffDelay, tokenTimes } from '../../src/token-cache/token-timing.js'
import { HOUR, MINUTE, SECOND } from './fake-clock.js'

const T0 = Date.UTC(2030, 0, 1)

describe('tokenTimes', () => {
  it('for a 1 h token: refresh at 40 min, callers wait from 59 min, expired from 59 min 55 s', () => {
    const times = tokenTimes(T0 + HOUR, T0, 0)
    expect(times).toEqual({
      receivedAt: T0,
      expiresAt: T0 + HOUR,
      refreshAt: T0 + 40 * MINUTE,
      blockFrom: T0 + 59 * MINUTE,
      usableUntil: T0 + HOUR - 5 * SECOND,
    })
  })

  it('scales the waiting window and the skew down for short tokens (10% and 5% of the lifetime)', () => {
    const times = tokenTimes(T0 + 60 * SECOND, T0, 0)
    expect(times?.refreshAt).toBe(T0 + 40 * SECOND)
    expect(times?.blockFrom).toBe(T0 + 54 * SECOND)
    expect(times?.usableUntil).toBe(T0 + 57 * SECOND)
    const tiny = tokenTimes(T0 + 10 * SECOND, T0, 0)
    expect(tiny?.blockFrom).toBe(T0 + 9 * SECOND)
    expect(tiny?.usableUntil).toBe(T0 + 9.5 * SECOND)
  })

  it('jitter only moves the background refresh earlier, by at most 10% of the lifetime', () => {
    for (const random of [0, 0.25, 0.5, 0.999_999, 1, -3, 7, Number.NaN]) {
      const times = tokenTimes(T0 + HOUR, T0, random)
      expect(times?.refreshAt).toBeLessThanOrEqual(T0 + 40 * MINUTE)
      expect(times?.refreshAt).toBeGreaterThanOrEqual(T0 + 40 * MINUTE - 6 * MINUTE)
    }
    expect(tokenTimes(T0 + HOUR, T0, 0.5)?.refreshAt).toBe(T0 + 37 * MINUTE)
  })

  it('keeps the order refresh < wait < expired < expiresAt for any lifetime', () => {
    for (const lifetime of [1, 10, 999, SECOND, 30 * SECOND, MINUTE, HOUR, 400 * 24 * HOUR]) {
      const times = tokenTimes(T0 + lifetime, T0, 0.999)
      if (times === undefined) throw new Error('expected times')
      expect(times.refreshAt).toBeLessThan(times.blockFrom)
      expect(times.blockFrom).toBeLessThan(times.usableUntil)
      expect(times.usableUntil).toBeLessThan(times.expiresAt)
    }
  })

  it('gives nothing for a token already expired on arrival', () => {
    expect(tokenTimes(T0, T0, 0)).toBeUndefined()
    expect(tokenTimes(T0 - 1, T0, 0)).toBeUndefined()
    expect(tokenTimes(Number.NaN, T0, 0)).toBeUndefined()
  })
})

describe('backoffDelay', () => {
  it('doubles from 1 s and is capped at 30 s, with jitter between half and all of it', () => {
    const ceilings = [1, 2, 4, 8, 16, 30, 30, 30].map((s) => s * SECOND)
    ceilings.forEach((ceiling, i) => {
      expect(backoffDelay(i + 1, 0)).toBe(ceiling / 2)
      expect(backoffDelay(i + 1, 1)).toBe(ceiling)
    })
    expect(backoffDelay(1_000_000, 0.5)).toBe(22.5 * SECOND)
  })
})
