import type { AuditVerifyResult } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import type { Database } from '../store/schema.js'
import { eventLeftAtOrBelow, latestAnchor } from './anchors.js'
import { SYSTEM_CHAIN } from './chain.js'
import { ChainVerifier, type StoredEventRow, VERIFIED_COLUMNS } from './chain-verifier.js'

const PAGE = 1000

/** How many times a verification that met an archiving run starts again before it reports. */
const ARCHIVED_MEANWHILE_RETRIES = 3

/**
 * Recomputes one chain from its first event and names the first broken link: a missing
 * sequence number, a `prevHash` that is not the previous event's hash, a hash that does not match
 * the event's content (or `details` not stored in the canonical form the hash covers), or a head
 * (the recorded last link) the events do not reach, or events past it. When older events were
 * archived (audit/archive.ts) it starts from the newest anchor: no event may remain at or below
 * it, the first remaining event must be the one after it and link to its hash, and the head must
 * be past it (the archive file itself is verified by `verifyArchiveFile`).
 *
 * It runs beside a server that goes on appending, outside any transaction (SQLite's one
 * read-write connection must not be held for the seconds a long chain takes; offline, and on
 * PostgreSQL from `verifyChainsInSnapshot`, it runs in a snapshot all the same). So it reads the
 * rows a page at a time, yielding to the event loop between pages (better-sqlite3 answers
 * synchronously: without the yield a million events held every request for seconds). It first
 * reads the head together with the first event stored past it, in one statement, and checks the
 * events up to that head only: events committed while it reads are not mistaken for a tail the
 * head does not record (as they were when the head was read after the last page), a busy chain
 * is not chased, and a tail that lay past the head is still reported. A run that finds
 * a break while an archiving run moved the anchor starts again (a few times at most), since
 * archiving deletes the events it read past.
 *
 * The check itself is `ChainVerifier`'s, which the offline verification of an SQLite file
 * (audit/verify-sqlite.ts) shares.
 */
export async function verifyChain(db: Kysely<Database>, instanceId: string): Promise<AuditVerifyResult> {
  for (let attempt = 0; ; attempt++) {
    const { result, anchorSeq } = await verifyOnce(db, instanceId)
    if (result.ok || attempt >= ARCHIVED_MEANWHILE_RETRIES) return result
    const now = await latestAnchor(db, instanceId)
    if ((now?.seq ?? null) === anchorSeq) return result
  }
}

async function verifyOnce(
  db: Kysely<Database>,
  instanceId: string,
): Promise<{ result: AuditVerifyResult; anchorSeq: number | null }> {
  const found = await latestAnchor(db, instanceId)
  const anchorSeq = found?.seq ?? null
  const verifier = new ChainVerifier(
    instanceId,
    found ? { seq: found.seq, hash: found.hash, file: found.file } : null,
  )
  if (found) {
    // Archiving deleted every event up to the anchor with it: none may be left.
    const broken = verifier.checkArchived(await eventLeftAtOrBelow(db, instanceId, found.seq))
    if (broken !== null) return { result: broken, anchorSeq }
  }
  // The head and the first event past it, of one moment; then the events up to the head (and,
  // when a tail lay past it, that tail, so that the verifier names it). Events committed after
  // that moment lie past both and are left for the next verification.
  const head = await headAndBeyond(db, instanceId)
  const upTo = head === undefined ? Number.POSITIVE_INFINITY : Number(head.beyond ?? head.seq)
  const broken = await readEvents(db, instanceId, verifier, upTo)
  if (broken !== null) return { result: broken, anchorSeq }
  return { result: verifier.finish(head), anchorSeq }
}

const running = new WeakMap<Kysely<Database>, Map<string, Promise<AuditVerifyResult>>>()

/**
 * `verifyChain` for the admin API and the console, one run per chain at a time: a request for a
 * chain already being verified gets that run's result (its read began a moment earlier) rather
 * than a second pass over the same million rows. The console verifies on every visit of its audit
 * page, so without this a few readers (or one impatient one) multiplied the server's work.
 */
