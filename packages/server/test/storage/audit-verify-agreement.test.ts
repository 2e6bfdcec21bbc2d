import type { AuditVerifyResult } from '@strongroom/protocol'
import fc from 'fast-check'
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { latestAnchor } from '../../src/audit/anchors.js'
import type { AuditInput } from '../../src/audit/appender.js'
import { canonicalJson } from '../../src/audit/canonical-json.js'
import {
  type ChainedFields,
  chainedFields,
  eventHash,
  GENESIS_HASH,
  rowToEvent,
} from '../../src/audit/chain.js'
import { ChainVerifier, isCanonicalJson, VERIFIED_COLUMNS } from '../../src/audit/chain-verifier.js'
import { verifyChain } from '../../src/audit/verify.js'
import { verifyAuditOffline } from '../../src/offline.js'
import type { AuditEventTable, Database } from '../../src/store/schema.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

/** The stored text is canonical JSON, as the old verifier's parse-and-serialise saw it. */
function referenceCanonical(text: string): boolean {
  try {
    return canonicalJson(JSON.parse(text)) === text
  } catch {
    return false
  }
}

/**
 * The verifier before ChainVerifier, as it was (every row through `rowToEvent` and `eventHash`),
 * with the rules added since: `details` must be stored as the canonical JSON that was hashed, and
 * an anchor must be below the head with no event left at or below it.
 */
async function referenceVerify(db: Kysely<Database>, instanceId: string): Promise<AuditVerifyResult> {
  const found = await latestAnchor(db, instanceId)
  const anchor = found ? { seq: found.seq, hash: found.hash, file: found.file } : null
  let prevSeq = anchor?.seq ?? 0
  let prevHash = anchor?.hash ?? GENESIS_HASH
  let checked = 0
  const broken = (seq: number, problem: string): AuditVerifyResult => ({
    instanceId,
    ok: false,
    checked,
    headSeq: prevSeq,
    headHash: prevHash,
    firstBrokenSeq: seq,
    problem,
    anchor,
  })
  const all = await db
    .selectFrom('audit_events')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .orderBy('seq')
    .execute()
  const archived = anchor ? all.find((row) => Number(row.seq) <= anchor.seq) : undefined
  if (anchor && archived) {
    return broken(
      Number(archived.seq),
      `event ${archived.seq} is still in the database although the archive anchor at seq ${anchor.seq} (${anchor.file}) records the events up to it as archived: archiving deletes them with the anchor`,
    )
  }
  const rows = all.filter((row) => Number(row.seq) > prevSeq)
  for (const row of rows) {
    const seq = Number(row.seq)
    if (seq !== prevSeq + 1) {
      return broken(prevSeq + 1, `event ${prevSeq + 1} is missing (the next event present is ${seq})`)
    }
    if (row.prev_hash !== prevHash) {
      return broken(
        seq,
        anchor && seq === anchor.seq + 1
          ? `event ${seq} does not link to the archive anchor at seq ${anchor.seq}: its prevHash differs from the anchor's hash`
          : `event ${seq} does not link to event ${prevSeq}: its prevHash differs from that event's hash`,
      )
    }
    if (!referenceCanonical(row.details)) {
      return broken(
        seq,
        `event ${seq} was altered: its details are not stored as the canonical JSON its hash covers`,
      )
    }
    const event = rowToEvent(row)
    if (eventHash(prevHash, chainedFields(event)) !== event.hash) {
      return broken(seq, `event ${seq} was altered: its content does not match its hash`)
    }
    prevSeq = seq
    prevHash = event.hash
    checked++
  }
  const head = await db
    .selectFrom('audit_heads')
    .select(['seq', 'hash'])
    .where('instance_id', '=', instanceId)
    .executeTakeFirst()
  if (head && anchor && Number(head.seq) <= anchor.seq) {
    return broken(
      anchor.seq,
      `the archive anchor at seq ${anchor.seq} (${anchor.file}) is not below the chain's head (seq ${head.seq}): archiving never removes a chain's newest event`,
    )
  }
  if (head && Number(head.seq) !== prevSeq) {
    return Number(head.seq) > prevSeq
      ? broken(
          prevSeq + 1,
          `events ${prevSeq + 1} to ${head.seq} are missing: the chain head records ${head.seq} events`,
        )
      : broken(Number(head.seq) + 1, `the chain head records ${head.seq} events but ${prevSeq} are present`)
  }
  if (head && head.hash !== prevHash)
    return broken(prevSeq, `event ${prevSeq} does not match the hash recorded in the chain head`)
  return {
    instanceId,
    ok: true,
    checked,
    headSeq: prevSeq,
    headHash: prevHash,
    firstBrokenSeq: null,
    problem: null,
    anchor,
  }
}

