import { ERROR_STATUS, type ErrorCode, type ErrorCodeWithStatus } from '@strongroom/protocol'

export interface PamErrorOptions {
  cause?: unknown
  /** The request field the error is about, as a JSON pointer-ish dotted path (`value.apiKey`). */
  field?: string
  /** The rule the field broke, in a few words (`must be at most 128 characters`). */
  rule?: string
  /** Seconds the caller should wait (rate limiting). */
  retryAfterSeconds?: number
}

/**
 * Base of every domain error the server throws. Services throw these; exactly one error handler
 * (http/error-handler.ts) turns them into status, body and headers. An error carries its code and
 * never a status: the status and the OAuth `error` are the code's, in `ERROR_STATUS` beside the
 * codes (`@strongroom/protocol`). Messages never hold a secret.
 */
export class PamError extends Error {
  readonly code: ErrorCode
  readonly field: string | undefined
  readonly rule: string | undefined
  readonly retryAfterSeconds: number | undefined

  constructor(code: ErrorCode, message: string, options: PamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.field = options.field
    this.rule = options.rule
    this.retryAfterSeconds = options.retryAfterSeconds
  }

  /**
   * The code's status at a resource, from `ERROR_STATUS`: for logs and tests. What is answered is
   * the error handler's to decide (the OAuth endpoints answer some codes otherwise); branch on the
   * code or with `isAuthenticationFailure`, never on this.
   */
  get status(): number {
    return ERROR_STATUS[this.code].status
  }

  /** The code's OAuth `error` (RFC 6749 §5.2, RFC 6750 §3.1, RFC 9449 §7.1), where one applies. */
  get oauthError(): string | undefined {
    return ERROR_STATUS[this.code].oauthError
  }
}

/**
 * Whether `err` refuses who the caller is: a token, a DPoP proof, a session or a client
 * authentication (the codes `ERROR_STATUS` answers 401). What the failure throttles count and the
 * authentication refusals audit.
 */
export function isAuthenticationFailure(err: unknown): err is PamError {
  return err instanceof PamError && ERROR_STATUS[err.code].status === 401
}

/**
 * Whether `err` refuses what an authenticated caller asked for: a scope, a grant, a disabled or
 * revoked resource (the codes `ERROR_STATUS` answers 403).
 */
export function isPermissionRefusal(err: unknown): err is PamError {
  return err instanceof PamError && ERROR_STATUS[err.code].status === 403
}

export class InvalidParameter extends PamError {
  constructor(
    field: string,
    rule: string,
    code: ErrorCodeWithStatus<400> = 'InvalidParameter',
    message = `${field} ${rule}`,
  ) {
    super(code, message, { field, rule })
  }
}

export class InvalidToken extends PamError {
  constructor(message = 'the bearer token is missing, malformed, expired or revoked') {
    super('InvalidToken', message)
  }
}

export class Forbidden extends PamError {
  constructor(message: string) {
    super('Forbidden', message)
  }
}

export class NotFound extends PamError {
  constructor(code: ErrorCodeWithStatus<404>, message: string) {
    super(code, message)
  }
}

export class Conflict extends PamError {
  constructor(code: ErrorCodeWithStatus<409>, message: string, field?: string) {
    super(code, message, field === undefined ? {} : { field })
  }
}

/** The record was found but its ciphertext does not decrypt under its own binding: tampering or a swap. */
export class IntegrityError extends PamError {
  constructor(message: string, cause?: unknown) {
    super('IntegrityError', message, { cause })
  }
}

/** The audit event could not be made durable, so the operation was refused (fail closed). */
export class AuditUnavailable extends PamError {
  constructor(cause?: unknown) {
    super('AuditUnavailable', 'the audit event could not be recorded, so the operation was refused', {
      cause,
    })
  }
}

export class ServiceUnavailable extends PamError {
  constructor(message: string, cause?: unknown) {
    super('ServiceUnavailable', message, { cause })
  }
}

/** A mistake in how the server is configured or started: reported as one clear line at start-up. */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ConfigError'
  }
}

/**
 * A refusal of the OAuth endpoints (RFC 6749 §5.2): its `error` is its code's (`invalid_request`
 * for `InvalidParameter`, `invalid_client` for `InvalidClient`…), and the token endpoint audits
 * it as a denied grant.
 */
export class OAuthError extends PamError {}

/** Characters of a request's own words an error message repeats at most. */
export const ECHO_MAX = 64

/**
 * A word of the request as an error message may repeat it: at most `ECHO_MAX` characters (then
 * `...`), and anything outside printable ASCII (controls, bidi overrides, any non-ASCII) as `?`.
 * An error is read by people and logs; it must not carry a 16 KiB scope, or text that reorders or
 * hides what is around it.
 */
export function echo(input: string): string {
  let out = ''
  let count = 0
  for (const ch of input) {
    if (count === ECHO_MAX) return `${out}...`
    const code = ch.codePointAt(0)!
    out += code >= 0x20 && code <= 0x7e ? ch : '?'
    count++
  }
  return out
}
