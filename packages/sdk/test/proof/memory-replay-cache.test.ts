import { describe, expect, it } from 'vitest'
import { MemoryReplayCache } from '../../src/proof/memory-replay-cache.js'
import { ProofError } from '../../src/proof/proof-error.js'

function clockAt(ms: number) {
  const clock = { ms, now: () => clock.ms }
  return clock
}

describe('MemoryReplayCache', () => {
  it('says true the first time a jti is seen and false after, until it expires', async () => {
    const clock = clockAt(1_000_000)
    const cache = new MemoryReplayCache({ now: clock.now })
    const { firstUse } = cache // usable detached
    expect(await firstUse('a', 1_060)).toBe(true)
    expect(await firstUse('a', 1_060)).toBe(false)
    expect(await firstUse('b', 1_060)).toBe(true)
    clock.ms = 1_060_000
    expect(await firstUse('a', 1_120)).toBe(true) // expired: forgotten, a proof this old is refused anyway
  })

  it('answers exactly one of many concurrent first uses with true', async () => {
    const cache = new MemoryReplayCache({ now: () => 0 })
    const answers = await Promise.all(Array.from({ length: 50 }, () => cache.firstUse('same', 60)))
    expect(answers.filter(Boolean)).toHaveLength(1)
  })

  it('stays bounded: expired entries are swept, and when full of live ones it fails closed', async () => {
    const clock = clockAt(0)
    const cache = new MemoryReplayCache({ maxEntries: 3, now: clock.now })
    for (const jti of ['a', 'b', 'c']) expect(await cache.firstUse(jti, 60)).toBe(true)
    const error = await cache.firstUse('d', 60).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProofError)
    expect(error).toMatchObject({ reason: 'ReplayCacheFull', code: 'ERR_PAM_SERVER' })
    expect(await cache.firstUse('a', 60)).toBe(false) // still remembered: nothing live was evicted
    clock.ms = 61_000
    expect(await cache.firstUse('d', 120)).toBe(true)
    expect(cache.size).toBeLessThanOrEqual(3)
    for (let i = 0; i < 1000; i++) {
      clock.ms += 30_000
      await cache.firstUse(`j${i}`, clock.ms / 1000 + 60)
      expect(cache.size).toBeLessThanOrEqual(3)
    }
  })

  it('does not record a jti that has already expired', async () => {
    const cache = new MemoryReplayCache({ now: () => 100_000 })
    expect(await cache.firstUse('old', 50)).toBe(true)
    expect(cache.size).toBe(0)
  })

  it('refuses a nonsensical size', () => {
    expect(() => new MemoryReplayCache({ maxEntries: 0 })).toThrow(TypeError)
  })
})
