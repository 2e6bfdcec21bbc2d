import { type Static, Type } from '@sinclair/typebox'
import { AdminTokenId } from './admin-tokens.js'
import { ApplicationId } from './applications.js'
import { EpochMillis, Status } from './common.js'
import { GRANT_ACTIONS, GrantId } from './grants.js'
import { InstanceId } from './instances.js'

const closed = { additionalProperties: false } as const

/** `POST /console/session`: an admin token, exchanged for a console session cookie. */
export const ConsoleSignInBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 256, description: 'an admin token (srat_…)' }) },
  closed,
)
export type ConsoleSignInBody = Static<typeof ConsoleSignInBody>

/**
 * `POST /console/session` (201) and `GET /console/session` (200): the session the cookie names.
 * The session's secret is only in the `HttpOnly` cookie; `csrfToken` goes in the `X-CSRF-Token`
 * header of every admin API call the console makes with that cookie.
 */
export const ConsoleSession = Type.Object({
  csrfToken: Type.String(),
  /** When the session ends whatever happens (at most 8 hours after sign-in). */
  expiresAt: EpochMillis,
  /** When the session ends unless it is used before (30 minutes after its last use). */
  idleExpiresAt: EpochMillis,
  adminTokenId: AdminTokenId,
  adminTokenName: Type.String(),
  /** The only instance the admin token may administer; null for an operator token. */
  instanceScope: Type.Union([InstanceId, Type.Null()]),
})
export type ConsoleSession = Static<typeof ConsoleSession>

/** A grant through which an application may obtain a resource. */
export const ReaderGrant = Type.Object({
  grantId: GrantId,
  resourceMatch: Type.Union([Type.Literal('exact'), Type.Literal('prefix')]),
  resource: Type.String(),
  actions: Type.Array(Type.Union(GRANT_ACTIONS.map((a) => Type.Literal(a)))),
})
export type ReaderGrant = Static<typeof ReaderGrant>

/** An application whose grants let it obtain the resource, with those grants. */
export const Reader = Type.Object({
  applicationId: ApplicationId,
  applicationName: Type.String(),
  clientId: Type.String(),
  /** A disabled application holds the grants but cannot authenticate until it is enabled again. */
  applicationStatus: Status,
  grants: Type.Array(ReaderGrant),
})
export type Reader = Static<typeof Reader>

/**
 * `GET /admin/v1/instances/{i}/credentials/{c}/readers` (and `/accounts/{a}/readers`): the
 * applications holding a grant with the `obtain` action that covers the resource, exactly or by
 * prefix. At most `MAX_READER_GRANTS` grants are considered; `truncated` says when there were more.
 */
export const Readers = Type.Object({
  resourceType: Type.Union([Type.Literal('credential'), Type.Literal('account')]),
  resourceId: Type.String(),
  /** The credential's identifier or the account's name: what prefix grants are matched against. */
  resourceName: Type.String(),
  readers: Type.Array(Reader),
  truncated: Type.Boolean(),
})
export type Readers = Static<typeof Readers>

/** How many matching grants a readers answer holds at most. */
export const MAX_READER_GRANTS = 1000
