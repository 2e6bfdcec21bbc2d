import type { AuditEvent, AuditQuery } from '@strongroom/protocol'
import { type Kysely, sql } from 'kysely'
import { decodeCursor, type Page, toPage } from '../store/pagination.js'
import type { AuditEventTable, Database } from '../store/schema.js'
import { rowToEvent } from './chain.js'
import { indexedSeq } from './key-index.js'

/**
 * Events of one chain in sequence order, filtered, by keyset on `seq`. Filtered by actor or by
 * resource, the events up to the key index's mark are found through `audit_event_keys`
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

  const indexed = async (rows: number) => {
    let q = db
      .selectFrom('audit_event_keys as k')
      .innerJoin('audit_events as e', (join) =>
        join.onRef('e.instance_id', '=', 'k.instance_id').onRef('e.seq', '=', 'k.seq'),
      )
      .selectAll('e')
      .where('k.instance_id', '=', instanceId)
      .where('k.kind', '=', key.kind)
      .where('k.key', '=', key.key)
      .where('k.seq', '<=', mark)
      .orderBy('k.seq', direction)
      .limit(rows)
    if (cursor !== undefined) q = q.where('k.seq', descending ? '<' : '>', cursor)
    if (query.afterSeq !== undefined) q = q.where('k.seq', '>', query.afterSeq)
    for (const [column, op, value] of eventConditions(query)) q = q.where(sql.ref(`e.${column}`), op, value)
    return q.execute()
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
