export * from './admin.js'
export { Description, Empty, EpochMillis, Name, PageQuery, page, resourceId } from './common.js'
export type { ErrorCode } from './errors.js'
export { ERROR_CODES, ErrorBody } from './errors.js'
