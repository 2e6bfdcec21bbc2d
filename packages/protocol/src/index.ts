export * from './accounts.js'
export * from './admin.js'
export * from './cloud-accounts.js'
export { Description, Empty, EpochMillis, Name, PageQuery, page, resourceId } from './common.js'
export type { ErrorCode, ErrorCodeWithStatus, ErrorHttpStatus, ErrorStatus } from './errors.js'
export { ERROR_CODES, ERROR_STATUS, ErrorBody } from './errors.js'
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
export * from './oauth.js'
export * from './pam.js'
export * from './providers.js'
export * from './scoped-tokens.js'
