// The group committer's batch on both engines, as its units run in it: each in a savepoint (the
// previous one's released as the next is taken, the last one's by COMMIT), the audit events
// inserted together just before the commit. A unit that fails takes its events and its writes
// with it and nothing else; the events of the others are all there, in chain order, and verify.
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { GENESIS_HASH } from '../../src/audit/chain.js'
import { verifyChain } from '../../src/audit/verify.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const ACTOR = { type: 'application', id: 'app_batches' } as const

describe.each(ENGINES)('the committer’s batches on %s', (engine) => {
  let t: TestServer
  afterEach(async () => t?.close())

  async function chainOf(chain: string) {
    return t.services.store.db
      .selectFrom('audit_events')
      .select(['seq', 'action', 'details'])
      .where('instance_id', '=', chain)
      .orderBy('seq')
      .execute()
  }

  it('keeps every event of the units that succeeded and none of a failed unit’s, across one batch', async () => {
    t = await openTestServer(engine)
    const chain = `ins_batches_${engine}`
    const db = t.services.store.db
    await db.insertInto('audit_heads').values({ instance_id: chain, seq: 0, hash: GENESIS_HASH }).execute()
    const unit = (n: number, events: number, fail: boolean) =>
      t.services.committer.run(async ({ trx, audit }) => {
        for (let i = 0; i < events; i++) {
          await audit.append({
            instanceId: chain,
            actor: ACTOR,
            action: 'test.unit',
            outcome: 'success',
            details: { unit: n, i },
          })
        }
        await trx
          .insertInto('meta')
          .values({ key: `unit-${n}`, value: String(events) })
          .execute()
        if (fail) throw new Error(`unit ${n} fails after its events and its write`)
        return n
      })
    // Started in one turn of the event loop: they share a batch. The second unit's 1,200 events
    // take more than one multi-row insert on PostgreSQL; the failing ones sit first, between and last.
    const results = await Promise.allSettled([
      unit(0, 2, true),
      unit(1, 3, false),
      unit(2, 1_200, false),
      unit(3, 4, true),
      unit(4, 1, false),
      unit(5, 5, true),
    ])
    expect(results.map((r) => r.status)).toEqual([
      'rejected',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
    ])
    const events = await chainOf(chain)
    expect(events.map((e) => Number(e.seq))).toEqual(Array.from({ length: 1_204 }, (_, i) => i + 1))
    const units = events.map((e) => (JSON.parse(e.details) as { unit: number }).unit)
    expect(units).toEqual([1, 1, 1, ...Array.from({ length: 1_200 }, () => 2), 4])
    const written = await db
      .selectFrom('meta')
      .select('key')
      .where('key', 'like', 'unit-%')
      .orderBy('key')
      .execute()
    expect(written.map((w) => w.key)).toEqual(['unit-1', 'unit-2', 'unit-4'])
    expect(await verifyChain(db, chain)).toMatchObject({ ok: true, checked: 1_204, firstBrokenSeq: null })
    // The head the batch wrote is the last event's: the next batch chains after it.
    await unit(6, 1, false)
    expect(await verifyChain(db, chain)).toMatchObject({ ok: true, checked: 1_205 })
  })

  it('undoes alone a unit that went on after a statement of it failed, first, between others or last', async () => {
    t = await openTestServer(engine)
    const chain = `ins_batches_swallow_${engine}`
    const db = t.services.store.db
    await db.insertInto('audit_heads').values({ instance_id: chain, seq: 0, hash: GENESIS_HASH }).execute()
    const unit = (n: number, swallow: boolean) =>
      t.services.committer.run(async ({ trx, audit }) => {
        await audit.append({
          instanceId: chain,
          actor: ACTOR,
          action: 'test.unit',
          outcome: 'success',
          details: { unit: n },
        })
        await trx
          .insertInto('meta')
          .values({ key: `swallow-${n}`, value: '1' })
          .execute()
        // A failed statement caught and ignored: on PostgreSQL it leaves the transaction aborted.
        if (swallow) await sql`select 1 / 0`.execute(trx).catch(() => {})
        return n
      })
    const swallows = [true, false, true, false, true]
    const results = await Promise.allSettled(swallows.map((swallow, n) => unit(n, swallow)))
    // On SQLite a failed statement leaves the transaction as it was: the unit that went on commits.
    const kept = engine === 'postgres' ? [1, 3] : [0, 1, 2, 3, 4]
    expect(results.map((r) => r.status)).toEqual(
      swallows.map((_, n) => (kept.includes(n) ? 'fulfilled' : 'rejected')),
    )
    const written = await db
      .selectFrom('meta')
      .select('key')
      .where('key', 'like', 'swallow-%')
      .orderBy('key')
      .execute()
    expect(written.map((w) => w.key)).toEqual(kept.map((n) => `swallow-${n}`))
    const units = (await chainOf(chain)).map((e) => (JSON.parse(e.details) as { unit: number }).unit)
    expect(units).toEqual(kept)
    expect(await verifyChain(db, chain)).toMatchObject({ ok: true, checked: kept.length })
    // Not an outage: the other units committed, and writing is reported healthy.
    expect(t.services.committer.health()).toMatchObject({ ok: true })
  })

  it('refuses the whole batch, answering none of it, when its events cannot be inserted', async () => {
    t = await openTestServer(engine)
    const chain = `ins_batches_refused_${engine}`
    const db = t.services.store.db
    await db.insertInto('audit_heads').values({ instance_id: chain, seq: 0, hash: GENESIS_HASH }).execute()
    // An event already at seq 2 (as if written behind the head's back): the batch's insert of its own
    // seq 2 meets the primary key, after every unit of the batch has run.
    await db
      .insertInto('audit_events')
      .values({
        instance_id: chain,
        seq: 2,
        time: 0,
        actor_type: 'system',
        actor_id: 'x',
        action: 'test.squatter',
        resource_type: null,
        resource_id: null,
        outcome: 'success',
        reason: null,
        request_id: null,
        source_ip: null,
        user_agent: null,
        details: '{}',
        prev_hash: GENESIS_HASH,
        hash: GENESIS_HASH,
      })
      .execute()
    const unit = (n: number) =>
      t.services.committer.run(async ({ trx, audit }) => {
        await audit.append({ instanceId: chain, actor: ACTOR, action: 'test.unit', outcome: 'success' })
        await trx
          .insertInto('meta')
          .values({ key: `refused-${n}`, value: '1' })
          .execute()
      })
    const results = await Promise.allSettled([unit(1), unit(2), unit(3)])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
    for (const r of results)
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'AuditUnavailable' })
    const written = await db.selectFrom('meta').select('key').where('key', 'like', 'refused-%').execute()
    expect(written).toEqual([])
    const head = await db
      .selectFrom('audit_heads')
      .select('seq')
      .where('instance_id', '=', chain)
      .executeTakeFirst()
    expect(Number(head?.seq)).toBe(0)
  })
})
