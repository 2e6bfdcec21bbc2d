/**
 * Every error the SDK raises is a `PamError` with a stable `code`, so callers can
 * `switch (err.code)`. Server errors keep the server's `Code` in `serverCode`, the HTTP `status`
 * and the `requestId` to quote to an operator. No message ever contains a secret or a token: the
 * raw response body, when kept, is a non-enumerable property (`response`), absent from
 * `JSON.stringify` and `util.inspect`.
 *
 * @example
 * ```ts
 * try {
 *   await pam.getApiKey('payments/stripe')
 * } catch (err) {
 *   if (err instanceof PamError && err.code === 'ERR_PAM_PERMISSION') console.error(err.requestId)
 *   throw err
 * }
 * ```
 */

/**
 * The stable codes of the SDK's errors, one per subclass. The subclasses named after a condition
 * (`AccountNotFoundError`, `SessionExpiredError`, …, in `account-errors.ts`,
 * `bound-token-errors.ts` and `cloud-errors.ts`) extend the class of their HTTP status, so
 * `instanceof NotFoundError` still holds for them.
 */
export type PamErrorCode =
  | 'ERR_PAM_AUTHENTICATION'
  | 'ERR_PAM_PERMISSION'
  | 'ERR_PAM_NOT_FOUND'
  | 'ERR_PAM_VALIDATION'
  | 'ERR_PAM_CONFIGURATION'
  | 'ERR_PAM_RATE_LIMITED'
  | 'ERR_PAM_SERVER'
  | 'ERR_PAM_CONNECTION'
  | 'ERR_PAM_TIMEOUT'
  | 'ERR_PAM_CREDENTIAL_PROVIDER'
  | 'ERR_PAM_CIRCUIT_OPEN'
  | 'ERR_PAM_ACCOUNT_NOT_FOUND'
  | 'ERR_PAM_PASSWORD_NOT_SET'
  | 'ERR_PAM_SSH_KEY_NOT_SET'
  | 'ERR_PAM_REASON_REQUIRED'
  | 'ERR_PAM_ACCOUNT_DISABLED'
  | 'ERR_PAM_SSH_KEY_NOT_SUPPORTED'
  | 'ERR_PAM_SESSION_EXPIRED'
  | 'ERR_PAM_SESSION_REVOKED'
  | 'ERR_PAM_SESSION_NOT_FOUND'
  | 'ERR_PAM_PROOF_REJECTED'
  | 'ERR_PAM_CLOUD_ACCOUNT_ROLE_NOT_FOUND'
  | 'ERR_PAM_CLOUD_ACCOUNT_ROLE_DISABLED'
  | 'ERR_PAM_CLOUD_ACCOUNT_DISABLED'

export interface PamErrorOptions {
  cause?: unknown
  /** HTTP status, when a server answered. */
  status?: number
  /** The server's request id (`RequestId` / `request_id` / `x-request-id`), when it sent one. */
  requestId?: string
  /** The server's own error code (`Code` or OAuth `error`), e.g. `CredentialNotFound`, `invalid_client`. */
  serverCode?: string
  /** The request field the server named, for validation errors. */
  field?: string
  /** The parsed error body, kept non-enumerable. */
  response?: unknown
}

export class PamError extends Error {
  readonly code: PamErrorCode
  readonly status: number | undefined
  readonly requestId: string | undefined
  readonly serverCode: string | undefined
  readonly field: string | undefined
  declare readonly response: unknown

  constructor(code: PamErrorCode, message: string, options: PamErrorOptions = {}) {
    super(
      options.requestId === undefined ? message : `${message} (request id ${options.requestId})`,
      options.cause === undefined ? undefined : { cause: options.cause },
    )
    this.name = new.target.name
    this.code = code
    this.status = options.status
    this.requestId = options.requestId
    this.serverCode = options.serverCode
    this.field = options.field
    Object.defineProperty(this, 'response', { value: options.response, enumerable: false })
  }
}

/** 401: the credentials or the access token were refused. */
export class AuthenticationError extends PamError {
  constructor(message: string, options?: PamErrorOptions) {
    super('ERR_PAM_AUTHENTICATION', message, options)
  }
}

/** 403: a missing scope or grant. */
export class PermissionError extends PamError {
  constructor(message: string, options?: PamErrorOptions) {
    super('ERR_PAM_PERMISSION', message, options)
  }
}

/** 404: no such credential, provider or token (or none this application may see). */
export class NotFoundError extends PamError {
  constructor(message: string, options?: PamErrorOptions) {
    super('ERR_PAM_NOT_FOUND', message, options)
  }
}

/** 400/409/413: the server refused a field; `field` names it where the server did. */
export class ValidationError extends PamError {
  constructor(message: string, options?: PamErrorOptions) {
    super('ERR_PAM_VALIDATION', message, options)
  }
}

/** The client configuration is missing, unreadable or wrong: names the file, the key and the rule. */
export class ConfigurationError extends PamError {
  constructor(message: string, options?: PamErrorOptions) {
    super('ERR_PAM_CONFIGURATION', message, options)
  }
}

/** 429, after the retries allowed; `retryAfterMs` is what the server asked for. */
export class RateLimitError extends PamError {
  readonly retryAfterMs: number | undefined
  constructor(message: string, options: PamErrorOptions & { retryAfterMs?: number } = {}) {
    super('ERR_PAM_RATE_LIMITED', message, options)
    this.retryAfterMs = options.retryAfterMs
  }
}

/** 5xx, after the retries allowed. */
export class ServerError extends PamError {
  constructor(message: string, options?: PamErrorOptions) {
    super('ERR_PAM_SERVER', message, options)
  }
}

/** The server could not be reached (DNS, refused, reset, TLS), after the retries allowed. */
export class ConnectionError extends PamError {
  constructor(message: string, options?: PamErrorOptions) {
    super('ERR_PAM_CONNECTION', message, options)
  }
}

/** No answer within the configured connect or read timeout. */
export class TimeoutError extends PamError {
  constructor(message: string, options?: PamErrorOptions) {
    super('ERR_PAM_TIMEOUT', message, options)
  }
}

/**
 * A credential provider could not produce a token. `notConfigured` tells a default chain to move
 * on to its next link; any other failure stops the chain.
 */
export class CredentialProviderError extends PamError {
  readonly notConfigured: boolean
  /** For a chain's failure: what each link tried and why it did not give a token. */
  readonly attempts: readonly { provider: string; reason: string }[]
  constructor(
    message: string,
    options: PamErrorOptions & {
      notConfigured?: boolean
      attempts?: readonly { provider: string; reason: string }[]
    } = {},
  ) {
    super('ERR_PAM_CREDENTIAL_PROVIDER', message, options)
    this.notConfigured = options.notConfigured ?? false
    this.attempts = options.attempts ?? []
  }
}

/** The circuit breaker is open after repeated failures: calls fail fast until it half-opens. */
export class CircuitOpenError extends PamError {
  constructor(message: string, options?: PamErrorOptions) {
    super('ERR_PAM_CIRCUIT_OPEN', message, options)
  }
}
