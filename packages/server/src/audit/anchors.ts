import type { Kysely } from 'kysely'
import type { Database } from '../store/schema.js'

/** Where the archived part of a chain ends: its last event's sequence number and hash, and the file holding it. */
export interface Anchor {
  seq: number
  hash: string
  firstSeq: number
  file: string
}

/** The newest anchor of `instanceId`'s chain (the one its first remaining event links to); null when nothing was archived. */
export async function latestAnchor(db: Kysely<Database>, instanceId: string): Promise<Anchor | null> {
  // A database from before migration 0013 (a backup being checked before it is restored and
  // migrated) has no anchors table: nothing of it was ever archived.
  if (!(await hasAnchorsTable(db))) return null
  const row = await db
    .selectFrom('audit_anchors')
    .select(['seq', 'hash', 'first_seq', 'file'])
    .where('instance_id', '=', instanceId)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row
    ? { seq: Number(row.seq), hash: row.hash, firstSeq: Number(row.first_seq), file: row.file }
    : null
}

/**
 * The lowest sequence number of `instanceId`'s chain still stored at or below `seq` (an anchor's);
 * undefined when none is, as it must be: archiving deletes the events up to an anchor in the
 * transaction that records it (`ChainVerifier.checkArchived`). One probe of the primary key.
 */
export async function eventLeftAtOrBelow(
  db: Kysely<Database>,
  instanceId: string,
  seq: number,
): Promise<unknown> {
  const row = await db
    .selectFrom('audit_events')
    .select('seq')
    .where('instance_id', '=', instanceId)
    .where('seq', '<=', seq)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst()
  return row?.seq
}

/** The chains that have at least one anchor: those some of whose events were archived. */
export async function anchoredChains(db: Kysely<Database>): Promise<string[]> {
  if (!(await hasAnchorsTable(db))) return []
  const rows = await db
    .selectFrom('audit_anchors')
    .select('instance_id')
    .distinct()
    .orderBy('instance_id')
    .execute()
  return rows.map((r) => r.instance_id)
}

/** Every anchor of `instanceId`'s chain, oldest first. */
export async function listAnchors(db: Kysely<Database>, instanceId: string): Promise<Anchor[]> {
  if (!(await hasAnchorsTable(db))) return []
  const rows = await db
    .selectFrom('audit_anchors')
    .select(['seq', 'hash', 'first_seq', 'file'])
    .where('instance_id', '=', instanceId)
    .orderBy('seq')
    .execute()
  return rows.map((r) => ({ seq: Number(r.seq), hash: r.hash, firstSeq: Number(r.first_seq), file: r.file }))
}

/** Whether the database has the anchors table (migration 0013): asked of the schema, not guessed from an error. */
async function hasAnchorsTable(db: Kysely<Database>): Promise<boolean> {
  const tables = await db.introspection.getTables()
  return tables.some((t) => t.name === 'audit_anchors')
}
