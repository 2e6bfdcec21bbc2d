import { execFileSync } from 'node:child_process'
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import SQLite from 'better-sqlite3'
import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { latestAnchor } from '../../src/audit/anchors.js'
import { archiveAuditEvents, DAY_MS } from '../../src/audit/archive.js'
import { MAX_LINE_BYTES, verifyArchiveFile } from '../../src/audit/archive-file.js'
import { withArchiveLock } from '../../src/audit/archive-lock.js'
import { type ArchiveVerifyResult, verifyArchives } from '../../src/audit/archive-verify.js'
import { GENESIS_HASH, SYSTEM_CHAIN } from '../../src/audit/chain.js'
import { verifyChain } from '../../src/audit/verify.js'
import { verifyAuditArchives, verifyAuditOffline } from '../../src/offline.js'
import { archiveExpiredAudit, startHousekeeping } from '../../src/store/housekeeping.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const T0 = Date.UTC(2026, 0, 1, 12)
const ACTOR = { type: 'system', id: 'test' } as const

describe.each(ENGINES)('audit retention on %s', (engine) => {
  let t: TestServer
  let others: TestServer[] = []
  let now = T0
  let dir: string
  beforeEach(() => {
    now = T0
    dir = mkdtempSync(join(tmpdir(), 'strongroom-archive-'))
  })
  afterEach(async () => {
    for (const other of others) await other.close()
    others = []
    await t?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const events = (path = `/admin/v1/instances/${t.instanceId}/audit/events?maxResults=1000`) =>
    call(t, 'GET', path).then((r) => r.body.entities as { seq: number; hash: string; action: string }[])
  async function createApps(n: number, prefix = 'app') {
    for (let i = 0; i < n; i++) {
      const res = await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/applications`, {
        name: `${prefix}-${i}`,
      })
      expect(res.status).toBe(201)
    }
  }
  const archive = (before: number, extra: { maxEventsPerFile?: number } = {}) =>
    archiveAuditEvents(t.services, { before, dir, actor: ACTOR, ...extra })
  const files = () => readdirSync(dir).sort()
  const rowsOf = async (chain: string) =>
    (
      await t.services.store.db
        .selectFrom('audit_events')
        .select('seq')
        .where('instance_id', '=', chain)
        .orderBy('seq')
        .execute()
    ).map((r) => Number(r.seq))

  const latestAnchorAt = (seq: number) =>
    t.services.store.db
      .selectFrom('audit_anchors')
      .select('hash')
      .where('instance_id', '=', t.instanceId)
      .where('seq', '=', seq)
      .executeTakeFirst()

  /** Five events on day 0 (the instance's creation and four applications), three on day 10. */
  async function history() {
    t = await openTestServer(engine, { now: () => now })
    await createApps(4, 'old')
    now = T0 + 10 * DAY_MS
    await createApps(3, 'new')
  }

  it('moves the events older than the cut-off to a file, deletes them, records the anchor, and every chain still verifies', async () => {
    await history()
    const before = await events()
    expect(before.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])

    const result = await archive(T0 + 5 * DAY_MS)
    expect(result.locked).toBe(false)
    const mine = result.archived.find((r) => r.chain === t.instanceId)!
    expect(mine).toMatchObject({
      firstSeq: 1,
      lastSeq: 5,
      count: 5,
      lastHash: before[4]!.hash,
      resumed: false,
    })

    // The file: a header, the five events exactly as stored (hashes included), a trailer.
    const lines = readFileSync(mine.file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines[0]).toMatchObject({
      kind: 'header',
      chain: t.instanceId,
      firstSeq: 1,
      prevHash: GENESIS_HASH,
    })
    expect(lines.slice(1, -1)).toEqual(before.slice(0, 5))
    expect(lines.at(-1)).toEqual({
      kind: 'trailer',
      chain: t.instanceId,
      firstSeq: 1,
      lastSeq: 5,
      count: 5,
      lastHash: before[4]!.hash,
    })
    expect(await verifyArchiveFile(mine.file)).toMatchObject({
      ok: true,
      checked: 5,
      lastHash: before[4]!.hash,
    })

    expect(await rowsOf(t.instanceId)).toEqual([6, 7, 8])
    expect(await latestAnchor(t.services.store.db, t.instanceId)).toEqual({
      seq: 5,
      hash: before[4]!.hash,
      firstSeq: 1,
      file: `audit-${t.instanceId}-000000000001-000000000005.jsonl`,
    })

    // Online, then offline: from the anchor, saying so.
    const online = await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/audit/verify`)
    expect(online.body).toMatchObject({
      ok: true,
      checked: 3,
      headSeq: 8,
      anchor: {
        seq: 5,
        hash: before[4]!.hash,
        file: `audit-${t.instanceId}-000000000001-000000000005.jsonl`,
      },
    })
    const offline = await verifyAuditOffline({ db: t.db })
    expect(offline.map((r) => r.ok)).toEqual([true, true])
    // Archives + database: the whole history, from the first event.
    const whole = await verifyAuditArchives({ archives: [dir], db: t.db })
    expect(whole.files.every((f) => f.ok)).toBe(true)
    expect(whole.chains.find((c) => c.chain === t.instanceId)).toMatchObject({
      ok: true,
      fromFirstEvent: true,
      firstSeq: 1,
      lastSeq: 5,
      database: { ok: true, headSeq: 8 },
    })

    // Archiving is itself audited, in the system chain.
    const system = await call(t, 'GET', `/admin/v1/instances/system/audit/events?action=audit.archive`)
    expect(system.body.entities.map((e: { details: object }) => e.details)).toContainEqual({
      chain: t.instanceId,
      firstSeq: 1,
      lastSeq: 5,
      count: 5,
      lastHash: before[4]!.hash,
      file: `audit-${t.instanceId}-000000000001-000000000005.jsonl`,
    })
    expect((await verifyChain(t.services.store.db, SYSTEM_CHAIN)).ok).toBe(true)

    // The events API still serves what is left, filters and pages included.
    expect((await events()).map((e) => e.seq)).toEqual([6, 7, 8])
    const filtered = await events(
      `/admin/v1/instances/${t.instanceId}/audit/events?action=application.create&maxResults=2`,
    )
    expect(filtered.map((e) => e.seq)).toEqual([6, 7])
    const tail = await events(`/admin/v1/instances/${t.instanceId}/audit/events?order=desc&maxResults=1`)
    expect(tail.map((e) => e.seq)).toEqual([8])
    // New events append after archiving and verify.
    await createApps(1, 'later')
    expect(await verifyChain(t.services.store.db, t.instanceId)).toMatchObject({
      ok: true,
      checked: 4,
      headSeq: 9,
    })
  })

  it("never archives a chain's newest event, and archives it once a newer one follows", async () => {
    await history()
    const result = await archive(now + DAY_MS)
    expect(result.archived.find((r) => r.chain === t.instanceId)).toMatchObject({ firstSeq: 1, lastSeq: 7 })
    expect(await rowsOf(t.instanceId)).toEqual([8])
    expect((await archive(now + DAY_MS)).archived.filter((r) => r.chain === t.instanceId)).toEqual([])
    expect(await rowsOf(t.instanceId)).toEqual([8])
    await createApps(1, 'next')
    const again = await archive(now + DAY_MS)
    expect(again.archived.find((r) => r.chain === t.instanceId)).toMatchObject({ firstSeq: 8, lastSeq: 8 })
    expect(await rowsOf(t.instanceId)).toEqual([9])
    // Two files of one chain follow one another, and link to the database.
    const whole = await verifyAuditArchives({ archives: [dir], db: t.db })
    expect(whole.chains.find((c) => c.chain === t.instanceId)).toMatchObject({
      ok: true,
      fromFirstEvent: true,
      lastSeq: 8,
    })
    expect(await verifyChain(t.services.store.db, t.instanceId)).toMatchObject({
      ok: true,
      anchor: { seq: 8 },
    })
  })

  it('a rerun archives nothing twice; several files per chain when the stretch is long', async () => {
    await history()
    const first = await archive(T0 + 5 * DAY_MS, { maxEventsPerFile: 2 })
    const mine = first.archived.filter((r) => r.chain === t.instanceId)
    expect(mine.map((r) => [r.firstSeq, r.lastSeq])).toEqual([
      [1, 2],
      [3, 4],
      [5, 5],
    ])
    const listed = files()
    const rerun = await archive(T0 + 5 * DAY_MS, { maxEventsPerFile: 2 })
    expect(rerun.archived).toEqual([])
    expect(files()).toEqual(listed)
    const anchors = await t.services.store.db.selectFrom('audit_anchors').selectAll().execute()
    expect(anchors.filter((a) => a.instance_id === t.instanceId).map((a) => Number(a.seq))).toEqual([2, 4, 5])
    expect((await verifyAuditArchives({ archives: [dir], db: t.db })).chains.every((c) => c.ok)).toBe(true)
  })

  it('a failure between writing the file and deleting the rows loses nothing, and the next run finishes that file', async () => {
    await history()
    if (engine === 'sqlite') {
      await sql`create trigger no_delete before delete on audit_events begin select raise(abort, 'disk gone'); end`.execute(
        t.services.store.db,
      )
    } else {
      await sql`create function no_delete() returns trigger as $$ begin raise exception 'disk gone'; end $$ language plpgsql`.execute(
        t.services.store.db,
      )
      await sql`create trigger no_delete before delete on audit_events for each row execute function no_delete()`.execute(
        t.services.store.db,
      )
    }
    const chains = [t.instanceId]
    await expect(
      archiveAuditEvents(t.services, { before: T0 + 5 * DAY_MS, dir, actor: ACTOR, chains }),
    ).rejects.toThrow(/disk gone/)
    // The file is there, complete; every row is still there; no anchor.
    expect(files()).toEqual([`audit-${t.instanceId}-000000000001-000000000005.jsonl`])
    expect(await rowsOf(t.instanceId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(await latestAnchor(t.services.store.db, t.instanceId)).toBeNull()
    expect((await verifyChain(t.services.store.db, t.instanceId)).ok).toBe(true)

    await sql`drop trigger no_delete ${sql.raw(engine === 'postgres' ? 'on audit_events' : '')}`.execute(
      t.services.store.db,
    )
    // Later, with a later cut-off: the left-over file is finished as it is, then the rest follows.
    now += 30 * DAY_MS
    const next = await archiveAuditEvents(t.services, { before: now, dir, actor: ACTOR, chains })
    expect(next.archived.map((r) => [r.firstSeq, r.lastSeq, r.resumed])).toEqual([
      [1, 5, true],
      [6, 7, false],
    ])
    expect(files()).toEqual([
      `audit-${t.instanceId}-000000000001-000000000005.jsonl`,
      `audit-${t.instanceId}-000000000006-000000000007.jsonl`,
    ])
    expect(await rowsOf(t.instanceId)).toEqual([8])
    const whole = await verifyAuditArchives({ archives: [dir], db: t.db })
    expect(whole.chains).toMatchObject([{ chain: t.instanceId, ok: true, fromFirstEvent: true, lastSeq: 7 }])
  })

  /** Makes every delete of audit events fail, as a crash between the file and the commit would leave things. */
  async function failDeletes(): Promise<() => Promise<void>> {
    const db = t.services.store.db
    if (engine === 'sqlite') {
      await sql`create trigger no_delete before delete on audit_events begin select raise(abort, 'disk gone'); end`.execute(
        db,
      )
    } else {
      await sql`create or replace function no_delete() returns trigger as $$ begin raise exception 'disk gone'; end $$ language plpgsql`.execute(
        db,
      )
      await sql`create trigger no_delete before delete on audit_events for each row execute function no_delete()`.execute(
        db,
      )
    }
    return async () => {
      await sql`drop trigger no_delete ${sql.raw(engine === 'postgres' ? 'on audit_events' : '')}`.execute(db)
    }
  }
  const iso = (ms: number) => new Date(ms).toISOString()

  it("finishes a left-over archive only for a cut-off no earlier than its own, and never with events not older than this run's", async () => {
    await history()
    const chains = [t.instanceId]
    const restore = await failDeletes()
    const later = now + 1
    await expect(
      archiveAuditEvents(t.services, { before: later, dir, actor: ACTOR, chains }),
    ).rejects.toThrow(/disk gone/)
    await restore()
    const file = join(dir, `audit-${t.instanceId}-000000000001-000000000007.jsonl`)
    expect(files()).toEqual([basename(file)])

    // The reviewer's: a run with an earlier cut-off (the server's retention) took the minutes-old
    // events of the left-over file with it. Refused, naming the file; nothing is deleted.
    const cutOff = T0 + 5 * DAY_MS
    await expect(
      archiveAuditEvents(t.services, { before: cutOff, dir, actor: ACTOR, chains }),
    ).rejects.toThrow(
      `${file} was left by an interrupted archive run but it was written for a later cut-off (${iso(later)}) than this run's (${iso(cutOff)}): nothing was archived; finish it with strongroom audit archive --before ${iso(later)}`,
    )
    expect(await rowsOf(t.instanceId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])

    // The header is not hashed: one that claims an earlier cut-off does not pass, the events' times count.
    const original = readFileSync(file, 'utf8')
    const lines = original.split('\n')
    lines[0] = JSON.stringify({ ...JSON.parse(lines[0]!), before: T0 })
    writeFileSync(file, lines.join('\n'))
    expect(await verifyArchiveFile(file)).toMatchObject({ ok: true, before: T0 })
    await expect(
      archiveAuditEvents(t.services, { before: cutOff, dir, actor: ACTOR, chains }),
    ).rejects.toThrow(
      `${file} was left by an interrupted archive run but its last event (seq 7, ${iso(T0 + 10 * DAY_MS)}) is not older than this run's cut-off (${iso(cutOff)}): nothing was archived`,
    )
    expect(await rowsOf(t.instanceId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(files()).toEqual([basename(file)])

    // The run it was written for finishes it.
    writeFileSync(file, original)
    const next = await archiveAuditEvents(t.services, { before: later, dir, actor: ACTOR, chains })
    expect(next.archived.map((r) => [r.firstSeq, r.lastSeq, r.resumed])).toEqual([[1, 7, true]])
    expect(await rowsOf(t.instanceId)).toEqual([8])
  })

  it('reports a line longer than 1 MiB as broken without reading it whole; the archiver refuses such a left-over file and releases its lock', async () => {
    await history()
    const name = `audit-${t.instanceId}-000000000001-000000000002.jsonl`
    const file = join(dir, name)
    const header = Buffer.from(
      `${JSON.stringify({ format: 'strongroom-audit-archive', version: 1, kind: 'header', chain: t.instanceId, firstSeq: 1, prevHash: GENESIS_HASH, before: T0, createdAt: T0 })}\n`,
    )
    const problem = `${name}: line 2 is longer than 1 MiB (${MAX_LINE_BYTES} bytes), far more than any audit event takes`
    // The reviewer's, smaller: a header, then one huge line (600 MiB made the verifier and the server die).
    writeFileSync(file, Buffer.concat([header, Buffer.alloc(MAX_LINE_BYTES + 1, 0x61), Buffer.from('\n')]))
    expect(await verifyArchiveFile(file)).toMatchObject({ ok: false, firstBrokenSeq: 1, problem })
    // Without a newline at all: refused once the limit is read, not at the end of the file.
    writeFileSync(file, Buffer.concat([header, Buffer.alloc(4 * MAX_LINE_BYTES, 0x7b)]))
    expect(await verifyArchiveFile(file)).toMatchObject({ ok: false, firstBrokenSeq: 1, problem })

    // Left in the archive folder where the next run resumes: refused, named, and the lock released.
    await expect(archive(now)).rejects.toThrow(
      `${file} was left by an interrupted archive run but does not verify (${problem}): nothing was archived; move the file aside and run again`,
    )
    expect(await rowsOf(t.instanceId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    const lease = await t.services.store.db
      .selectFrom('meta')
      .select('value')
      .where('key', '=', 'audit_archive_lease')
      .executeTakeFirst()
    expect(lease).toBeUndefined()
    rmSync(file)
    const after = await archive(T0 + 5 * DAY_MS)
    expect(after.locked).toBe(false)
    expect(after.archived.find((r) => r.chain === t.instanceId)).toMatchObject({ firstSeq: 1, lastSeq: 5 })
  })

  it('refuses to archive a broken stretch, and writes and deletes nothing', async () => {
    await history()
    await t.services.store.db
      .updateTable('audit_events')
      .set({ actor_id: 'someone-else' })
      .where('instance_id', '=', t.instanceId)
      .where('seq', '=', 3)
      .execute()
    await expect(
      archiveAuditEvents(t.services, { before: now, dir, actor: ACTOR, chains: [t.instanceId] }),
    ).rejects.toThrow(
      `audit chain ${t.instanceId} is broken (event 3 was altered: its content does not match its hash): nothing of it was archived`,
    )
    expect(files()).toEqual([])
    expect(await rowsOf(t.instanceId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })

  it('names the first broken link of a tampered archive, a removed line, a cut trailer, a tampered anchor and a removed row', async () => {
    await history()
    const { archived } = await archive(T0 + 5 * DAY_MS)
    const file = archived.find((r) => r.chain === t.instanceId)!.file
    const original = readFileSync(file, 'utf8')
    const lines = original.trimEnd().split('\n')

    const edited = lines.map((line, i) =>
      i === 3 ? line.replace('"actorType":"admin_token"', '"actorType":"system"') : line,
    )
    expect(edited[3]).not.toBe(lines[3])
    writeFileSync(file, `${edited.join('\n')}\n`)
    expect(await verifyArchiveFile(file)).toMatchObject({ ok: false, firstBrokenSeq: 3 })
    expect((await verifyArchiveFile(file)).problem).toMatch(/event 3 was altered/)

    writeFileSync(file, `${lines.filter((_, i) => i !== 4).join('\n')}\n`)
    expect(await verifyArchiveFile(file)).toMatchObject({ ok: false, firstBrokenSeq: 4 })
    expect((await verifyArchiveFile(file)).problem).toMatch(/event 4 is missing/)

    writeFileSync(file, `${lines.slice(0, -1).join('\n')}\n`)
    expect((await verifyArchiveFile(file)).problem).toMatch(/without its trailer/)

    writeFileSync(file, original)
    expect((await verifyArchiveFile(file)).ok).toBe(true)

    const db = t.services.store.db
    await db
      .updateTable('audit_anchors')
      .set({ hash: 'f'.repeat(64) })
      .where('instance_id', '=', t.instanceId)
      .execute()
    const tampered = await verifyChain(db, t.instanceId)
    expect(tampered).toMatchObject({ ok: false, firstBrokenSeq: 6 })
    expect(tampered.problem).toMatch(/does not link to the archive anchor at seq 5/)
    const against = await verifyArchives([file], db)
    expect(against.chains[0]).toMatchObject({ ok: false, firstBrokenSeq: 5 })
    expect(against.chains[0]!.problem).toMatch(/does not match the anchor at seq 5/)
    await db
      .updateTable('audit_anchors')
      .set({ hash: archived.find((r) => r.chain === t.instanceId)!.lastHash })
      .where('instance_id', '=', t.instanceId)
      .execute()
    expect((await verifyChain(db, t.instanceId)).ok).toBe(true)

    await db.deleteFrom('audit_events').where('instance_id', '=', t.instanceId).where('seq', '=', 6).execute()
    const removed = await verifyChain(db, t.instanceId)
    expect(removed).toMatchObject({ ok: false, firstBrokenSeq: 6 })
    expect(removed.problem).toMatch(/event 6 is missing/)
  })

  it('a forged anchor does not switch verification off, online, offline or for the archiver', async () => {
    await history()
    const db = t.services.store.db
    const stored = await events()
    const head = stored.at(-1)!
    // The reviewer's, with the server's data: an anchor at the head with its hash, an event edited,
    // nothing rehashed and nothing deleted.
    await db
      .insertInto('audit_anchors')
      .values({
        instance_id: t.instanceId,
        seq: head.seq,
        hash: head.hash,
        first_seq: 1,
        archived_at: 0,
        file: 'audit-x.jsonl',
      })
      .execute()
    await db
      .updateTable('audit_events')
      .set({ reason: 'routine check', actor_id: 'atk_someone_else' })
      .where('instance_id', '=', t.instanceId)
      .where('seq', '=', 3)
      .execute()
    const problem = `event 1 is still in the database although the archive anchor at seq ${head.seq} (audit-x.jsonl) records the events up to it as archived: archiving deletes them with the anchor`
    const online = await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/audit/verify`)
    const offline = (await verifyAuditOffline({ db: t.db })).find((r) => r.instanceId === t.instanceId)
    for (const result of [online.body, offline, await verifyChain(db, t.instanceId)]) {
      expect(result).toMatchObject({ ok: false, firstBrokenSeq: 1, checked: 0, problem })
    }
    // Below the head, over events still stored: archiving refuses it too, and writes nothing.
    await db
      .updateTable('audit_anchors')
      .set({ seq: 5, hash: stored[4]!.hash })
      .where('instance_id', '=', t.instanceId)
      .execute()
    await expect(
      archiveAuditEvents(t.services, { before: now, dir, actor: ACTOR, chains: [t.instanceId] }),
    ).rejects.toThrow(
      `audit chain ${t.instanceId} is broken (event 1 is still in the database although the archive anchor at seq 5 (audit-x.jsonl)`,
    )
    expect(files()).toEqual([])
    expect(await rowsOf(t.instanceId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })

  it('with the database, every archive it records must be given, from the first event unless --allow-partial says otherwise', async () => {
    await history()
    await archive(T0 + 5 * DAY_MS, { maxEventsPerFile: 2 })
    const name = (first: number, last: number) =>
      `audit-${t.instanceId}-${String(first).padStart(12, '0')}-${String(last).padStart(12, '0')}.jsonl`
    const mine = (result: ArchiveVerifyResult) => result.chains.find((c) => c.chain === t.instanceId)
    expect(files()).toContain(name(1, 2))
    expect(files().some((f) => f.startsWith('audit-system-'))).toBe(true)
    expect(mine(await verifyAuditArchives({ archives: [dir], db: t.db }))).toMatchObject({
      ok: true,
      fromFirstEvent: true,
    })

    // The first file gone (the reviewer's second case): named, with its range.
    const first = join(dir, name(1, 2))
    const saved = readFileSync(first)
    rmSync(first)
    const missingFirst = `events 1 to 2 were archived to ${name(1, 2)}, which is not among the archives given`
    expect(mine(await verifyAuditArchives({ archives: [dir], db: t.db }))).toMatchObject({
      ok: false,
      firstBrokenSeq: 1,
      problem: missingFirst,
    })
    // Without the database: the files do not start at the chain's first event.
    expect(mine(await verifyAuditArchives({ archives: [dir] }))).toMatchObject({
      ok: false,
      firstBrokenSeq: 1,
      problem:
        "the archives given start at seq 3, not at the chain's first event: events 1 to 2 are in none of them (give them all, or --allow-partial to verify from seq 3)",
    })
    // Unless the operator says so: then from the first file given, linked to the anchor before it.
    for (const db of [t.db, undefined]) {
      expect(
        mine(await verifyAuditArchives({ archives: [dir], ...(db ? { db } : {}), allowPartial: true })),
      ).toMatchObject({
        ok: true,
        fromFirstEvent: false,
        firstSeq: 3,
        lastSeq: 5,
      })
    }
    const anchors = t.services.store.db.updateTable('audit_anchors').where('instance_id', '=', t.instanceId)
    const hashOf2 = (await latestAnchorAt(2))!.hash
    await anchors
      .set({ hash: 'f'.repeat(64) })
      .where('seq', '=', 2)
      .execute()
    expect(mine(await verifyAuditArchives({ archives: [dir], db: t.db, allowPartial: true }))).toMatchObject({
      ok: false,
      firstBrokenSeq: 3,
      problem: `${name(3, 4)} does not link to the anchor at seq 2: its first event's prevHash is not that anchor's hash`,
    })
    await anchors.set({ hash: hashOf2 }).where('seq', '=', 2).execute()
    writeFileSync(first, saved)

    // An anchor recorded inside a file's range: no file ends there.
    await t.services.store.db
      .insertInto('audit_anchors')
      .values({
        instance_id: t.instanceId,
        seq: 3,
        hash: 'f'.repeat(64),
        first_seq: 3,
        archived_at: 0,
        file: name(3, 3),
      })
      .execute()
    expect(mine(await verifyAuditArchives({ archives: [dir], db: t.db }))).toMatchObject({
      ok: false,
      firstBrokenSeq: 3,
      problem: `the database records an archive ending at seq 3 (${name(3, 3)}) but none of the archives given ends there`,
    })
    await t.services.store.db
      .deleteFrom('audit_anchors')
      .where('instance_id', '=', t.instanceId)
      .where('seq', '=', 3)
      .execute()

    // Every file of the chain gone (the reviewer's first case): the chain is still reported.
    for (const f of files().filter((f) => f.startsWith(`audit-${t.instanceId}-`))) rmSync(join(dir, f))
    const gone = await verifyAuditArchives({ archives: [dir], db: t.db })
    expect(mine(gone)).toMatchObject({
      ok: false,
      firstSeq: null,
      firstBrokenSeq: 1,
      problem: `no archive of chain ${t.instanceId} was given: ${missingFirst}`,
    })
    expect(gone.chains.find((c) => c.chain === SYSTEM_CHAIN)).toMatchObject({ ok: true })

    // A file given that does not verify is named as such.
    writeFileSync(first, saved.toString('utf8').replace('"outcome":"success"', '"outcome":"failure"'))
    expect(mine(await verifyAuditArchives({ archives: [dir], db: t.db }))?.problem).toBe(
      `no archive of chain ${t.instanceId} was given: events 1 to 2 were archived to ${name(1, 2)}, which was given but does not verify`,
    )
  })

  it('an archive line must be the very line the archiver wrote: a repeated key, another key order, spacing or escape is an alteration', async () => {
    await history()
    const { archived } = await archive(T0 + 5 * DAY_MS)
    const file = archived.find((r) => r.chain === t.instanceId)!.file
    const original = readFileSync(file, 'utf8')
    const lines = original.split('\n')
    expect(lines.at(-1)).toBe('')
    const withLine = (index: number, edit: (line: string) => string) =>
      lines.map((line, i) => (i === index ? edit(line) : line)).join('\n')
    const check = async (text: string | Buffer) => {
      writeFileSync(file, text)
      try {
        return await verifyArchiveFile(file)
      } finally {
        writeFileSync(file, original)
      }
    }
    const event3 = JSON.parse(lines[3]!) as { seq: number; actorId: string }
    expect(event3.seq).toBe(3)

    // The reviewer's: forged values first, the real ones after. JSON.parse (and so the hash) reads
    // the real ones; SQLite's json_extract the forged ones.
    const forged = withLine(3, (l) =>
      l.replace('{', '{"reason":"routine audit by atk_other","actorId":"atk_other",'),
    )
    const sqlite = new SQLite(':memory:')
    expect(sqlite.prepare('select json_extract(?, ?)').pluck().get(forged.split('\n')[3], '$.actorId')).toBe(
      'atk_other',
    )
    sqlite.close()
    const altered =
      'event 3 was altered: its line is not the one the archiver writes (a key repeated or reordered, spaces or other escapes)'
    const edits: [string, string][] = [
      ['a repeated key', forged],
      [
        'keys reordered',
        withLine(3, (l) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(l)).reverse()))),
      ],
      ['a space', withLine(3, (l) => l.replace('":', '": '))],
      ['a character escaped', withLine(3, (l) => l.replace('"actorId":', '"\\u0061ctorId":'))],
      ['a space in the details', withLine(3, (l) => l.replace('"details":{}', '"details":{ }'))],
      ['a carriage return', withLine(3, (l) => `${l}\r`)],
    ]
    for (const [what, text] of edits) {
      expect(text, what).not.toBe(original)
      expect(await check(text), what).toMatchObject({
        ok: false,
        firstBrokenSeq: 3,
        problem: `${basename(file)}: ${altered}`,
      })
    }
    // The header and the trailer, the same way.
    const header = await check(withLine(0, (l) => l.replace('{', `{"chain":"elsewhere",`)))
    expect(header).toMatchObject({ ok: false, firstBrokenSeq: null })
    expect(header.problem).toBe(
      `${basename(file)}: line 1 was altered: it is not the header as the archiver writes it`,
    )
    const trailer = await check(withLine(lines.length - 2, (l) => l.replace('{', '{"count":1,')))
    expect(trailer.problem).toBe(
      `${basename(file)}: line ${lines.length - 1} was altered: it is not the trailer as the archiver writes it`,
    )
    // Bytes that are not UTF-8 (read as U+FFFD, other bytes could pass for the archiver's).
    const bytes = Buffer.from(withLine(3, (l) => l.replace('"actorId":"', '"actorId":"\u0001')))
    bytes[bytes.indexOf(0x01)] = 0xff
    expect((await check(bytes)).problem).toBe(`${basename(file)}: line 4 is not valid UTF-8`)
    expect((await check(original.slice(0, -1))).problem).toBe(
      `${basename(file)}: line ${lines.length - 1} does not end with a newline (the file was cut or appended to)`,
    )
    expect(await verifyArchiveFile(file)).toMatchObject({ ok: true, checked: 5 })
  })

  it('housekeeping archives on the retention schedule, at the start of a UTC day', async () => {
    await history()
    const retention = { days: 7, archiveDir: dir }
    now = T0 + 15 * DAY_MS + 3_600_000
    // Cut-off: the start of day 8 (T0 is noon of day 0): the five events of day 0 go.
    const first = await archiveExpiredAudit(t.services, retention)
    expect(first.archived.find((r) => r.chain === t.instanceId)).toMatchObject({ firstSeq: 1, lastSeq: 5 })
    now += 3_600_000
    expect((await archiveExpiredAudit(t.services, retention)).archived).toEqual([])

    // The background loop, on a short interval: the day-10 events go once they are old enough.
    now = T0 + 20 * DAY_MS
    const info: object[] = []
    const stop = startHousekeeping(
      t.services,
      { warn: () => {}, info: (obj) => info.push(obj) },
      20,
      retention,
    )
    try {
      // The run is logged once it has finished (its rows are gone a little before that).
      await expect
        .poll(() => info, { timeout: 5_000 })
        .toContainEqual(expect.objectContaining({ chain: t.instanceId, firstSeq: 6, lastSeq: 7 }))
    } finally {
      stop()
    }
    expect(await rowsOf(t.instanceId)).toEqual([8])
  })

  it('only one process or node archives at a time', async () => {
    await history()
    const second = await openTestServer(engine, { now: () => now, db: t.db, rootKey: t.rootKey })
    others.push(second)
    // While one holds the lock, another run does nothing.
    let acquired = false
    let release = () => {}
    const held = withArchiveLock(
      t.services.store,
      t.services.committer,
      () => now,
      () =>
        new Promise<void>((resolve) => {
          acquired = true
          release = resolve
        }),
    )
    await expect.poll(() => acquired).toBe(true)
    const refused = await archiveAuditEvents(second.services, { before: now, dir, actor: ACTOR })
    expect(refused).toEqual({ archived: [], locked: true })
    release()
    await held
    // Both at once: every stretch archived exactly once.
    const both = await Promise.all([
      archiveAuditEvents(t.services, { before: now + 1, dir, actor: ACTOR, maxEventsPerFile: 2 }),
      archiveAuditEvents(second.services, { before: now + 1, dir, actor: ACTOR, maxEventsPerFile: 2 }),
    ])
    const ranges = both.flatMap((r) => r.archived).filter((r) => r.chain === t.instanceId)
    expect(ranges.map((r) => [r.firstSeq, r.lastSeq]).sort((a, b) => a[0]! - b[0]!)).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 7],
    ])
    expect((await verifyAuditArchives({ archives: [dir], db: t.db })).chains.every((c) => c.ok)).toBe(true)
  })

  it('verifies an older database that has no anchors table as whole from its first event', async () => {
    t = await openTestServer(engine)
    await t.services.store.db.schema.dropTable('audit_anchors').execute()
    expect(await verifyChain(t.services.store.db, t.instanceId)).toMatchObject({ ok: true, anchor: null })
  })
})

describe('archive files that are not regular files', () => {
  it('reports a FIFO named like an archive instead of waiting for a writer forever', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-archive-fifo-'))
    const fifo = join(dir, 'audit-zz-000000000001-000000000002.jsonl')
    execFileSync('mkfifo', [fifo])
    try {
      const result = await Promise.race([
        verifyAuditArchives({ archives: [dir] }),
        new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 3_000)),
      ])
      expect(result).not.toBe('still waiting')
      expect(result === 'still waiting' ? null : result.files).toMatchObject([
        {
          ok: false,
          problem: `${basename(fifo)}: is not a regular file (a FIFO, a device or a folder named like an archive)`,
        },
      ])
    } finally {
      // Lets go a reader left waiting for a writer (the old code's), so the process can end.
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK))
      } catch {}
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
