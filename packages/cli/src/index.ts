export {
  AdminClient,
  type AdminClientOptions,
  type Page,
  type PageOptions,
  type Query,
} from './admin-client.js'
export {
  ADMIN_TOKEN_FILE,
  resolveAdminConnection,
  resolveAdminToken,
  resolveInstanceOption,
  resolveServerUrl,
  URL_FILE,
} from './config.js'
export type { GlobalOptions, RunState } from './context.js'
export {
  buildCredentialValue,
  checkValueOptions,
  secretOf,
  type ValueExtras,
  type ValueOptions,
} from './credential-value.js'
export { ApiError, type ApiErrorDetails, CliError, type CliErrorCode, UsageError } from './errors.js'
export { formatError } from './format-error.js'
export { promptHidden } from './hidden-prompt.js'
export { type InputStream, type Io, type OutputStream, processIo } from './io.js'
export { parseActions, parsePositiveInteger, parseSeconds, parseTime } from './option-parsers.js'
export { Output, shouldColor } from './output.js'
export { buildProgram, type ProgramOptions, run, usageErrorLine } from './program.js'
export { readAll, readSecretInput, type SecretInput, stripOneTrailingNewline } from './read-secret.js'
export type { ServeFlags, ServerApi } from './server-api.js'
export { type Cell, type Column, cellText, formatRecord, formatTable, formatTimestamp } from './table.js'
export { version } from './version.js'
