import { createHash } from 'node:crypto'
import type { AuditEvent } from '@strongroom/protocol'
import type { AuditEventTable } from '../store/schema.js'
import { canonicalJson } from './canonical-json.js'

export const GENESIS_HASH = '0'.repeat(64)

/** The pseudo-instance whose audit chain records events that belong to no instance (admin tokens, instances, failed logins). */
export const SYSTEM_CHAIN = 'system'

export type AuditDetails = Record<string, string | number | boolean | null>

/** The hashed content of an event: everything but the two hashes. */
export type ChainedFields = Omit<AuditEvent, 'prevHash' | 'hash'>

/**
 * hash = SHA-256(prevHash ‖ canonical JSON of the event), prevHash as its 32 raw bytes.
 * `detailsJson`, when the caller has it, is `canonicalJson(event.details)` (the appender stores it).
 */
export function eventHash(prevHash: string, event: ChainedFields, detailsJson?: string): string {
  return createHash('sha256')
    .update(Buffer.from(prevHash, 'hex'))
    .update(canonicalEventJson(event, detailsJson), 'utf8')
    .digest('hex')
}

/** The hashed fields of an event, in the table's column order. */
export const CHAINED_FIELDS = [
  'instanceId',
  'seq',
  'time',
  'actorType',
  'actorId',
  'action',
  'resourceType',
  'resourceId',
  'outcome',
  'reason',
  'requestId',
  'sourceIp',
  'userAgent',
  'details',
] as const satisfies readonly (keyof ChainedFields)[]

/** The event's keys in canonical order (UTF-16 code units, as `canonicalJson` sorts them). */
const EVENT_KEYS = [...CHAINED_FIELDS].toSorted((a, b) => (a < b ? -1 : a > b ? 1 : 0))
const QUOTED_KEYS = EVENT_KEYS.map((k) => JSON.stringify(k))

/**
 * Exactly `canonicalJson(event)`, without sorting the keys of every event again: every event is
 * hashed when appended (once per audited request) and when verified. An object with any other
 * set of keys takes the general path.
 */
export function canonicalEventJson(event: ChainedFields, detailsJson?: string): string {
  if (Object.keys(event).length !== EVENT_KEYS.length) return canonicalJson(event)
  let out = '{'
  for (let i = 0; i < EVENT_KEYS.length; i++) {
    const key = EVENT_KEYS[i]!
    if (!Object.hasOwn(event, key)) return canonicalJson(event)
    const value = event[key]
    if (value === undefined) continue
    const json = key === 'details' && detailsJson !== undefined ? detailsJson : canonicalJson(value)
    out += `${out.length > 1 ? ',' : ''}${QUOTED_KEYS[i]}:${json}`
  }
  return `${out}}`
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