// Texts with what JSON escapes, what it does not (DEL, U+2028, non-ASCII), and surrogate pairs;
// no NUL, which PostgreSQL's text refuses.
const char = fc.constantFrom(
  'a',
  'b',
  'Z',
  '0',
  '9',
  '/',
  '.',
  ' ',
  '"',
  '\\',
  '\n',
  '\t',
  '\u0001',
  '\u007f',
  'é',
  '\u2028',
  '😀',
  '\ufffd',
)
const text = fc.string({ unit: char, maxLength: 8 })
const detailValue = fc.oneof(
  text,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
)
const details = fc.dictionary(fc.oneof(text, fc.constantFrom('0', '9', '10', 'a', 'A')), detailValue, {
  maxKeys: 5,
})
const nullable = fc.option(text, { nil: null })
const event: fc.Arbitrary<Omit<AuditInput, 'instanceId'>> = fc.record(
  {
    actor: fc.record({
      type: fc.constantFrom('admin_token', 'application', 'system', 'anonymous'),
      id: text,
    }),
    action: text,
    resource: fc.record({ type: text, id: text }),
    outcome: fc.constantFrom('success', 'failure', 'denied'),
    reason: nullable,
    details,
    request: fc.record({ requestId: nullable, sourceIp: nullable, userAgent: nullable }),
  },
  { requiredKeys: ['actor', 'action', 'outcome', 'reason', 'details', 'request'] },
)

const COLUMNS = ['instance_id', ...VERIFIED_COLUMNS] as const
type Column = (typeof COLUMNS)[number]
const DETAIL_EDITS = ['value', 'reorder', 'space', 'escape', 'repeat'] as const
const tamper = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), index: fc.nat() }) },
  // An anchor row at an event, with its hash or another, over the events up to it or with them left.
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('anchor' as const),
      index: fc.nat(),
      cut: fc.boolean(),
      ownHash: fc.boolean(),
      hex: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('change' as const),
      index: fc.nat(),
      column: fc.oneof(fc.constantFrom(...COLUMNS), fc.constant('details' as const)),
      text,
      int: fc.integer({ min: 1, max: 1_000_000 }),
      hex: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      edit: fc.constantFrom(...DETAIL_EDITS),
    }),
  },
)

/** Another value for `column`, from what the property drew; may happen to equal the original. */
function changed(
  row: AuditEventTable,
  column: Column,
  d: { text: string; int: number; hex: Uint8Array; edit: (typeof DETAIL_EDITS)[number] },
): unknown {
  const other = (original: string) => (d.text === original ? `${d.text}!` : d.text)
  switch (column) {
    case 'instance_id':
      return `${row.instance_id}_moved`
    case 'seq':
      return Number(row.seq) + 100_000
    case 'time':
      return Number(row.time) + d.int
    case 'prev_hash':
    case 'hash':
      return Buffer.from(d.hex).toString('hex')
    case 'details':
      return editDetails(row.details, d)
    case 'actor_type':
    case 'actor_id':
    case 'action':
    case 'outcome':
      return other(row[column])
    default: {
      const original = row[column]
      if (original === null) return d.text
      return d.int % 2 === 0 ? null : other(original)
    }
  }
}

/** The same details written otherwise (or, for `value`, other details), still JSON. */
function editDetails(original: string, d: { text: string; edit: (typeof DETAIL_EDITS)[number] }): string {
  const parsed = JSON.parse(original) as Record<string, unknown>
  const firstKey = /^\{("(?:[^"\\]|\\.)*"):/.exec(original)
  switch (d.edit) {
    case 'value':
      return canonicalJson({ ...parsed, [`${d.text}~`]: d.text })
    case 'reorder':
      return JSON.stringify(Object.fromEntries(Object.entries(parsed).reverse()))
    case 'space':
      return firstKey ? original.replace(':', ': ') : '{ }'
    case 'escape': {
      // The first key's first character as \uXXXX: the same key.
      const c = original[2]
      if (!firstKey || c === undefined || c === '"' || c === '\\') return `${original} `
      return `{"\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}${original.slice(3)}`
    }
    case 'repeat':
      // JSON.parse keeps the last of repeated keys: the same object; SQL's JSON functions the first.
      return firstKey ? `{${firstKey[1]}:"shadow",${original.slice(1)}` : '{"a":1,"a":1}'
  }
}