export function verifyChainOnce(db: Kysely<Database>, instanceId: string): Promise<AuditVerifyResult> {
  let chains = running.get(db)
  if (!chains) {
    chains = new Map()
    running.set(db, chains)
  }
  const pending = chains.get(instanceId)
  if (pending) return pending
  const started = verifyChain(db, instanceId).finally(() => chains.delete(instanceId))
  chains.set(instanceId, started)
  return started
}

/** Feeds `verifier` the chain's events after the last it checked, up to `upTo`; the break, or null. */
async function readEvents(
  db: Kysely<Database>,
  instanceId: string,
  verifier: ChainVerifier,
  upTo: number,
): Promise<AuditVerifyResult | null> {
  for (let first = true; verifier.lastSeq < upTo; first = false) {
    if (!first) await new Promise((resolve) => setImmediate(resolve))
    const page = verifier.nextPage()
    let query = db
      .selectFrom('audit_events')
      .select(VERIFIED_COLUMNS)
      .where('instance_id', '=', instanceId)
      .where('seq', page.inclusive ? '>=' : '>', page.from)
    if (Number.isFinite(upTo)) query = query.where('seq', '<=', upTo)
    const rows = await query.orderBy('seq').limit(PAGE).execute()
    for (const row of rows) {
      const broken = verifier.next(VERIFIED_COLUMNS.map((column) => row[column]) as StoredEventRow)
      if (broken !== null) return broken
    }
    if (rows.length < PAGE) break
  }
  return null
}

/**
 * The chain's head and the lowest sequence number stored past it (null when none is), read by one
 * statement, so that both are of one moment on either engine.
 */
async function headAndBeyond(
  db: Kysely<Database>,
  instanceId: string,
): Promise<{ seq: unknown; hash: unknown; beyond: unknown } | undefined> {
  return db
    .selectFrom('audit_heads as h')
    .select((eb) => [
      'h.seq',
      'h.hash',
      eb
        .selectFrom('audit_events as e')
        .select((e) => e.fn.min('e.seq').as('m'))
        .whereRef('e.instance_id', '=', 'h.instance_id')
        .whereRef('e.seq', '>', 'h.seq')
        .as('beyond'),
    ])
    .where('h.instance_id', '=', instanceId)
    .executeTakeFirst()
}

/**
 * PostgreSQL: `verifyChain` for every chain (or the one asked for) in one read-only snapshot, a
 * `repeatable read` transaction, so that events a running server appends meanwhile are neither
 * half seen nor taken for a tail the head does not record. (On SQLite, Kysely's one connection
 * would hold every writer back meanwhile: offline, audit/verify-sqlite.ts reads the file itself.)
 */
export async function verifyChainsInSnapshot(
  db: Kysely<Database>,
  instanceId?: string,
): Promise<AuditVerifyResult[]> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      const chains = instanceId === undefined ? await listChains(trx) : [instanceId]
      const results: AuditVerifyResult[] = []
      for (const chain of chains) results.push(await verifyChain(trx, chain))
      return results
    })
}

/**
 * Every chain in the database: the system chain, one per instance (with a row, or created as the
 * system chain records), and any other name events are stored under. Not only the heads' list: deleting a chain's head row must not take the chain out
 * of verification (`ChainVerifier.finish` reports a chain with no head as broken).
 */
export async function listChains(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom('audit_heads')
    .select('instance_id')
    .union(db.selectFrom('instances').select('id as instance_id'))
    .union(db.selectFrom('audit_events').select('instance_id'))
    // Every instance the system chain says was created: one whose head, events and instance row
    // were all deleted is still verified (and found to have no head).
    .union(
      db
        .selectFrom('audit_events')
        .select('resource_id as instance_id')
        .where('instance_id', '=', SYSTEM_CHAIN)
        .where('action', '=', 'instance.create')
        .where('outcome', '=', 'success')
        .where('resource_id', 'is not', null)
        .$narrowType<{ instance_id: string }>(),
    )
    .union(db.selectNoFrom((eb) => eb.val(SYSTEM_CHAIN).as('instance_id')))
    .orderBy('instance_id')
    .execute()
  return rows.map((r) => r.instance_id)
}
