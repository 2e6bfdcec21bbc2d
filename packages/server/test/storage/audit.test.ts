import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { verifyChain } from '../../src/audit/verify.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

describe.each(ENGINES)('audit chain on %s', (engine) => {
  let t: TestServer
  afterEach(async () => t?.close())

  async function someHistory(n: number) {
    for (let i = 0; i < n; i++) {
      const res = await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/applications`, {
        name: `app-${i}`,
      })
      expect(res.status).toBe(201)
    }
  }

  it('chains every admin change and verifies end to end', async () => {
    t = await openTestServer(engine)
    await someHistory(5)
    const verified = await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/audit/verify`)
    expect(verified.body).toMatchObject({ ok: true, checked: 6, headSeq: 6, firstBrokenSeq: null })
    const events = await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/audit/events`)
    const seqs = events.body.entities.map((e: { seq: number }) => e.seq)
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6])
    for (let i = 1; i < events.body.entities.length; i++) {
      expect(events.body.entities[i].prevHash).toBe(events.body.entities[i - 1].hash)
    }
    expect(events.body.entities[1]).toMatchObject({
      action: 'application.create',
      actorType: 'admin_token',
      outcome: 'success',
    })
  })

  it('names the sequence number of an edited event', async () => {
    t = await openTestServer(engine)
    await someHistory(5)
    await t.services.store.db
      .updateTable('audit_events')
      .set({ actor_id: 'someone-else' })
      .where('instance_id', '=', t.instanceId)
      .where('seq', '=', 4)
      .execute()
    const result = await verifyChain(t.services.store.db, t.instanceId)
    expect(result).toMatchObject({ ok: false, firstBrokenSeq: 4 })
    expect(result.problem).toMatch(/event 4 was altered/)
  })

  it('names the sequence number of a deleted event, in the middle and at the end', async () => {
    t = await openTestServer(engine)
    await someHistory(5)
    const db = t.services.store.db
    await db.deleteFrom('audit_events').where('instance_id', '=', t.instanceId).where('seq', '=', 6).execute()
    expect(await verifyChain(db, t.instanceId)).toMatchObject({ ok: false, firstBrokenSeq: 6 })
    await db.deleteFrom('audit_events').where('instance_id', '=', t.instanceId).where('seq', '=', 3).execute()
    const result = await verifyChain(db, t.instanceId)
    expect(result).toMatchObject({ ok: false, firstBrokenSeq: 3 })
    expect(result.problem).toMatch(/event 3 is missing/)
  })

  it('refuses the operation with 503 and writes nothing when the audit event cannot be written', async () => {
    t = await openTestServer(engine)
    const db = t.services.store.db
    if (engine === 'sqlite') {
      await sql`create trigger audit_down before insert on audit_events begin select raise(abort, 'audit disk full'); end`.execute(
        db,
      )
    } else {
      await sql`create function audit_down() returns trigger as $$ begin raise exception 'audit disk full'; end $$ language plpgsql`.execute(
        db,
      )
      await sql`create trigger audit_down before insert on audit_events for each row execute function audit_down()`.execute(
        db,
      )
    }
    const before = await db
      .selectFrom('credentials')
      .select(sql<number>`count(*)`.as('n'))
      .executeTakeFirstOrThrow()
    const res = await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/credentials`, {
      credentialIdentifier: 'never/stored',
      credentialType: 'api_key',
      value: { apiKey: 'nope' },
    })
    expect(res.status).toBe(503)
    expect(res.body).toMatchObject({ Code: 'AuditUnavailable', error: 'temporarily_unavailable' })
    const after = await db
      .selectFrom('credentials')
      .select(sql<number>`count(*)`.as('n'))
      .executeTakeFirstOrThrow()
    expect(Number(after.n)).toBe(Number(before.n))
    expect(await db.selectFrom('credential_versions').selectAll().execute()).toHaveLength(0)
    // Reveals fail closed too: no value leaves without its event.
    await sql`drop trigger audit_down ${sql.raw(engine === 'postgres' ? 'on audit_events' : '')}`.execute(db)
    const created = await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/credentials`, {
      credentialIdentifier: 'stored',
      credentialType: 'api_key',
      value: { apiKey: 'secret-value' },
    })
    expect(created.status).toBe(201)
    if (engine === 'sqlite') {
      await sql`create trigger audit_down before insert on audit_events begin select raise(abort, 'audit disk full'); end`.execute(
        db,
      )
    } else {
      await sql`create trigger audit_down before insert on audit_events for each row execute function audit_down()`.execute(
        db,
      )
    }
    const revealed = await call(
      t,
      'POST',
      `/admin/v1/instances/${t.instanceId}/credentials/stored/reveal`,
      {},
    )
    expect(revealed.status).toBe(503)
    expect(JSON.stringify(revealed.body)).not.toContain('secret-value')
  })

  it('group-commits concurrent writes: all answered writes present, chain unbroken, a failing unit alone rolled back', async () => {
    t = await openTestServer(engine)
    const requests = Array.from({ length: 120 }, (_, i) =>
      call(t, 'POST', `/admin/v1/instances/${t.instanceId}/credentials`, {
        // Every tenth request collides with an earlier identifier: a 409 inside a shared batch.
        credentialIdentifier: i % 10 === 9 ? 'group/0' : `group/${i}`,
        credentialType: 'api_key',
        value: { apiKey: `v${i}` },
      }),
    )
    const results = await Promise.all(requests)
    const ok = results.filter((r) => r.status === 201)
    expect(ok).toHaveLength(108)
    expect(results.filter((r) => r.status === 409)).toHaveLength(12)
    const stored = await t.services.store.db.selectFrom('credentials').select('identifier').execute()
    expect(stored).toHaveLength(108)
    const result = await verifyChain(t.services.store.db, t.instanceId)
    expect(result).toMatchObject({ ok: true, headSeq: 109 })
  })
})
