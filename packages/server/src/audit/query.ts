import type { AuditEvent, AuditQuery } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { decodeCursor, type Page, toPage } from '../store/pagination.js'
import type { Database } from '../store/schema.js'
import { rowToEvent } from './chain.js'

/** Events of one chain in sequence order, filtered, by keyset on `seq`. */
export async function queryAuditEvents(
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