describe.each(ENGINES)('audit verifiers agree on %s', (engine) => {
  let t: TestServer
  let chains = 0
  beforeAll(async () => {
    t = await openTestServer(engine)
  })
  afterAll(async () => t?.close())

  it('offline, verifyChain and the eventHash verifier agree on random chains with one field changed', async () => {
    const db = t.services.store.db
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 5 }), tamper, async (events, change) => {
        const chain = `ins_agree_${engine}_${chains++}`
        await db
          .insertInto('audit_heads')
          .values({ instance_id: chain, seq: 0, hash: GENESIS_HASH })
          .execute()
        await t.services.committer.run(async ({ audit }) => {
          for (const e of events) await audit.append({ instanceId: chain, ...e })
        })
        let altered = false
        if (change.kind !== 'none') {
          const seq = (change.index % events.length) + 1
          const where = db.updateTable('audit_events').where('instance_id', '=', chain).where('seq', '=', seq)
          if (change.kind === 'anchor') {
            const at = await db
              .selectFrom('audit_events')
              .select('hash')
              .where('instance_id', '=', chain)
              .where('seq', '=', seq)
              .executeTakeFirstOrThrow()
            const hash = change.ownHash ? at.hash : Buffer.from(change.hex).toString('hex')
            if (change.cut) {
              await db
                .deleteFrom('audit_events')
                .where('instance_id', '=', chain)
                .where('seq', '<=', seq)
                .execute()
            }
            await db
              .insertInto('audit_anchors')
              .values({ instance_id: chain, seq, hash, first_seq: 1, archived_at: 0, file: `${chain}.jsonl` })
              .execute()
            // What archiving leaves: the events up to the anchor gone, the newest one kept, the link.
            altered = !(change.cut && seq < events.length && hash === at.hash)
          } else if (change.kind === 'delete') {
            await db
              .deleteFrom('audit_events')
              .where('instance_id', '=', chain)
              .where('seq', '=', seq)
              .execute()
            altered = true
          } else {
            const row = await db
              .selectFrom('audit_events')
              .selectAll()
              .where('instance_id', '=', chain)
              .where('seq', '=', seq)
              .executeTakeFirstOrThrow()
            const value = changed(row, change.column, change)
            const original = row[change.column]
            altered = (value === null) !== (original === null) || String(value) !== String(original)
            await where.set({ [change.column]: value } as never).execute()
          }
        }
        const expected = await referenceVerify(db, chain)
        const [offline] = await verifyAuditOffline({ db: t.db, instanceId: chain })
        expect(offline).toEqual(expected)
        expect(await verifyChain(db, chain)).toEqual(expected)
        // Every change is found.
        expect(expected.ok).toBe(!altered)
      }),
      { numRuns: engine === 'sqlite' ? 60 : 30 },
    )
  }, 120_000)
})

describe('ChainVerifier against eventHash, without a database', () => {
  it('reads details as canonical exactly when canonicalJson(JSON.parse(text)) gives the text back', () => {
    const texts = fc.oneof(
      details.map(canonicalJson),
      details.map((d) => JSON.stringify(d)),
      details.chain((d) =>
        fc
          .tuple(fc.nat(), fc.constantFrom(' ', '\n', ',', ':', '"', '\\', '}', '{', '0', '-', 'e', '.', 'u'))
          .map(([at, c]) => {
            const s = canonicalJson(d)
            const i = at % (s.length + 1)
            return s.slice(0, i) + c + s.slice(i)
          }),
      ),
      fc.json(),
      fc.string(),
    )
    fc.assert(
      fc.property(texts, (s) => {
        expect(isCanonicalJson(s)).toBe(referenceCanonical(s))
      }),
      { numRuns: 3000 },
    )
  })

  it('accepts a row exactly when eventHash of its event, from any previous hash, is its hash', () => {
    const fields = fc.record({
      seq: fc.integer({ min: 1, max: 2 ** 40 }),
      time: fc.integer({ min: 0, max: 2 ** 50 }),
      actorType: text,
      actorId: text,
      action: text,
      resourceType: nullable,
      resourceId: nullable,
      outcome: text,
      reason: nullable,
      requestId: nullable,
      sourceIp: nullable,
      userAgent: nullable,
      details,
    })
    // An anchor's hash is whatever the row holds: hex or not, `Buffer.from(hash, 'hex')` reads it.
    const previous = fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
      fc.string({ maxLength: 70 }),
    )
    fc.assert(
      fc.property(fields, previous, text, (f, prevHash, chain) => {
        const event: ChainedFields = {
          instanceId: chain,
          ...f,
          outcome: f.outcome as ChainedFields['outcome'],
        }
        const hash = eventHash(prevHash, event)
        const row = [
          String(f.seq),
          f.time,
          f.actorType,
          f.actorId,
          f.action,
          f.resourceType,
          f.resourceId,
          f.outcome,
          f.reason,
          f.requestId,
          f.sourceIp,
          f.userAgent,
          canonicalJson(f.details),
          prevHash,
          hash,
        ]
        const verifier = () => new ChainVerifier(chain, { seq: f.seq - 1, hash: prevHash, file: 'a.jsonl' })
        expect(verifier().next(row)).toBeNull()
        // And any other value of any field is refused.
        for (let i = 1; i < row.length - 2; i++) {
          const other = [...row]
          other[i] = typeof row[i] === 'number' ? (row[i] as number) + 1 : `${row[i] ?? ''}x`
          expect(verifier().next(other)?.ok).toBe(false)
        }
      }),
      { numRuns: 500 },
    )
  })
})
