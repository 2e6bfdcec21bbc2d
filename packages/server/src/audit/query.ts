import type { AuditEvent, AuditQuery } from '@strongroom/protocol'
import { type Kysely, sql } from 'kysely'
import { decodeCursor, type Page, toPage } from '../store/pagination.js'
import type { AuditEventTable, Database } from '../store/schema.js'
import { rowToEvent } from './chain.js'
import { decodeSeqs, indexedSeq } from './key-index.js'

/** Posting blocks read per query of the key index; each holds up to one indexer step's seqs. */
const BLOCKS_PER_READ = 16
/** Events fetched per query by seq, of those the blocks name. */
const EVENTS_PER_READ = 200

/**
 * Events of one chain in sequence order, filtered, by keyset on `seq`. Filtered by actor or by
 * resource, the events up to the key index's mark are found through `audit_key_blocks`
 * (audit/key-index.ts) and those after it, a short tail the indexer has not reached yet, by the
 * chain's primary key: the same page as `scanAuditEvents`, without walking the whole chain.
 */
export async function queryAuditEvents(
  db: Kysely<Database>,
  instanceId: string,
  query: AuditQuery,
): Promise<Page<AuditEvent>> {
  const key =
    query.actorId !== undefined
      ? { kind: 'actor' as const, key: query.actorId }
      : query.resourceId !== undefined
        ? { kind: 'resource' as const, key: query.resourceId }
        : null
  if (key === null) return scanAuditEvents(db, instanceId, query)
  const limit = query.maxResults ?? 100
  const descending = query.order === 'desc'
  const cursor = decodeCursor(query.nextToken, 'number')
  const direction = descending ? 'desc' : 'asc'
  // Read first: the keys of every event up to it committed with it, whatever moves it later.
  const mark = await indexedSeq(db, instanceId)
  // A mark past the chain's head: the chain's tail was cut from the database since it was
  // indexed (the head only moves forward), and events written after the cut, numbered at or
  // below the mark, have no blocks; the index would hide them. The chain is scanned instead,
  // until the indexer sets the mark back (`indexAuditKeys`).
  const head = await db
    .selectFrom('audit_heads')
    .select('seq')
    .where('instance_id', '=', instanceId)
    .executeTakeFirst()
  if (head !== undefined && mark > Number(head.seq)) return scanAuditEvents(db, instanceId, query)

  const indexed = async (rows: number) => {
    // The seqs wanted lie strictly between `above` and `below`, all of them at most the mark.
    let above = query.afterSeq ?? 0
    let below = mark + 1
    if (cursor !== undefined) {
      if (descending) below = Math.min(below, cursor)
      else above = Math.max(above, cursor)
    }
    if (above + 1 >= below) return []
    const blocksOfKey = () =>
      db
        .selectFrom('audit_key_blocks')
        .where('instance_id', '=', instanceId)
        .where('kind', '=', key.kind)
        .where('key', '=', key.key)
    // A key's blocks do not overlap: those holding seqs above `above` are the one that straddles
    // it, if any, and those that start after it. So the blocks wanted are one range of the key.
    let lowest = above + 1
    if (above > 0) {
      const straddling = await blocksOfKey()
        .select(['first_seq', 'last_seq'])
        .where('first_seq', '<=', above)
        .orderBy('first_seq', 'desc')
        .limit(1)
        .executeTakeFirst()
      if (straddling && Number(straddling.last_seq) > above) lowest = Number(straddling.first_seq)
    }
    const found: AuditEventTable[] = []
    let next: number | undefined
    while (found.length < rows) {
      let blocks = blocksOfKey()
        .select(['first_seq', 'seqs'])
        .where('first_seq', '>=', lowest)
        .where('first_seq', '<', below)
        .orderBy('first_seq', direction)
        .limit(BLOCKS_PER_READ)
      if (next !== undefined) blocks = blocks.where('first_seq', descending ? '<' : '>', next)
      const read = await blocks.execute()
      if (read.length === 0) break
      next = Number(read[read.length - 1]!.first_seq)
      // Sorted and each seq once, even if blocks overlapped (a mark moved back by hand).
      const wanted = new Set<number>()
      for (const block of read) {
        for (const seq of decodeSeqs(block.seqs)) if (seq > above && seq < below) wanted.add(seq)
      }
      const candidates = [...wanted].sort((a, b) => (descending ? b - a : a - b))
      // What this read names is past what earlier reads did: the page goes on from there.
      if (candidates.length > 0) {
        if (descending) below = candidates[candidates.length - 1]!
        else above = candidates[candidates.length - 1]!
      }
      for (let i = 0; i < candidates.length && found.length < rows; ) {
        // Fetched by seq with no ORDER BY or LIMIT, which could make PostgreSQL walk the chain in
        // order instead of looking each seq up; sorted here.
        const chunk = candidates.slice(i, i + Math.min(EVENTS_PER_READ, rows - found.length + 16))
        i += chunk.length
        let q = db
          .selectFrom('audit_events as e')
          .selectAll('e')
          .where('e.instance_id', '=', instanceId)
          .where('e.seq', 'in', chunk)
        for (const [column, op, value] of eventConditions(query))
          q = q.where(sql.ref(`e.${column}`), op, value)
        const events = (await q.execute()).sort((a, b) =>
          descending ? Number(b.seq) - Number(a.seq) : Number(a.seq) - Number(b.seq),
        )
        found.push(...events.slice(0, rows - found.length))
      }
      if (read.length < BLOCKS_PER_READ) break
    }
    return found
  }
  const tail = async (rows: number) => {
    let q = db
      .selectFrom('audit_events as e')
      .selectAll('e')
      .where('e.instance_id', '=', instanceId)
      .where('e.seq', '>', mark)
      .orderBy('e.seq', direction)
      .limit(rows)
    if (cursor !== undefined) q = q.where('e.seq', descending ? '<' : '>', cursor)
    if (query.afterSeq !== undefined) q = q.where('e.seq', '>', query.afterSeq)
    for (const [column, op, value] of eventConditions(query)) q = q.where(sql.ref(`e.${column}`), op, value)
    return q.execute()
  }

  // Every seq of the tail is above every seq of the indexed part: one follows the other.
  const [first, second] = descending ? [tail, indexed] : [indexed, tail]
  let rows: AuditEventTable[] = await first(limit + 1)
  if (rows.length <= limit) rows = rows.concat(await second(limit + 1 - rows.length))
  return toPage(rows, limit, (r) => Number(r.seq), rowToEvent)
}

