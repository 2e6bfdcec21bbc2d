import { describe, expect, it } from 'vitest'
import { findHeadSeq } from '../src/audit-head.js'

/** A log holding `seqs`, read forwards only, counting the probes. */
function log(seqs: number[]) {
  const sorted = [...seqs].sort((a, b) => a - b)
  let probes = 0
  const firstAfter = async (seq: number) => {
    probes++
    return sorted.find((s) => s > seq) ?? null
  }
  return { firstAfter, probes: () => probes }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

describe('findHeadSeq', () => {
  it('is 0 for an empty log', async () => {
    expect(await findHeadSeq(log([]).firstAfter)).toBe(0)
  })

  it.each([1, 2, 3, 7, 8, 9, 100, 1000, 12_345])('finds the head of a log of %i events', async (n) => {
    const events = log(range(n))
    expect(await findHeadSeq(events.firstAfter)).toBe(n)
    expect(events.probes()).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n + 1)) + 2)
  })

  it('copes with gaps in the numbering', async () => {
    expect(await findHeadSeq(log([3, 4, 90, 91, 517]).firstAfter)).toBe(517)
    expect(await findHeadSeq(log([5]).firstAfter)).toBe(5)
  })
})
