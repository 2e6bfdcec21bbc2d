import { type Static, Type } from '@sinclair/typebox'
import { PROOF_REFUSALS } from '@strongroom/dpop'

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
  'UpstreamUnavailable',
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