/** The filters on an event's own columns, besides its seq. */
function eventConditions(
  query: AuditQuery,
): [column: keyof AuditEventTable, op: '=' | '>=' | '<', value: string | number][] {
  const conditions: [keyof AuditEventTable, '=' | '>=' | '<', string | number][] = []
  if (query.from !== undefined) conditions.push(['time', '>=', query.from])
  if (query.to !== undefined) conditions.push(['time', '<', query.to])
  if (query.actorId !== undefined) conditions.push(['actor_id', '=', query.actorId])
  if (query.action !== undefined) conditions.push(['action', '=', query.action])
  if (query.resourceType !== undefined) conditions.push(['resource_type', '=', query.resourceType])
  if (query.resourceId !== undefined) conditions.push(['resource_id', '=', query.resourceId])
  if (query.outcome !== undefined) conditions.push(['outcome', '=', query.outcome])
  return conditions
}

/**
 * The chain walked by its primary key in seq order, every filter checked on each event: what
 * `queryAuditEvents` runs when neither an actor nor a resource is asked for.
 */
export async function scanAuditEvents(
  db: Kysely<Database>,
  instanceId: string,
  query: AuditQuery,
): Promise<Page<AuditEvent>> {
  const limit = query.maxResults ?? 100
  const descending = query.order === 'desc'
  const cursor = decodeCursor(query.nextToken, 'number')
  let q = db
    .selectFrom('audit_events')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .orderBy('seq', descending ? 'desc' : 'asc')
    .limit(limit + 1)
  if (cursor !== undefined) q = q.where('seq', descending ? '<' : '>', cursor)
  if (query.afterSeq !== undefined) q = q.where('seq', '>', query.afterSeq)
  if (query.from !== undefined) q = q.where('time', '>=', query.from)
  if (query.to !== undefined) q = q.where('time', '<', query.to)
  if (query.actorId !== undefined) q = q.where('actor_id', '=', query.actorId)
  if (query.action !== undefined) q = q.where('action', '=', query.action)
  if (query.resourceType !== undefined) q = q.where('resource_type', '=', query.resourceType)
  if (query.resourceId !== undefined) q = q.where('resource_id', '=', query.resourceId)
  if (query.outcome !== undefined) q = q.where('outcome', '=', query.outcome)
  return toPage(await q.execute(), limit, (r) => Number(r.seq), rowToEvent)
}
