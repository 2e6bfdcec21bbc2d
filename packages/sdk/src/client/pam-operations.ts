/** The developer API version the client speaks, sent as `x-acs-version` like the official client. */
export const PAM_API_VERSION = '2022-02-25'

export interface PamOperation {
  readonly method: 'GET' | 'POST'
  /** Below `{endpoint}/v2/{instanceId}/`. */
  readonly path: string
  /** Whether the call carries `Authorization: Bearer`. */
  readonly bearer: boolean
  /** Whether repeating the call is harmless, so a reset connection may be retried. */
  readonly idempotent: boolean
}

const TOKENS = 'authenticationTokens/_/actions'

/**
 * The eleven operations of docs/wire-contract.md ("Developer-API operations"), and
 * ObtainCloudAccountRoleAccessCredential ("Cloud credentials"), keyed by their `x-acs-action`.
 *
 * - Bearer: every call. The official clients send none on Validate and
 *   ObtainJwtByDerivedShortToken (the Python SDK's defect, docs/security-model.md); the server needs none there
 *   and ignores it, but a workload that has credentials identifies itself on every call.
 * - Idempotent: the reads, and revoke/reinstate (the server makes them idempotent). Not
 *   GenerateJwt: a repeat mints a second JWT. FetchOAuth is idempotent unless
 *   `forceAuthentication` asks for a new upstream token (decided per call). ObtainCloudAccountRoleAccessCredential
 *   is a read: the server hands out the STS credentials it holds until 15 minutes before they expire.
 */
export const PAM_OPERATIONS = {
  ObtainCredential: { method: 'GET', path: 'credentials/_/actions/obtain', bearer: true, idempotent: true },
  FetchOAuthAuthenticationToken: {
    method: 'POST',
    path: `${TOKENS}/fetchOAuthAccessToken`,
    bearer: true,
    idempotent: true,
  },
  GenerateJwtAuthenticationToken: {
    method: 'POST',
    path: `${TOKENS}/generateJwt`,
    bearer: true,
    idempotent: false,
  },
  ObtainJwtAuthenticationToken: {
    method: 'POST',
    path: `${TOKENS}/obtainJwt`,
    bearer: true,
    idempotent: true,
  },
  ObtainJwtAuthenticationTokenByDerivedShortToken: {
    method: 'POST',
    path: `${TOKENS}/obtainJwtByDerivedShortToken`,
    bearer: true,
    idempotent: true,
  },
  ListAuthenticationTokens: { method: 'GET', path: 'authenticationTokens', bearer: true, idempotent: true },
  ValidateAuthenticationToken: {
    method: 'POST',
    path: `${TOKENS}/validate`,
    bearer: true,
    idempotent: true,
  },
  RevokeAuthenticationToken: { method: 'POST', path: `${TOKENS}/revoke`, bearer: true, idempotent: true },
  RevokeAuthenticationTokenByConsumer: {
    method: 'POST',
    path: `${TOKENS}/revokeByConsumer`,
    bearer: true,
    idempotent: true,
  },
  ReinstateAuthenticationToken: {
    method: 'POST',
    path: `${TOKENS}/reinstate`,
    bearer: true,
    idempotent: true,
  },
  ReinstateAuthenticationTokenByConsumer: {
    method: 'POST',
    path: `${TOKENS}/reinstateByConsumer`,
    bearer: true,
    idempotent: true,
  },
  ObtainCloudAccountRoleAccessCredential: {
    method: 'GET',
    path: 'cloudAccountRoles/_/actions/obtainAccessCredential',
    bearer: true,
    idempotent: true,
  },
} as const satisfies Record<string, PamOperation>

/** An operation's `x-acs-action`, e.g. `ObtainCredential`. */
export type PamAction = keyof typeof PAM_OPERATIONS
