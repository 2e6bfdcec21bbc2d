import { createHash } from 'node:crypto'
import type { AuditEvent } from '@strongroom/protocol'
import type { AuditEventTable } from '../store/schema.js'
import { canonicalJson } from './canonical-json.js'

export const GENESIS_HASH = '0'.repeat(64)

export type AuditDetails = Record<string, string | number | boolean | null>

/** The hashed content of an event: everything but the two hashes. */
export type ChainedFields = Omit<AuditEvent, 'prevHash' | 'hash'>

/** hash = SHA-256(prevHash ‖ canonical JSON of the event), prevHash as its 32 raw bytes. */
export function eventHash(prevHash: string, event: ChainedFields): string {
  return createHash('sha256')
    .update(Buffer.from(prevHash, 'hex'))
    .update(canonicalJson(event), 'utf8')
    .digest('hex')
}

export function rowToEvent(row: AuditEventTable): AuditEvent {
  return {
    instanceId: row.instance_id,
    seq: Number(row.seq),
    time: Number(row.time),
    actorType: row.actor_type,
    actorId: row.actor_id,
    action: row.action,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    outcome: row.outcome as AuditEvent['outcome'],
    reason: row.reason,
    requestId: row.request_id,
    sourceIp: row.source_ip,
    userAgent: row.user_agent,
    details: JSON.parse(row.details) as AuditDetails,
    prevHash: row.prev_hash,
    hash: row.hash,
  }
}

export function chainedFields(event: AuditEvent): ChainedFields {
  const { prevHash: _p, hash: _h, ...fields } = event
  return fields
}
