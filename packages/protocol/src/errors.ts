import { type Static, Type } from '@sinclair/typebox'
import {
  PROOF_REFUSALS,
  type ProofRefusal,
  type ProofRefusalOAuthError,
  proofRefusalOAuthError,
} from '@strongroom/dpop'

/**
 * Every error `Code` the server answers with. Stable: callers may `switch` on them.
 * UpperCamelCase, with a dotted suffix where a family has members (docs/wire-contract.md, "Errors").
 */
export const ERROR_CODES = [
  'InvalidParameter',
  'InvalidParameter.Body',
  'InvalidParameter.Encoding',
  'InvalidParameter.ContentType',
  'InvalidToken',
  'InvalidClient',
  'InvalidGrant',
  'InvalidScope',
  'UnsupportedGrantType',
  'UnsupportedClientAuthMethod',
  // Revocation (RFC 7009 §2.2.1): a token_type_hint naming no token type. Formerly `InvalidParameter`
  // with the `error` unsupported_token_type; a code decides its `error` now (ERROR_STATUS).
  'UnsupportedTokenType',
  'AuthorizationServerNotFound',
  'Forbidden',
  'InsufficientScope',
  'PermissionDenied',
  'NotFound',
  'RouteNotFound',
  'InstanceNotFound',
  'AdminTokenNotFound',
  'ApplicationNotFound',
  'ClientSecretNotFound',
  'CredentialNotFound',
  'CredentialVersionNotFound',
  'GrantNotFound',
  'CredentialProviderNotFound',
  'AuthenticationTokenNotFound',
  'Conflict',
  'CredentialIdentifierExists',
  'ApplicationDisabled',
  'CredentialDisabled',
  'CredentialProviderDisabled',
  'CredentialProviderIdentifierExists',
  'CredentialProviderTypeMismatch',
  'AuthenticationTokenRevoked',
  'AuthenticationTokenExpired',
  'InvalidParameter.Issuer',
  'InvalidParameter.Audiences',
  'InvalidParameter.Expiration',
  'InvalidParameter.CustomClaims',
  'InvalidParameter.Scope',
  'DerivedShortTokenNotAllowed',
  'UpstreamError',
  // A provider's upstream token endpoint could not be reached (502).
  'UpstreamUnavailable',
  // A provider's upstream token endpoint gave no answer in time (504). Formerly `UpstreamUnavailable`
  // answered 504; one code has one status now (ERROR_STATUS).
  'UpstreamTimeout',
  'ReasonRequired',
  'AccountNotFound',
  'AccountDisabled',
  'AccountNameExists',
  'PasswordNotSet',
  'SshKeyNotSet',
  'SshKeyNotSupported',
  'InvalidParameter.SshKey',
  'CloudAccountNotFound',
  'CloudAccountNameExists',
  'CloudAccountDisabled',
  'CloudAccountRoleNotFound',
  'CloudAccountRoleExists',
  'CloudAccountRoleDisabled',
  'InvalidParameter.RoleExternalId',
  'InvalidParameter.DurationSeconds',
  // STS answered with a refusal (a bad key, a role the key may not assume): the vendor's code is in the message.
  'StsRefused',
  // STS throttled the call: retry after Retry-After.
  'StsThrottled',
  // STS did not answer in time.
  'StsTimeout',
  // STS could not be reached, or answered something that is not an STS answer.
  'StsUnavailable',
  'SessionNotFound',
  'SessionExpired',
  'SessionRevoked',
  // A console session's request without its X-CSRF-Token, with a wrong one, or from another origin (403).
  'CsrfRejected',
  // The DPoP proof refusals: listed once, beside the checks that give them.
  ...PROOF_REFUSALS,
  'IntegrityError',
  'PayloadTooLarge',
  'UriTooLong',
  'HeadersTooLarge',
  'RequestTimeout',
  'Throttling.User',
  'AuditUnavailable',
  'ServiceUnavailable',
  'InternalError',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

/** The statuses an error is answered with: a status outside this list is a deliberate addition. */
export type ErrorHttpStatus =
  | 400
  | 401
  | 403
  | 404
  | 408
  | 409
  | 413
  | 414
  | 415
  | 429
  | 431
  | 500
  | 502
  | 503
  | 504

/**
 * How the server answers one error `Code`: see {@link ERROR_STATUS}.
 */
export interface ErrorStatus {
  /** The HTTP status, on every route but where `atOAuthEndpoint` says otherwise. */
  readonly status: ErrorHttpStatus
  /**
   * The body's `error`: the OAuth code for the condition where a standard has one (RFC 6749 §5.2,
   * RFC 6750 §3.1, RFC 7009 §2.2.1, RFC 9449 §7.1). Absent where none applies (a 404, a 409): the
   * `error` then repeats the `Code`.
   */
  readonly oauthError?: string
  /**
   * The answer of the OAuth endpoints (token, introspection, revocation) where it differs: RFC 6749
   * §5.2 answers every refused request 400 with its `error`, and only a failed client
   * authentication 401. Only the endpoints' own refusals take it; a request the framework refuses
   * before the endpoint runs is answered as anywhere.
   */
  readonly atOAuthEndpoint?: { readonly status: 400 | 401; readonly oauthError?: string }
}

/**
 * The `Proof*` entries: 401 at a resource, 400 at the token endpoint (see {@link ERROR_STATUS}),
 * each with dpop's own `error` (`invalid_dpop_proof`, `use_dpop_nonce`, or `invalid_token` for a
 * proof by another key than the token's, RFC 9449 §7.1).
 */
const PROOF_REFUSAL_STATUS = Object.fromEntries(
  PROOF_REFUSALS.map((reason) => [
    reason,
    { status: 401, oauthError: proofRefusalOAuthError(reason), atOAuthEndpoint: { status: 400 } },
  ]),
) as {
  readonly [R in ProofRefusal]: {
    readonly status: 401
    readonly oauthError: ProofRefusalOAuthError
    readonly atOAuthEndpoint: { readonly status: 400 }
  }
}

/** The table of {@link ERROR_STATUS}, typed by its literals so that `ErrorCodeWithStatus` can read them. */
const STATUS_OF_CODE = {
  InvalidParameter: { status: 400, oauthError: 'invalid_request' },
  'InvalidParameter.Body': { status: 400, oauthError: 'invalid_request' },
  'InvalidParameter.Encoding': { status: 400, oauthError: 'invalid_request' },
  'InvalidParameter.ContentType': {
    status: 415,
    oauthError: 'invalid_request',
    atOAuthEndpoint: { status: 400 },
  },
  InvalidToken: { status: 401, oauthError: 'invalid_token' },
  InvalidClient: { status: 401, oauthError: 'invalid_client' },
  InvalidGrant: { status: 400, oauthError: 'invalid_grant' },
  InvalidScope: { status: 400, oauthError: 'invalid_scope' },
  UnsupportedGrantType: { status: 400, oauthError: 'unsupported_grant_type' },
  // Not a registered OAuth code: strongroom's, for an assertion type it does not implement.
  UnsupportedClientAuthMethod: { status: 400, oauthError: 'unsupported_client_auth_method' },
  UnsupportedTokenType: { status: 400, oauthError: 'unsupported_token_type' },
  AuthorizationServerNotFound: { status: 404 },
  Forbidden: {
    status: 403,
    oauthError: 'insufficient_scope',
    atOAuthEndpoint: { status: 400, oauthError: 'unauthorized_client' },
  },
  InsufficientScope: { status: 403, oauthError: 'insufficient_scope' },
  PermissionDenied: { status: 403, oauthError: 'insufficient_scope' },
  NotFound: { status: 404 },
  RouteNotFound: { status: 404 },
  InstanceNotFound: { status: 404 },
  AdminTokenNotFound: { status: 404 },
  ApplicationNotFound: { status: 404 },
  ClientSecretNotFound: { status: 404 },
  CredentialNotFound: { status: 404 },
  CredentialVersionNotFound: { status: 404 },
  GrantNotFound: { status: 404 },
  CredentialProviderNotFound: { status: 404 },
  AuthenticationTokenNotFound: { status: 404 },
  Conflict: { status: 409 },
  CredentialIdentifierExists: { status: 409 },
  ApplicationDisabled: { status: 403, oauthError: 'insufficient_scope' },
  CredentialDisabled: { status: 403, oauthError: 'insufficient_scope' },
  CredentialProviderDisabled: { status: 403, oauthError: 'insufficient_scope' },
  CredentialProviderIdentifierExists: { status: 409 },
  CredentialProviderTypeMismatch: { status: 400, oauthError: 'invalid_request' },
  AuthenticationTokenRevoked: { status: 403, oauthError: 'insufficient_scope' },
  AuthenticationTokenExpired: { status: 403, oauthError: 'insufficient_scope' },
  'InvalidParameter.Issuer': { status: 400, oauthError: 'invalid_request' },
  'InvalidParameter.Audiences': { status: 400, oauthError: 'invalid_request' },
  'InvalidParameter.Expiration': { status: 400, oauthError: 'invalid_request' },
  'InvalidParameter.CustomClaims': { status: 400, oauthError: 'invalid_request' },
  'InvalidParameter.Scope': { status: 400, oauthError: 'invalid_request' },
  DerivedShortTokenNotAllowed: { status: 400, oauthError: 'invalid_request' },
  UpstreamError: { status: 502, oauthError: 'server_error' },
  UpstreamUnavailable: { status: 502, oauthError: 'server_error' },
  UpstreamTimeout: { status: 504, oauthError: 'server_error' },
  ReasonRequired: { status: 400, oauthError: 'invalid_request' },
  AccountNotFound: { status: 404 },
  AccountDisabled: { status: 403, oauthError: 'insufficient_scope' },
  AccountNameExists: { status: 409 },
  PasswordNotSet: { status: 404 },
  SshKeyNotSet: { status: 404 },
  SshKeyNotSupported: { status: 409 },
  'InvalidParameter.SshKey': { status: 400, oauthError: 'invalid_request' },
  CloudAccountNotFound: { status: 404 },
  CloudAccountNameExists: { status: 409 },
  CloudAccountDisabled: { status: 403, oauthError: 'insufficient_scope' },
  CloudAccountRoleNotFound: { status: 404 },
  CloudAccountRoleExists: { status: 409 },
  CloudAccountRoleDisabled: { status: 403, oauthError: 'insufficient_scope' },
  'InvalidParameter.RoleExternalId': { status: 400, oauthError: 'invalid_request' },
  'InvalidParameter.DurationSeconds': { status: 400, oauthError: 'invalid_request' },
  StsRefused: { status: 502, oauthError: 'server_error' },
  StsThrottled: { status: 503, oauthError: 'temporarily_unavailable' },
  StsTimeout: { status: 504, oauthError: 'server_error' },
  StsUnavailable: { status: 502, oauthError: 'server_error' },
  SessionNotFound: { status: 401, oauthError: 'invalid_token' },
  SessionExpired: { status: 401, oauthError: 'invalid_token' },
  SessionRevoked: { status: 401, oauthError: 'invalid_token' },
  CsrfRejected: { status: 403, oauthError: 'insufficient_scope' },
  ...PROOF_REFUSAL_STATUS,
  IntegrityError: { status: 500, oauthError: 'server_error' },
  PayloadTooLarge: { status: 413, oauthError: 'invalid_request' },
  UriTooLong: { status: 414, oauthError: 'invalid_request' },
  HeadersTooLarge: { status: 431, oauthError: 'invalid_request' },
  RequestTimeout: { status: 408 },
  'Throttling.User': { status: 429, oauthError: 'slow_down' },
  AuditUnavailable: { status: 503, oauthError: 'temporarily_unavailable' },
  ServiceUnavailable: { status: 503, oauthError: 'temporarily_unavailable' },
  InternalError: { status: 500, oauthError: 'server_error' },
} as const satisfies { readonly [C in ErrorCode]: ErrorStatus }

/**
 * Each error `Code`'s HTTP status and OAuth `error`. Services throw a code; the server's error
 * handler (`packages/server/src/http/error-handler.ts`) answers with what this table says. A code
 * without an entry does not compile: a status is chosen here, never where the error is thrown.
 *
 * One code, one status, and one rule for a surface: the OAuth endpoints (token, introspection,
 * revocation) answer a code that has an `atOAuthEndpoint` entry with that one (RFC 6749 §5.2); the
 * error handler knows when it answers them. The codes that were thrown with two statuses:
 * - a refused DPoP proof (`Proof*`): 401 with a `DPoP` challenge at a resource (RFC 9449 §7.1), 400
 *   at the token endpoint (§5) by the surface rule. The condition and its code are the same on both
 *   (the SDK reads the code as the refusal's `reason`), so one code. The token endpoint checks no
 *   proof today; the rule is what it answers when it does;
 * - `InvalidParameter.ContentType`: 415, and 400 at the OAuth endpoints by the surface rule (the
 *   token endpoint refuses a JSON or text body as `invalid_request`). The same condition, one code;
 * - `Forbidden`: 403 `insufficient_scope`, and at the revocation endpoint, by the surface rule, 400
 *   `unauthorized_client` (a client revoking another client's token, RFC 7009 §2.1);
 * - a provider's upstream token endpoint: `UpstreamUnavailable` (502) when it cannot be reached,
 *   `UpstreamTimeout` (504, a new code) when it does not answer in time: two conditions, two codes;
 * - a revocation's unknown `token_type_hint`: `UnsupportedTokenType` (400 `unsupported_token_type`,
 *   a new code), since `InvalidParameter` stands for `invalid_request`.
 *
 * Every 403 says `insufficient_scope` and every refused token `invalid_token` (RFC 6750 §3.1); a
 * 5xx says `server_error`, or `temporarily_unavailable` for a 503 (RFC 6749 §4.1.2.1); a 429 says
 * `slow_down` (RFC 8628 §3.5), what OAuth clients back off on.
 */
export const ERROR_STATUS: { readonly [C in ErrorCode]: ErrorStatus } = STATUS_OF_CODE

/**
 * The codes the table answers with `status`, so that an error class named after a status takes
 * only its codes: `ErrorCodeWithStatus<404>` is `'NotFound' | 'CredentialNotFound' | …`.
 */
export type ErrorCodeWithStatus<S extends ErrorHttpStatus> = {
  [C in ErrorCode]: (typeof STATUS_OF_CODE)[C]['status'] extends S ? C : never
}[ErrorCode]

/**
 * The error body of every 4xx and 5xx: both key sets of docs/wire-contract.md, so the darabonba clients
 * (`Code`, `Message`, `RequestId`) and OAuth/Python clients (`error`, `error_description`,
 * `request_id`) both read it. `field` and `rule` are strongroom extensions for validation errors.
 */
export const ErrorBody = Type.Object({
  Code: Type.String(),
  Message: Type.String(),
  RequestId: Type.String(),
  error: Type.String(),
  error_description: Type.String(),
  request_id: Type.String(),
  field: Type.Optional(Type.String()),
  rule: Type.Optional(Type.String()),
})
export type ErrorBody = Static<typeof ErrorBody>
