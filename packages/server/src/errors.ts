import type { ErrorCode } from '@strongroom/protocol'

export interface PamErrorOptions {
  cause?: unknown
  /** The request field the error is about, as a JSON pointer-ish dotted path (`value.apiKey`). */
  field?: string
  /** The rule the field broke, in a few words (`must be at most 128 characters`). */
  rule?: string
  /** Seconds the caller should wait (rate limiting). */
  retryAfterSeconds?: number
  /** The RFC 6749 §5.2 `error` code, where the OAuth code is more precise than the status class. */
  oauthError?: string
}

/**
 * Base of every domain error the server throws. Services throw these; exactly one error handler
 * (http/error-handler.ts) turns them into status, body and headers. Messages never hold a secret.
 */
export class PamError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly field: string | undefined
  readonly rule: string | undefined
  readonly retryAfterSeconds: number | undefined
  readonly oauthError: string | undefined

  constructor(code: ErrorCode, status: number, message: string, options: PamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.status = status
    this.field = options.field
    this.rule = options.rule
    this.retryAfterSeconds = options.retryAfterSeconds
    this.oauthError = options.oauthError
  }
}

export class InvalidParameter extends PamError {
  constructor(
    field: string,
    rule: string,
    code: ErrorCode = 'InvalidParameter',
    message = `${field} ${rule}`,
  ) {
    super(code, 400, message, { field, rule })
  }
}

export class InvalidToken extends PamError {
  constructor(message = 'the bearer token is missing, malformed, expired or revoked') {
    super('InvalidToken', 401, message)
  }
}

export class Forbidden extends PamError {
  constructor(message: string) {
    super('Forbidden', 403, message)
  }
}

export class NotFound extends PamError {
  constructor(code: ErrorCode, message: string) {
    super(code, 404, message)
  }
}

export class Conflict extends PamError {
  constructor(code: ErrorCode, message: string, field?: string) {
    super(code, 409, message, field === undefined ? {} : { field })
  }
}

/** The record was found but its ciphertext does not decrypt under its own binding: tampering or a swap. */
export class IntegrityError extends PamError {
  constructor(message: string, cause?: unknown) {
    super('IntegrityError', 500, message, { cause })
  }
}

/** The audit event could not be made durable, so the operation was refused (fail closed). */
export class AuditUnavailable extends PamError {
  constructor(cause?: unknown) {
    super('AuditUnavailable', 503, 'the audit event could not be recorded, so the operation was refused', {
      cause,
    })
  }
}

export class ServiceUnavailable extends PamError {
  constructor(message: string, cause?: unknown) {
    super('ServiceUnavailable', 503, message, { cause })
  }
}

/** A mistake in how the server is configured or started: reported as one clear line at start-up. */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ConfigError'
  }
}

/** An error of the OAuth endpoints (RFC 6749 §5.2), with its standard `error` code. */
export class OAuthError extends PamError {
  constructor(oauthError: string, code: ErrorCode, message: string, status = 400) {
    super(code, status, message, { oauthError })
  }
}
