import type { AuditVerifyResult } from '@strongroom/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditInput } from '../../src/audit/appender.js'
import { GENESIS_HASH } from '../../src/audit/chain.js'
import { listChains, verifyChain } from '../../src/audit/verify.js'
import { verifyAuditOffline } from '../../src/offline.js'
import type { AuditEventTable } from '../../src/store/schema.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

type Column = keyof AuditEventTable

/** What the verifiers of the database conclude about `chain`: offline (the CLI's) and `verifyChain` (the admin API's). */
async function verdicts(t: TestServer, chain: string): Promise<AuditVerifyResult[]> {
  const [offline] = await verifyAuditOffline({ db: t.db, instanceId: chain })
  const direct = await verifyChain(t.services.store.db, chain)
  return [offline!, direct]
}

const ACTOR = { type: 'application', id: 'app_tamper' } as const

/** Events whose every column has a value (nullable ones too), and details with several keys. */
const EVENTS: Omit<AuditInput, 'instanceId'>[] = [
  { actor: ACTOR, action: 'credential.obtain', outcome: 'success', details: {} },
  {
    actor: ACTOR,
    action: 'credential.obtain',
    resource: { type: 'credential', id: 'cred_1' },
    outcome: 'denied',
    reason: 'quarterly "review"\n',
    details: { why: 'no_grant', count: 3, ok: false, none: null, identifier: 'team/db\\main' },
    request: { requestId: 'req_1', sourceIp: '203.0.113.7', userAgent: 'agent/1.0 (ünïcode ✓ 😀)' },
  },
  {
    actor: ACTOR,
    action: 'credential.reveal',
    resource: { type: 'credential', id: 'cred_2' },
    outcome: 'success',
    reason: 'incident 42',
    // Integer-like keys: V8 enumerates them first, canonical JSON sorts them as text.
    details: { '10': 'ten', '9': 'nine', b: 2.5, a: 'x', ctl: '\u0001\t' },
    request: { requestId: 'req_2', sourceIp: '2001:db8::1', userAgent: 'curl/8' },
  },
  { actor: ACTOR, action: 'credential.list', outcome: 'success', details: { returned: 20 } },
]

