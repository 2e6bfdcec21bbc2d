import {
  AccountDisabledError,
  AccountNotFoundError,
  PasswordNotSetError,
  ReasonRequiredError,
  SshKeyNotSetError,
  SshKeyNotSupportedError,
} from '../account-errors.js'
import {
  ProofRejectedError,
  type ProofRejectionReason,
  SessionExpiredError,
  SessionNotFoundError,
  SessionRevokedError,
} from '../bound-token-errors.js'
import {
  CloudAccountDisabledError,
  CloudAccountRoleDisabledError,
  CloudAccountRoleNotFoundError,
} from '../cloud-errors.js'
import {
  AuthenticationError,
  ConfigurationError,
  ConnectionError,
  NotFoundError,
  type PamError,
  type PamErrorOptions,
  PermissionError,
  RateLimitError,
  ServerError,
  TimeoutError,
  ValidationError,
} from '../errors.js'
import { PROOF_ERROR_REASONS } from '../proof/proof-error.js'
import type { NetworkFailure } from './network-failure.js'

/**
 * The one place where HTTP outcomes become the SDK's errors. Messages carry the server's own
 * message, the method and the URL without its query (`POST https://pam.example/v2/…`), never a
 * request body, a query string or a header. The parsed error body is kept as the non-enumerable
 * `response`.
 */

/** What {@link errorFromResponse} reads from a non-2xx response. */
export interface ErrorResponse {
  readonly status: number
  readonly statusText: string
  readonly headers: Headers
  /** The response body as text ('' when empty). */
  readonly bodyText: string
  /** What the server asked us to wait, from `x-acs-retry-after` / `Retry-After`. */
  readonly retryAfterMs?: number | undefined
}

const MAX_SERVER_MESSAGE = 500

type ErrorClass = new (message: string, options: PamErrorOptions) => PamError

/**
 * The server `Code`s that have a class of their own, each a subclass of the class its status maps
 * to (so `instanceof NotFoundError` holds for an `AccountNotFoundError`).
 */
const CLASS_OF_SERVER_CODE: Readonly<Record<string, ErrorClass>> = {
  AccountNotFound: AccountNotFoundError,
  PasswordNotSet: PasswordNotSetError,
  SshKeyNotSet: SshKeyNotSetError,
  ReasonRequired: ReasonRequiredError,
  AccountDisabled: AccountDisabledError,
  SshKeyNotSupported: SshKeyNotSupportedError,
  SessionExpired: SessionExpiredError,
  SessionRevoked: SessionRevokedError,
  SessionNotFound: SessionNotFoundError,
  CloudAccountRoleNotFound: CloudAccountRoleNotFoundError,
  CloudAccountRoleDisabled: CloudAccountRoleDisabledError,
  CloudAccountDisabled: CloudAccountDisabledError,
}

function isProofRejection(code: string): code is ProofRejectionReason {
  return code.startsWith('Proof') && (PROOF_ERROR_REASONS as readonly string[]).includes(code)
}

/** The class of a 4xx by its server `Code`, when it has one of its own. */
function errorOfServerCode(
  serverCode: string | undefined,
  message: string,
  options: PamErrorOptions,
): PamError | undefined {
  if (serverCode === undefined) return undefined
  if (isProofRejection(serverCode)) return new ProofRejectedError(message, { ...options, reason: serverCode })
  const ErrorClass = Object.hasOwn(CLASS_OF_SERVER_CODE, serverCode)
    ? CLASS_OF_SERVER_CODE[serverCode]
    : undefined
  return ErrorClass === undefined ? undefined : new ErrorClass(message, options)
}

/** A request id as servers make them: printable ASCII without spaces, at most 128 characters. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/
/** Control characters and line separators: a server's message must not start a new log line. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

/**
 * Maps a non-2xx response to its error: 400/409/413/422 and other 4xx → `ValidationError` (with
 * `field`), 401 → `AuthenticationError`, 403 → `PermissionError`, 404/410 → `NotFoundError`,
 * 407 → `ConfigurationError` (the proxy wants credentials), 429 → `RateLimitError` (with
 * `retryAfterMs`), 5xx and anything else (an unexpected redirect) → `ServerError`. Every one has
 * `status`, `serverCode` (`Code`/`code`/`error`) and `requestId` (`RequestId`/`requestId`/
 * `request_id`, else the `x-request-id` / `x-acs-request-id` header) where the server sent them.
 * A 4xx whose `Code` names a condition of strongroom's own API becomes that condition's subclass
 * (`AccountNotFound` → `AccountNotFoundError`, `SessionExpired` → `SessionExpiredError`,
 * `ProofKeyMismatch` → `ProofRejectedError` with that `reason`, …).
 */
