/** Every condition the CLI reports, stable so tests and wrappers may switch on it. */
export type CliErrorCode =
  | 'ConfigMissing'
  | 'ConfigInvalid'
  | 'Usage'
  | 'InputInvalid'
  | 'InputUnreadable'
  | 'OutputUnwritable'
  | 'ConnectionRefused'
  | 'NetworkError'
  | 'Timeout'
  | 'HttpError'
  | 'InvalidResponse'
  | 'ApiError'
  | 'AuditChainBroken'
  | 'Interrupted'

/**
 * An error the CLI reports as one line on stderr. Messages never contain a token or a secret
 * value: they name where something came from, not what it was.
 */
export class CliError extends Error {
  override name = 'CliError'
  readonly code: CliErrorCode
  /** The process exit code: 1 for failures, 2 for usage errors, 130 when interrupted. */
  readonly exitCode: number

  constructor(code: CliErrorCode, message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.exitCode = options.exitCode ?? 1
  }
}

/** A mistake in the command line that commander could not catch itself; exits 2 like commander's own. */
export class UsageError extends CliError {
  override name = 'UsageError'

  constructor(message: string) {
    super('Usage', message, { exitCode: 2 })
  }
}

/** The body of a server error (`ErrorBody` in `@strongroom/protocol`), as much of it as the CLI shows. */
export interface ApiErrorDetails {
  status: number
  apiCode: string
  message: string
  requestId?: string | undefined
  field?: string | undefined
  rule?: string | undefined
}

/** An error answer from the admin API, carrying its `Code`, `RequestId` and validation details. */
export class ApiError extends CliError {
  override name = 'ApiError'
  readonly status: number
  readonly apiCode: string
  readonly requestId: string | undefined
  readonly field: string | undefined
  readonly rule: string | undefined

  constructor(details: ApiErrorDetails) {
    super('ApiError', details.message)
    this.status = details.status
    this.apiCode = details.apiCode
    this.requestId = details.requestId
    this.field = details.field
    this.rule = details.rule
  }
}
