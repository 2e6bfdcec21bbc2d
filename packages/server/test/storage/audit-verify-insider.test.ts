// An insider with write access to the database, as an attacker's review of the audit chain played
// one, on both engines and through both verifiers (the server's, and `audit verify --data-dir`'s
// offline one):
// - with the primary key dropped, a forged row sharing its sequence number with the event that
//   ended a page of the verifier's reads was never read (paging went on past that number), and
//   the chain verified;
// - an instance's chain emptied (events, anchors, archive) with its head rolled back to 0 verified
//   as a chain with nothing to check, and one whose head and instance row were deleted too was
//   not verified at all.
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { GENESIS_HASH, SYSTEM_CHAIN } from '../../src/audit/chain.js'
import { listChains, verifyChain } from '../../src/audit/verify.js'
import { verifyAuditOffline } from '../../src/offline.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

describe.each(ENGINES)('an insider’s edits that verification must report, on %s', (engine) => {
  let t: TestServer
  afterEach(async () => t?.close())

  /** Both verifiers' results for `chain`. */
  async function verifyBoth(chain: string) {
    const online = await verifyChain(t.services.store.db, chain)
    const [offline] = await verifyAuditOffline({ db: t.db, instanceId: chain })
    return [online, offline]
  }

  it('reports a second row with the sequence number that ended a page of reads', async () => {
    t = await openTestServer(engine)
    const chain = t.instanceId
    const db = t.services.store.db
    await t.services.committer.run(async ({ audit }) => {
      for (let i = 0; i < 1_100; i++) {
        await audit.append({
          instanceId: chain,
          actor: { type: 'application', id: 'app_worker' },
          action: 'credential.obtain',
          outcome: 'success',
          details: { i },
        })
      }
    })
    for (const result of await verifyBoth(chain)) expect(result).toMatchObject({ ok: true })
    // The primary key dropped, an ordinary index in its place, as the insider left it.
    if (engine === 'postgres') {
      await sql`alter table audit_events drop constraint audit_events_pk`.execute(db)
    } else {
      await sql`create table audit_events_copy as select * from audit_events`.execute(db)
      await sql`drop table audit_events`.execute(db)
      await sql`alter table audit_events_copy rename to audit_events`.execute(db)
    }
    await sql`create index audit_events_seq on audit_events (instance_id, seq)`.execute(db)
    // Seq 1000 ends the verifiers' first page of 1,000 rows (the instance's own event is seq 1).
    const genuine = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('instance_id', '=', chain)
      .where('seq', '=', 1_000)
      .executeTakeFirstOrThrow()
    await db
      .insertInto('audit_events')
      .values({
        ...genuine,
        actor_type: 'admin_token',
        actor_id: 'atk_victim',
        action: 'credential.reveal',
        resource_type: 'credential',
        resource_id: 'cred_crown_jewels',
        reason: 'forged',
        details: '{}',
      })
      .execute()
    for (const result of await verifyBoth(chain)) {
      expect(result).toMatchObject({ ok: false, firstBrokenSeq: 1_000 })
      expect(result?.problem).toMatch(/stored more than once/)
    }
  })

  it('reports an instance chain emptied and rolled back to its start', async () => {
    t = await openTestServer(engine)
    const chain = t.instanceId
    const db = t.services.store.db
    await db.deleteFrom('audit_events').where('instance_id', '=', chain).execute()
    await db
      .updateTable('audit_heads')
      .set({ seq: 0, hash: GENESIS_HASH })
      .where('instance_id', '=', chain)
      .execute()
    for (const result of await verifyBoth(chain)) {
      expect(result).toMatchObject({ ok: false })
      expect(result?.problem).toMatch(/begins with its instance.create event/)
    }
  })

  it('still verifies, and reports, an instance whose head and row were deleted with its events', async () => {
    t = await openTestServer(engine)
    const chain = t.instanceId
    const db = t.services.store.db
    await db.deleteFrom('audit_events').where('instance_id', '=', chain).execute()
    await db.deleteFrom('audit_heads').where('instance_id', '=', chain).execute()
    // The instance's row too, its foreign keys put out of the way as an insider would.
    if (engine === 'postgres') {
      await db.connection().execute(async (conn) => {
        await sql`set session_replication_role = replica`.execute(conn)
        await sql`delete from instances where id = ${chain}`.execute(conn)
        await sql`set session_replication_role = origin`.execute(conn)
      })
    } else {
      await sql`pragma foreign_keys = off`.execute(db)
      await sql`delete from instances where id = ${chain}`.execute(db)
      await sql`pragma foreign_keys = on`.execute(db)
    }
    expect(await db.selectFrom('instances').select('id').where('id', '=', chain).execute()).toEqual([])
    // The system chain's instance.create still names it: it is among the chains verified.
    expect(await listChains(db)).toContain(chain)
    const all = await verifyAuditOffline({ db: t.db })
    const result = all.find((r) => r.instanceId === chain)
    expect(result).toMatchObject({ ok: false })
    expect(result?.problem).toMatch(/has no head/)
    expect(all.find((r) => r.instanceId === SYSTEM_CHAIN)).toMatchObject({ ok: true })
  })
})