export function errorFromResponse(response: ErrorResponse, target: string): PamError {
  const body = parseObject(response.bodyText)
  const serverMessage = firstString(body, ['Message', 'message', 'error_description'])
  const options: PamErrorOptions = { status: response.status, response: body ?? response.bodyText }
  const serverCode = firstString(body, ['Code', 'code', 'error'])
  if (serverCode !== undefined) options.serverCode = serverCode
  const requestId =
    firstString(body, ['RequestId', 'requestId', 'request_id']) ??
    response.headers.get('x-request-id') ??
    response.headers.get('x-acs-request-id') ??
    undefined
  // Quoted in the message and logged: only what looks like an id (no newline to forge a log line).
  if (requestId && REQUEST_ID.test(requestId)) options.requestId = requestId
  const field = firstString(body, ['field', 'Field'])
  if (field !== undefined) options.field = field

  const status = response.status
  const fallback = `${target} answered ${status}${response.statusText ? ` ${response.statusText}` : ''}`
  const message =
    serverMessage === undefined
      ? fallback
      : serverMessage.slice(0, MAX_SERVER_MESSAGE).replace(CONTROL_CHARACTERS, ' ')
  const specific = status >= 400 && status < 500 ? errorOfServerCode(serverCode, message, options) : undefined
  if (specific !== undefined) return specific
  if (status === 401) return new AuthenticationError(message, options)
  if (status === 403) return new PermissionError(message, options)
  if (status === 404 || status === 410) return new NotFoundError(message, options)
  if (status === 407) return new ConfigurationError(`the proxy asks for credentials: ${message}`, options)
  if (status === 429) {
    return new RateLimitError(message, {
      ...options,
      ...(response.retryAfterMs === undefined ? {} : { retryAfterMs: response.retryAfterMs }),
    })
  }
  if (status >= 400 && status < 500) return new ValidationError(message, options)
  if (status >= 500) return new ServerError(message, options)
  return new ServerError(`${fallback} (redirects are not followed)`, options)
}

/** A 2xx whose body is not the JSON the SDK expects (e.g. a captive portal's HTML page). */
export function unexpectedBodyError(status: number, headers: Headers, target: string): PamError {
  const header = headers.get('x-request-id') ?? headers.get('x-acs-request-id')
  const requestId = header !== null && REQUEST_ID.test(header) ? header : null
  // No `cause`: JSON.parse's SyntaxError quotes the body, and a body may be a secret (a password
  // answered as text by a misrouted proxy would print under util.inspect of the error).
  return new ServerError(`${target} answered ${status} with a body that is not JSON`, {
    status,
    ...(requestId ? { requestId } : {}),
  })
}

/** A response body larger than the client accepts. */
export function oversizedBodyError(status: number, limit: number, target: string): PamError {
  return new ServerError(`${target} answered with a body over the limit of ${limit} bytes`, { status })
}

/** The server could not be reached, after `attempts` tries. */
export function connectionError(
  failure: NetworkFailure,
  target: string,
  attempts: number,
  cause: unknown,
): PamError {
  const tries = attempts > 1 ? ` after ${attempts} attempts` : ''
  const hint = failure.tls ? '; if the server uses a private CA, configure its CA bundle' : ''
  return new ConnectionError(`cannot reach ${target}: ${failure.description}${tries}${hint}`, { cause })
}

/** Which timeout fired, with its configured value. */
export function timeoutError(which: 'connect' | 'read', timeoutMs: number, target: string): PamError {
  const what =
    which === 'connect'
      ? 'no response from the server within the connect timeout'
      : 'the response was not complete within the read timeout'
  return new TimeoutError(`${target}: ${what} of ${timeoutMs} ms`)
}

function parseObject(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

function firstString(body: Record<string, unknown> | undefined, keys: readonly string[]): string | undefined {
  if (body === undefined) return undefined
  for (const key of keys) {
    const value = body[key]
    if (typeof value === 'string' && value !== '') return value
  }
  return undefined
}
