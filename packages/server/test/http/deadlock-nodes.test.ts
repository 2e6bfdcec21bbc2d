// Two PostgreSQL nodes whose batches lock two audit chains' heads in opposite orders: PostgreSQL
// breaks the deadlock by failing one statement (40P01). That is not an outage: the unit given up
// runs again in its node's next batch, the rest of both batches commits, nothing queued behind
// them is refused, and both nodes stay ready.
import { afterEach, describe, expect, it } from 'vitest'
import { listChains, verifyChain } from '../../src/audit/verify.js'
import type { Unit } from '../../src/store/committer.js'
import { type Cluster, openCluster, send } from './nodes-support.js'

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
})