describe.each(ENGINES)('offline audit verification on %s', (engine) => {
  let t: TestServer
  const chain = `ins_tamper_${engine}`
  beforeAll(async () => {
    t = await openTestServer(engine)
    await t.services.store.db
      .insertInto('audit_heads')
      .values({ instance_id: chain, seq: 0, hash: GENESIS_HASH })
      .execute()
    await t.services.committer.run(async ({ audit }) => {
      for (const event of EVENTS) await audit.append({ instanceId: chain, ...event })
    })
  })
  afterAll(async () => t?.close())

  const row = async (seq: number) =>
    t.services.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('instance_id', '=', chain)
      .where('seq', '=', seq)
      .executeTakeFirstOrThrow()

  /** Sets one column of one stored event, runs every verifier, and puts the value back. */
  async function tampered(seq: number, column: Column, value: unknown): Promise<AuditVerifyResult[]> {
    const original = (await row(seq))[column]
    const set = (v: unknown, where: { instance_id: string; seq: number }) =>
      t.services.store.db
        .updateTable('audit_events')
        .set({ [column]: v } as never)
        .where('instance_id', '=', where.instance_id)
        .where('seq', '=', where.seq)
        .execute()
    await set(value, { instance_id: chain, seq })
    try {
      return await verdicts(t, chain)
    } finally {
      // Back where the change moved it.
      await set(original, {
        instance_id: column === 'instance_id' ? String(value) : chain,
        seq: column === 'seq' ? Number(value) : seq,
      })
      expect((await verdicts(t, chain)).map((r) => r.ok)).toEqual([true, true])
    }
  }

  it('verifies the untouched chain the same way offline, through the admin API and directly', async () => {
    const [offline, direct] = await verdicts(t, chain)
    expect(offline).toEqual({
      instanceId: chain,
      ok: true,
      checked: EVENTS.length,
      headSeq: EVENTS.length,
      headHash: (await row(EVENTS.length)).hash,
      firstBrokenSeq: null,
      problem: null,
      anchor: null,
    })
    expect(direct).toEqual(offline)
    const online = await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/audit/verify`)
    expect(online.status).toBe(200)
    expect(online.body).toMatchObject({ ok: true, firstBrokenSeq: null })
  })

  const changes: [Column, (r: AuditEventTable) => unknown, RegExp][] = [
    ['instance_id', () => 'ins_elsewhere', /event 3 is missing/],
    ['seq', () => 1000, /event 3 is missing \(the next event present is 4\)/],
    ['time', (r) => Number(r.time) + 1, /event 3 was altered: its content does not match/],
    ['actor_type', () => 'admin_token', /event 3 was altered: its content/],
    ['actor_id', () => 'app_someone_else', /event 3 was altered: its content/],
    ['action', () => 'credential.list', /event 3 was altered: its content/],
    ['resource_type', () => null, /event 3 was altered: its content/],
    ['resource_id', () => 'cred_3', /event 3 was altered: its content/],
    ['outcome', () => 'failure', /event 3 was altered: its content/],
    ['reason', () => null, /event 3 was altered: its content/],
    ['reason', () => 'incident 43', /event 3 was altered: its content/],
    ['request_id', () => 'req_x', /event 3 was altered: its content/],
    ['source_ip', () => null, /event 3 was altered: its content/],
    ['user_agent', () => 'curl/9', /event 3 was altered: its content/],
    ['details', (r) => r.details.replace('"ten"', '"TEN"'), /event 3 was altered: its content/],
    ['prev_hash', () => 'f'.repeat(64), /event 3 does not link to event 2/],
    ['hash', () => '0'.repeat(64), /event 3 was altered: its content/],
  ]
  it.each(changes)('detects a change of %s', async (column, value, problem) => {
    const results = await tampered(3, column, value(await row(3)))
    for (const result of results) {
      expect(result).toMatchObject({ ok: false, firstBrokenSeq: 3, checked: 2, headSeq: 2 })
      expect(result.problem).toMatch(problem)
    }
    expect(results[1]).toEqual(results[0])
  })

  it('detects a null where an event had a value, and a value where it had null', async () => {
    for (const [seq, column, value] of [
      [2, 'user_agent', null],
      [1, 'resource_type', 'credential'],
      [1, 'request_id', ''],
    ] as const) {
      const results = await tampered(seq, column, value)
      for (const result of results) expect(result).toMatchObject({ ok: false, firstBrokenSeq: seq })
    }
  })

  // The same details, written other than canonically: every JSON parser reads the same object (or,
  // with a repeated key, some parsers another one), but it is not the text that was hashed.
  const rewritten: [string, (details: string) => string][] = [
    ['keys reordered', (d) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(d)).reverse()))],
    ['a space after a colon', (d) => d.replace('":', '": ')],
    ['a leading space', (d) => ` ${d}`],
    ['a trailing newline', (d) => `${d}\n`],
    ['pretty-printed', (d) => JSON.stringify(JSON.parse(d), null, 2)],
    ['a character escaped', (d) => d.replace('"why"', '"\\u0077hy"')],
    ['a slash escaped', (d) => d.replace('team/db', 'team\\/db')],
    ['a number written 3.0', (d) => d.replace('"count":3', '"count":3.0')],
    ['a number written 3e0', (d) => d.replace('"count":3', '"count":3e0')],
    ['a key repeated with another value first', (d) => d.replace('{', '{"why":"granted",')],
    ['a key repeated', (d) => d.replace('}', ',"why":"no_grant"}')],
    ['not JSON at all', (d) => d.slice(0, -1)],
  ]
  it.each(rewritten)('detects details rewritten with %s', async (_name, rewrite) => {
    const details = (await row(2)).details
    const other = rewrite(details)
    expect(other).not.toBe(details)
    const results = await tampered(2, 'details', other)
    for (const result of results) {
      expect(result).toMatchObject({ ok: false, firstBrokenSeq: 2, checked: 1 })
      expect(result.problem).toBe(
        'event 2 was altered: its details are not stored as the canonical JSON its hash covers',
      )
    }
    expect(results[1]).toEqual(results[0])
  })

  // PostgreSQL's bigint holds no text; SQLite keeps text that is not a decimal number as text.
  if (engine === 'sqlite')
    it('detects an integer column holding text that reads as the same number', async () => {
      const time = Number((await row(3)).time)
      for (const text of [`0x${time.toString(16)}`, `0o${time.toString(8)}`, `0b${time.toString(2)}`]) {
        expect(Number(text)).toBe(time)
        const results = await tampered(3, 'time', text)
        for (const result of results) expect(result).toMatchObject({ ok: false, firstBrokenSeq: 3 })
      }
    })

  it('detects a deleted tail, and events past the head, the same way everywhere', async () => {
    const head = (seq: number) =>
      t.services.store.db.updateTable('audit_heads').set({ seq }).where('instance_id', '=', chain).execute()
    try {
      await head(EVENTS.length + 1)
      const tail = await verdicts(t, chain)
      for (const result of tail) {
        expect(result).toMatchObject({ ok: false, firstBrokenSeq: 5, checked: 4 })
        expect(result.problem).toBe('events 5 to 5 are missing: the chain head records 5 events')
      }
      expect(tail[1]).toEqual(tail[0])
      await head(EVENTS.length - 1)
      const past = await verdicts(t, chain)
      for (const result of past) {
        expect(result).toMatchObject({ ok: false, firstBrokenSeq: 4, checked: 4 })
        expect(result.problem).toBe('the chain head records 3 events but 4 are present')
      }
      expect(past[1]).toEqual(past[0])
    } finally {
      await t.services.store.db
        .updateTable('audit_heads')
        .set({ seq: EVENTS.length })
        .where('instance_id', '=', chain)
        .execute()
    }
    expect((await verdicts(t, chain)).map((r) => r.ok)).toEqual([true, true])
  })

  // An anchor is where verification starts: archiving records it in the transaction that deletes
  // the events up to it, and never takes the chain's newest event. A row of audit_anchors alone
  // (nothing rehashed, nothing deleted) must not take the chain's events out of verification.
  it('refuses an anchor forged at the head or over events still stored, the same way everywhere', async () => {
    const db = t.services.store.db
    const stored = await db.selectFrom('audit_events').selectAll().where('instance_id', '=', chain).execute()
    const anchor = (seq: number) =>
      db
        .insertInto('audit_anchors')
        .values({
          instance_id: chain,
          seq,
          hash: stored.find((r) => Number(r.seq) === seq)!.hash,
          first_seq: 1,
          archived_at: 0,
          file: 'audit-x.jsonl',
        })
        .execute()
    const dropAnchors = () => db.deleteFrom('audit_anchors').where('instance_id', '=', chain).execute()
    const agree = async (expected: Partial<AuditVerifyResult>, problem: string) => {
      const results = await verdicts(t, chain)
      for (const result of results) {
        expect(result).toMatchObject({ ...expected, ok: false })
        expect(result.problem).toBe(problem)
      }
      expect(results[1]).toEqual(results[0])
    }
    try {
      // The reviewer's: an anchor at the head, with its hash, and an event edited.
      await anchor(EVENTS.length)
      await db
        .updateTable('audit_events')
        .set({ reason: 'routine check', actor_id: 'app_someone_else' })
        .where('instance_id', '=', chain)
        .where('seq', '=', 2)
        .execute()
      await agree(
        { firstBrokenSeq: 1, checked: 0 },
        'event 1 is still in the database although the archive anchor at seq 4 (audit-x.jsonl) records the events up to it as archived: archiving deletes them with the anchor',
      )
      // Below the head, at an event's very hash: the events it claims archived are still there.
      await dropAnchors()
      await anchor(3)
      await agree(
        { firstBrokenSeq: 1, checked: 0 },
        'event 1 is still in the database although the archive anchor at seq 3 (audit-x.jsonl) records the events up to it as archived: archiving deletes them with the anchor',
      )
      // At the head with every event gone: nothing left to link to it.
      await dropAnchors()
      await anchor(EVENTS.length)
      await db.deleteFrom('audit_events').where('instance_id', '=', chain).execute()
      await agree(
        { firstBrokenSeq: 4, checked: 0 },
        "the archive anchor at seq 4 (audit-x.jsonl) is not below the chain's head (seq 4): archiving never removes a chain's newest event",
      )
      // Past the head.
      await db.updateTable('audit_anchors').set({ seq: 9 }).where('instance_id', '=', chain).execute()
      await agree(
        { firstBrokenSeq: 9, checked: 0 },
        "the archive anchor at seq 9 (audit-x.jsonl) is not below the chain's head (seq 4): archiving never removes a chain's newest event",
      )
      // What archiving leaves, the anchor below the head and nothing at or under it, verifies.
      await dropAnchors()
      await anchor(3)
      await db
        .insertInto('audit_events')
        .values(stored.filter((r) => Number(r.seq) === 4))
        .execute()
      for (const result of await verdicts(t, chain)) {
        expect(result).toMatchObject({ ok: true, checked: 1, anchor: { seq: 3 } })
      }
    } finally {
      await dropAnchors()
      await db.deleteFrom('audit_events').where('instance_id', '=', chain).execute()
      await db.insertInto('audit_events').values(stored).execute()
    }
    expect((await verdicts(t, chain)).map((r) => r.ok)).toEqual([true, true])
  })

  it('still verifies a chain whose head row was deleted, and finds it broken, everywhere', async () => {
    const saved = await t.services.store.db
      .selectFrom('audit_heads')
      .selectAll()
      .where('instance_id', '=', chain)
      .executeTakeFirstOrThrow()
    await t.services.store.db.deleteFrom('audit_heads').where('instance_id', '=', chain).execute()
    try {
      // Listing every chain, as `audit verify`, backup and restore do: the chain is not left out.
      const offline = (await verifyAuditOffline({ db: t.db })).find((r) => r.instanceId === chain)
      const listed = await listChains(t.services.store.db)
      expect(listed).toContain(chain)
      expect(listed).toContain(t.instanceId)
      expect(listed).toContain('system')
      const direct = await verifyChain(t.services.store.db, chain)
      for (const result of [offline, direct]) {
        expect(result).toMatchObject({ ok: false, checked: EVENTS.length, firstBrokenSeq: null })
        expect(result!.problem).toMatch(/^the chain has no head/)
      }
    } finally {
      await t.services.store.db.insertInto('audit_heads').values(saved).execute()
    }
    expect((await verdicts(t, chain)).map((r) => r.ok)).toEqual([true, true])
  })
})
