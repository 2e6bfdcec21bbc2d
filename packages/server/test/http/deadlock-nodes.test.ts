// Two PostgreSQL nodes whose batches want two audit chains' heads in opposite orders. A batch
// waits only for a head above every head it holds; one wanted out of order is asked for without
// waiting, and if held the unit is given up (no deadlock, no deadlock_timeout). That is not an
// outage: the unit runs again in its node's next batch, the rest of both batches commits, nothing
// queued behind them is refused, and both nodes stay ready.
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { listChains, verifyChain } from '../../src/audit/verify.js'
import type { Unit } from '../../src/store/committer.js'
import { type Cluster, openCluster, send } from './nodes-support.js'

/** PostgreSQL's count of deadlocks in the database at `url`, read on a connection of its own. */
async function deadlocksIn(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ n: string }>(
      'select deadlocks as n from pg_stat_database where datname = current_database()',
    )
    return Number(rows[0]!.n)
  } finally {
    await client.end()
  }
}

describe('a deadlock between two nodes’ batches (PostgreSQL)', () => {
  let c: Cluster | undefined
  afterEach(async () => {
    await c?.close()
    c = undefined
  })

  it('runs the unit given up again, refuses nothing, and leaves both chains whole', async () => {
    c = await openCluster(['a', 'b'])
    const [a, b] = c.nodes
    const second = await send(a!, 'POST', '/admin/v1/instances', {
      body: { name: 'second' },
      headers: c.auth,
    })
    const x = c.instanceId
    const y = second.body.instanceId as string
    const event = (instanceId: string, action: string) => ({
      instanceId,
      actor: { type: 'system' as const, id: 'deadlock-test' },
      action,
      outcome: 'success' as const,
    })
    // Each node's first unit locks one head and waits until both have theirs; each second unit
    // then wants the other's: a cycle PostgreSQL must break.
    let arrived = 0
    let bothLocked!: () => void
    const barrier = new Promise<void>((resolve) => {
      bothLocked = resolve
    })
    const first = (instanceId: string) => async (u: Unit) => {
      await u.audit.append(event(instanceId, 'test.first'))
      if (++arrived === 2) bothLocked()
      await barrier
      return `first ${instanceId}`
    }
    const then = (instanceId: string) => async (u: Unit) => {
      await u.audit.append(event(instanceId, 'test.second'))
      return `second ${instanceId}`
    }
    const ca = a!.services.committer
    const cb = b!.services.committer
    const crossed = Promise.all([ca.run(first(x)), ca.run(then(y)), cb.run(first(y)), cb.run(then(x))])
    // Work that arrives on both nodes while the two batches are stuck.
    await new Promise((resolve) => setTimeout(resolve, 200))
    const late = Promise.all([
      ...Array.from({ length: 5 }, () => ca.run(then(x))),
      ...Array.from({ length: 5 }, () => cb.run(then(y))),
    ])
    expect(await crossed).toEqual([`first ${x}`, `second ${y}`, `first ${y}`, `second ${x}`])
    expect(await late).toHaveLength(10)
    expect(ca.health()).toMatchObject({ ok: true, reason: null })
    expect(cb.health()).toMatchObject({ ok: true, reason: null })
    const db = a!.services.store.db
    for (const chain of await listChains(db)) expect(await verifyChain(db, chain)).toMatchObject({ ok: true })
    const events = await db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('actor_id', '=', 'deadlock-test')
      .executeTakeFirstOrThrow()
    expect(Number(events.n)).toBe(14)
  })

  // Batches on each node serve four instances in the order requests came: before heads were taken
  // in order, nearly every pair of batches deadlocked (7 units a second, some refused 503 after
  // three tries). PostgreSQL's own count of deadlocks must not move.
  it('four busy instances on two nodes: no deadlock, nothing refused, every chain whole', async () => {
    c = await openCluster(['a', 'b'])
    const ids = [c.instanceId]
    for (const name of ['two', 'three', 'four']) {
      const made = await send(c.nodes[0]!, 'POST', '/admin/v1/instances', { body: { name }, headers: c.auth })
      ids.push(made.body.instanceId as string)
    }
    const db = c.nodes[0]!.services.store.db
    const before = await deadlocksIn(c.db)
    const UNITS = 400
    const results = await Promise.allSettled(
      c.nodes.flatMap((node, n) =>
        Array.from({ length: UNITS }, (_, i) =>
          node.services.committer.run(async (u: Unit) => {
            await u.audit.append({
              instanceId: ids[(i * 7 + n * 3) % ids.length]!,
              actor: { type: 'system', id: 'ordered-heads-test' },
              action: 'test.busy',
              outcome: 'success',
            })
            // A second chain in the same unit, either side of the first in the order.
            if (i % 5 === 0) {
              await u.audit.append({
                instanceId: ids[(i + n) % ids.length]!,
                actor: { type: 'system', id: 'ordered-heads-test' },
                action: 'test.busy.second',
                outcome: 'success',
              })
            }
          }),
        ),
      ),
    )
    expect(results.filter((r) => r.status === 'rejected')).toEqual([])
    for (const chain of ids) expect(await verifyChain(db, chain)).toMatchObject({ ok: true })
    // A backend reports its deadlocks when it ends: close the nodes' pools, then read.
    const url = c.db
    await c.close()
    c = undefined
    expect((await deadlocksIn(url)) - before).toBe(0)
  })
})
