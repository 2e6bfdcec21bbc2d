import type { AuditVerifyResult } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import type { Database } from '../store/schema.js'
import { eventLeftAtOrBelow, latestAnchor } from './anchors.js'
import { SYSTEM_CHAIN } from './chain.js'
import { ChainVerifier, type StoredEventRow, VERIFIED_COLUMNS } from './chain-verifier.js'

const PAGE = 1000

/**
 * Recomputes one chain from its first event and names the first broken link: a missing
 * sequence number, a `prevHash` that is not the previous event's hash, a hash that does not match
 * the event's content (or `details` not stored in the canonical form the hash covers), or a head
 * (the recorded last link) the events do not reach. When older events were archived
 * (audit/archive.ts) it starts from the newest anchor: no event may remain at or below it, the
 * first remaining event must be the one after it and link to its hash, and the head must be past
 * it (the archive file itself is verified by `verifyArchiveFile`).
 *
 * Reads the rows a page at a time through Kysely (the event loop stays free between pages); the
 * check itself is `ChainVerifier`'s, which the offline verification of an SQLite file
 * (audit/verify-sqlite.ts) shares.
 */
export async function verifyChain(db: Kysely<Database>, instanceId: string): Promise<AuditVerifyResult> {
  const found = await latestAnchor(db, instanceId)
  const verifier = new ChainVerifier(
    instanceId,
    found ? { seq: found.seq, hash: found.hash, file: found.file } : null,
  )
  if (found) {
    // Archiving deleted every event up to the anchor with it: none may be left.
    const broken = verifier.checkArchived(await eventLeftAtOrBelow(db, instanceId, found.seq))
    if (broken !== null) return broken
  }
  for (;;) {
    const rows = await db
      .selectFrom('audit_events')
      .select(VERIFIED_COLUMNS)
      .where('instance_id', '=', instanceId)
      .where('seq', '>', verifier.lastSeq)
      .orderBy('seq')
      .limit(PAGE)
      .execute()
    for (const row of rows) {
      const broken = verifier.next(VERIFIED_COLUMNS.map((column) => row[column]) as StoredEventRow)
      if (broken !== null) return broken
    }
    if (rows.length < PAGE) break
  }
  const head = await db
    .selectFrom('audit_heads')
    .select(['seq', 'hash'])
    .where('instance_id', '=', instanceId)
    .executeTakeFirst()
  return verifier.finish(head)
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
 * Every chain in the database: the system chain, one per instance, and any other name events are
 * stored under. Not only the heads' list: deleting a chain's head row must not take the chain out
 * of verification (`ChainVerifier.finish` reports a chain with no head as broken).
 */
export async function listChains(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom('audit_heads')
    .select('instance_id')
    .union(db.selectFrom('instances').select('id as instance_id'))
    .union(db.selectFrom('audit_events').select('instance_id'))
    .union(db.selectNoFrom((eb) => eb.val(SYSTEM_CHAIN).as('instance_id')))
    .orderBy('instance_id')
    .execute()
  return rows.map((r) => r.instance_id)
}
