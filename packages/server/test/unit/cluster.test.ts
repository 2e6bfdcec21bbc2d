import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parsePrometheusText, sampleValue } from '../../../../test/support/prometheus-text.js'
import { mergeExpositions } from '../../src/cluster/metrics.js'
import { IpcWriteLock, LockQueue } from '../../src/cluster/write-lock.js'
import { ServerMetrics } from '../../src/metrics/server-metrics.js'

describe("the workers' metrics, merged", () => {
  it('is one valid exposition: each family once, every sample labelled with its worker', () => {
    const worker = (requests: number) => {
      const metrics = new ServerMetrics()
      for (let n = 0; n < requests; n++) metrics.throttledOn('oauth')()
      const text = metrics.expose()
      metrics.close()
      return text
    }
    const merged = mergeExpositions(
      new Map([
        [0, worker(2)],
        [1, worker(5)],
      ]),
    )
    const families = parsePrometheusText(merged)
    expect(
      sampleValue(families, 'strongroom_throttled_requests_total', { worker: '0', surface: 'oauth' }),
    ).toBe(2)
    expect(
      sampleValue(families, 'strongroom_throttled_requests_total', { worker: '1', surface: 'oauth' }),
    ).toBe(5)
    for (const family of families.values()) {
      for (const sample of family.samples) expect(['0', '1']).toContain(sample.labels.worker)
    }
  })

  it('labels samples with and without labels, and keeps HELP and TYPE once', () => {
    const text = (n: number) =>
      [
        '# HELP up_total Ups.',
        '# TYPE up_total counter',
        `up_total ${n}`,
        '# HELP req_seconds Latency.',
        '# TYPE req_seconds histogram',
        `req_seconds_bucket{le="0.1"} ${n}`,
        `req_seconds_bucket{le="+Inf"} ${n}`,
        `req_seconds_sum ${n / 10}`,
        `req_seconds_count ${n}`,
        '',
      ].join('\n')
    const merged = mergeExpositions(
      new Map([
        [0, text(1)],
        [3, text(4)],
      ]),
    )
    expect(merged.match(/# TYPE up_total counter/g)).toHaveLength(1)
    expect(merged).toContain('up_total{worker="0"} 1\nup_total{worker="3"} 4\n')
    expect(merged).toContain('req_seconds_bucket{worker="3",le="+Inf"} 4')
    const families = parsePrometheusText(merged)
    expect(sampleValue(families, 'req_seconds_count', { worker: '3' })).toBe(4)
    expect(mergeExpositions(new Map())).toBe('')
  })
})

describe('the write lock of workers on one SQLite file', () => {
  it('is held by one worker at a time, granted in the order asked; a worker that exits gives it up', () => {
    const grants: number[] = []
    const queue = new LockQueue((id) => grants.push(id))
    queue.acquire(1)
    queue.acquire(2)
    queue.acquire(3)
    expect(grants).toEqual([1])
    queue.release(2) // not the holder: nothing changes
    expect(queue.heldBy).toBe(1)
    queue.release(1)
    expect(grants).toEqual([1, 2])
    queue.forget(3) // waiting, then gone
    queue.forget(2) // holding, then gone
    expect(queue.heldBy).toBeNull()
    queue.acquire(4)
    expect(grants).toEqual([1, 2, 4])
  })

  it("ignores a worker's ask read after its exit: the lock is never granted to the dead", () => {
    const grants: number[] = []
    const queue = new LockQueue((id) => grants.push(id))
    queue.forget(7) // its exit, handled first
    queue.acquire(7) // then its last message, still in the channel
    expect(queue.heldBy).toBeNull()
    queue.acquire(8)
    expect(grants).toEqual([8])
  })

  it('never grants two holders at once, whatever the order of asks, releases and exits', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            op: fc.constantFrom('acquire', 'release', 'forget'),
            id: fc.integer({ min: 1, max: 4 }),
          }),
        ),
        (ops) => {
          let holder: number | null = null
          const asked = new Set<number>()
          const queue = new LockQueue((id) => {
            expect(holder).toBeNull()
            holder = id
          })
          for (const { op, id } of ops) {
            if (op === 'acquire') {
              // A worker's committer asks once, and again only after its release.
              if (asked.has(id)) continue
              asked.add(id)
              queue.acquire(id)
            } else {
              if (holder === id) holder = null
              if (op === 'forget' || holder !== id) asked.delete(id)
              op === 'release' ? queue.release(id) : queue.forget(id)
            }
            expect(queue.heldBy).toBe(holder)
          }
        },
      ),
    )
  })

  it("a worker waits for the primary's grant, and is refused once its primary is gone", async () => {
    const sent: string[] = []
    const lock = new IpcWriteLock((message) => {
      sent.push(message.sr)
      return true
    })
    let held = false
    const acquired = lock.acquire().then(() => {
      held = true
    })
    await Promise.resolve()
    expect(held).toBe(false)
    lock.granted()
    await acquired
    lock.release()
    expect(sent).toEqual(['lock', 'unlock'])
    const waiting = lock.acquire()
    lock.disconnected()
    await expect(waiting).rejects.toThrow(/its primary process is gone/)
    await expect(lock.acquire()).rejects.toThrow(/its primary process is gone/)
    lock.release()
    expect(sent).toEqual(['lock', 'unlock', 'lock'])
  })
})
