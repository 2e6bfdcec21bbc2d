/**
 * Finds the highest sequence number of an audit log that can only be read forwards, with about
 * 2·log2(n) probes instead of reading all n events. `firstAfter(seq)` is the sequence number of
 * the first event after `seq`, or null when there is none. Gaps in the numbering do not matter.
 */
export async function findHeadSeq(firstAfter: (seq: number) => Promise<number | null>): Promise<number> {
  // Invariant: an event `low` exists (head ≥ low); no event is after `high` (head ≤ high).
  let low = await firstAfter(0)
  if (low === null) return 0
  let high: number
  for (;;) {
    const probe = low * 2
    const found = await firstAfter(probe)
    if (found === null) {
      high = probe
      break
    }
    low = found
  }
  while (low < high) {
    const mid = Math.floor((low + high) / 2)
    const found = await firstAfter(mid)
    if (found === null) high = mid
    else low = found
  }
  return low
}
