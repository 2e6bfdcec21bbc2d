import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { parsePrometheusText, sampleValue } from '../../../../test/support/prometheus-text.js'
import { mergeExpositions } from '../../src/cluster/metrics.js'
import { Restarts } from '../../src/cluster/restarts.js'
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
    expect(lock.holds()).toBe(true)
    lock.release()
    expect(lock.holds()).toBe(false)
    expect(sent).toEqual(['lock', 'unlock'])
    const waiting = lock.acquire()
    lock.disconnected()
    await expect(waiting).rejects.toThrow(/its primary process is gone/)
    expect(((await waiting.catch((err: Error) => err)) as Error).cause).toMatchObject({
      code: 'PRIMARY_GONE',
    })
    await expect(lock.acquire()).rejects.toThrow(/its primary process is gone/)
    lock.release()
    expect(sent).toEqual(['lock', 'unlock', 'lock'])
  })

  it('refuses a batch whose lock does not come in time, and gives that grant back when it comes late', async () => {
    vi.useFakeTimers()
    try {
      const queue = new LockQueue((id) => locks[id - 1]!.granted())
      const locks = [1, 2].map(
        (id) =>
          new IpcWriteLock((message) => {
            if (message.sr === 'lock') queue.acquire(id)
            else queue.release(id)
            return true
          }, 1_000),
      )
      const [stuck, waiter] = locks as [IpcWriteLock, IpcWriteLock]
      // Worker 1 takes the lock and keeps it (stopped in a debugger, say).
      await stuck.acquire()
      const refused = waiter.acquire()
      const assertion = expect(refused).rejects.toThrow(/held its write lock for over 1 s; retry later/)
      await vi.advanceTimersByTimeAsync(1_000)
      await assertion
      // What /readyz will name as the reason writes fail.
      expect(((await refused.catch((err: Error) => err)) as Error).cause).toMatchObject({
        code: 'WRITE_LOCK_TIMEOUT',
      })
      expect(waiter.holds()).toBe(false)
      // The next batch asks again while the first ask is still queued at the primary.
      let second = false
      const asked = waiter.acquire().then(() => {
        second = true
      })
      stuck.release()
      // The late grant of the first ask went straight back; the second ask then had its own.
      await asked
      expect(second).toBe(true)
      expect(waiter.holds()).toBe(true)
      expect(queue.heldBy).toBe(2)
      waiter.release()
      expect(queue.heldBy).toBeNull()
    } finally {
      vi.useRealTimers()
    }
  })

  it('says how long the lock has been held', () => {
    let now = 0
    const queue = new LockQueue(
      () => {},
      () => now,
    )
    expect(queue.heldFor()).toBe(0)
    queue.acquire(1)
    now = 12_000
    expect(queue.heldFor()).toBe(12_000)
    queue.acquire(2)
    queue.release(1)
    now = 12_500
    expect(queue.heldFor()).toBe(500)
  })
})

describe('restarting workers', () => {
  it('doubles the delay while workers keep crashing soon after start, and starts over after one ran a minute', () => {
    const restarts = new Restarts()
    const delays = Array.from({ length: 8 }, () => restarts.exited(500, true))
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000])
    expect(restarts.exited(61_000, true)).toBe(1_000)
    expect(restarts.exited(2_000, true)).toBe(2_000)
  })

  it('gives a slot up after five workers in a row failed before they listened', () => {
    const restarts = new Restarts()
    expect(restarts.exited(300, false)).toBe(1_000)
    expect(restarts.exited(300, false)).toBe(2_000)
    // One that served resets the count of failed starts.
    expect(restarts.exited(300, true)).toBe(4_000)
    for (let n = 1; n <= 4; n++) expect(restarts.exited(300, false)).not.toBeNull()
    expect(restarts.exited(300, false)).toBeNull()
    expect(restarts.failedStarts).toBe(5)
  })

  it('does not start over after a worker that took a minute to fail without ever listening', () => {
    const restarts = new Restarts()
    expect(restarts.exited(500, true)).toBe(1_000)
    // Killed by the start timeout: long-lived, never steady.
    expect(restarts.exited(60_000, false)).toBe(2_000)
    expect(restarts.exited(60_000, false)).toBe(4_000)
  })
})
