// One file per aggregate, named as its service folder and its route file in the server
// (`credentials.ts`, `services/credentials/`, `http/routes/credential-routes.ts`); the scoped and
// session tokens of `services/bound-tokens/` are in `scoped-tokens.ts`.
export * from './accounts.js'
export * from './admin-tokens.js'
export * from './applications.js'
export * from './audit.js'
export * from './authentication-tokens.js'
export * from './cloud-accounts.js'
export {
  Description,
  Empty,
  EpochMillis,
  ExpiresIn,
  Health,
  ListQuery,
  Name,
  PageQuery,
  page,
  Reason,
  resourceId,
  Status,
} from './common.js'
export * from './console.js'
export * from './credentials.js'
export type { ErrorCode, ErrorCodeWithStatus, ErrorHttpStatus, ErrorStatus } from './errors.js'
export { ERROR_CODES, ERROR_STATUS, ErrorBody } from './errors.js'
export * from './grants.js'
export {
  hasEmptyOrDotSegment,
  IDENTIFIER_PATTERN,
  IDENTIFIER_PREFIX_PATTERN,
  IDENTIFIER_PREFIX_RULE,
  IDENTIFIER_RULE,
  Identifier,
  IdentifierPrefix,
  idOrIdentifier,
  isIdentifier,
  isIdentifierPrefix,
} from './identifiers.js'
export * from './instances.js'
export * from './oauth.js'
export * from './oci.js'
export * from './providers.js'
export * from './scoped-tokens.js'
export * from './signing-keys.js'
