import { type Static, Type } from '@sinclair/typebox'
import { EpochMillis, PageQuery } from './common.js'

const closed = { additionalProperties: false } as const

export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number]
const Outcome = Type.Union(AUDIT_OUTCOMES.map((o) => Type.Literal(o)))
const NullableString = Type.Union([Type.String(), Type.Null()])

export const AuditEvent = Type.Object({
  instanceId: Type.String(),
  seq: Type.Integer({ minimum: 1 }),
  time: EpochMillis,
  actorType: Type.String(),
  actorId: Type.String(),
  action: Type.String(),
  resourceType: NullableString,
  resourceId: NullableString,
  outcome: Outcome,
  reason: NullableString,
  requestId: NullableString,
  sourceIp: NullableString,
  userAgent: NullableString,
  details: Type.Record(
    Type.String(),
    Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]),
  ),
  prevHash: Type.String(),
  hash: Type.String(),
})
export type AuditEvent = Static<typeof AuditEvent>

export const AuditQuery = Type.Object(
  {
    nextToken: PageQuery.nextToken,
    maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    from: Type.Optional(EpochMillis),
    to: Type.Optional(EpochMillis),
    afterSeq: Type.Optional(Type.Integer({ minimum: 0 })),
    actorId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    resourceType: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    resourceId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    outcome: Type.Optional(Outcome),
    /** `desc` serves the newest first (for `audit tail`); `asc`, the default, oldest first. */
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  },
  closed,
)
export type AuditQuery = Static<typeof AuditQuery>
export const AuditEventPage = Type.Object({
  entities: Type.Array(AuditEvent),
  nextToken: Type.Union([Type.String(), Type.Null()]),
  maxResults: Type.Integer(),
})
export type AuditEventPage = Static<typeof AuditEventPage>

export const AuditVerifyResult = Type.Object({
  instanceId: Type.String(),
  ok: Type.Boolean(),
  checked: Type.Integer({ description: 'events whose hash was recomputed' }),
  headSeq: Type.Integer(),
  headHash: Type.String(),
  firstBrokenSeq: Type.Union([Type.Integer(), Type.Null()]),
  problem: Type.Union([Type.String(), Type.Null()]),
  /**
   * Where verification started when older events were archived (`strongroom audit archive`): the
   * last archived event's sequence number and hash, which the first remaining event links to.
   * Null (or absent, from an older server) when the chain is whole from its first event.
   */
  anchor: Type.Optional(
    Type.Union([
      Type.Object({ seq: Type.Integer({ minimum: 1 }), hash: Type.String(), file: Type.String() }),
      Type.Null(),
    ]),
  ),
})
export type AuditVerifyResult = Static<typeof AuditVerifyResult>
