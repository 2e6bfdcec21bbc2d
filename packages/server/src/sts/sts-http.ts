import { randomUUID } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { PamError } from '../errors.js'
import { AnswerTooLarge, readCappedBody } from '../services/outbound-endpoint.js'
import type { AssumedRole } from './assume-role.js'

// The transport both STS clients share: one deadline for the whole call (retries included), at most
// `retries` more attempts for what is safe to repeat (the network failed, or STS answered 5xx /
// InternalError / ServiceUnavailable), each attempt built (and so signed, with a fresh nonce and
// timestamp) anew, capped exponential backoff with jitter. And the mapping of outcomes to PamErrors:
//   StsTimeout 504      the deadline passed;
//   StsUnavailable 502  STS could not be reached, or answered something that is not an STS answer;
//   StsRefused 502      STS refused the call (the key, the signature, the role, a parameter);
//   StsThrottled 503    STS throttled the call (retryAfterSeconds set).
// Messages name the endpoint's host and the vendor's error code, never a secret: the key's secret,
// the signature and the returned token are never put in a message, a cause or a property, and no
// answer body is kept (a malformed success answer may hold a secret).

/** What varies, injected so tests are deterministic. */
export interface StsRuntime {
  readonly fetch: typeof globalThis.fetch
  /** The clock that dates the signatures (epoch ms). */
  readonly now: () => number
  /** The whole call's deadline, retries included. */
  readonly timeoutMs: number
  /** Attempts after the first one, for failures that are safe to repeat. */
  readonly retries: number
  /** In [0, 1): the backoff's jitter. */
  readonly random: () => number
  /** Alibaba's `SignatureNonce`. */
  readonly nonce: () => string
}

export interface StsRuntimeOptions {
  now?: () => number
  fetch?: typeof globalThis.fetch
  timeoutMs?: number
  retries?: number
  random?: () => number
  nonce?: () => string
}

export const DEFAULT_STS_TIMEOUT_MS = 10_000
export const DEFAULT_STS_RETRIES = 2
/** When STS throttles without saying for how long. */
export const DEFAULT_THROTTLE_RETRY_AFTER_SECONDS = 2
const BACKOFF_BASE_MS = 100
const BACKOFF_CAP_MS = 1000
/** STS answers are a few kilobytes: anything much bigger is not an STS answer. */
const MAX_ANSWER_BYTES = 256 * 1024

export function stsRuntime(options: StsRuntimeOptions = {}): StsRuntime {
  const retries = options.retries ?? DEFAULT_STS_RETRIES
  const timeoutMs = options.timeoutMs ?? DEFAULT_STS_TIMEOUT_MS
  if (!Number.isInteger(retries) || retries < 0 || retries > 2)
    throw new RangeError('retries must be 0, 1 or 2')
  if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be positive')
  return {
    fetch: options.fetch ?? globalThis.fetch,
    now: options.now ?? Date.now,
    timeoutMs,
    retries,
    random: options.random ?? Math.random,
    nonce: options.nonce ?? randomUUID,
  }
}

/** One HTTP exchange's request, fully built and signed. */
export interface StsHttpRequest {
  readonly url: string
  readonly method: 'GET' | 'POST'
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
}

/** What came back: status, headers and the body as text. */
export interface StsHttpAnswer {
  readonly status: number
  readonly headers: Headers
  readonly body: string
}

/** What an answer means: the result, a failure worth another attempt, or a final failure. */
export type StsVerdict<T> = { readonly ok: T } | { readonly retry: PamError } | { readonly fail: PamError }

/**
 * Sends `build()` to STS until `judge` accepts the answer, fails it for good, or the retries or the
 * deadline run out. `signal` (the caller giving up) aborts at once and rejects with its reason.
 */
export async function callSts<T>(
  runtime: StsRuntime,
  endpoint: string,
  build: () => StsHttpRequest,
  judge: (answer: StsHttpAnswer) => StsVerdict<T>,
  signal?: AbortSignal,
): Promise<T> {
  const host = endpointHost(endpoint)
  signal?.throwIfAborted()
  const started = performance.now()
  const deadline = AbortSignal.timeout(runtime.timeoutMs)
  const abort = signal ? AbortSignal.any([deadline, signal]) : deadline
  /** Why to stop now, if the caller gave up (its reason) or the deadline passed (StsTimeout). */
  const stopped = (): unknown =>
    signal?.aborted ? signal.reason : deadline.aborted ? stsTimeout(host, runtime.timeoutMs) : undefined
  let last: PamError | undefined
  for (let attempt = 0; attempt <= runtime.retries; attempt++) {
    if (attempt > 0) {
      const wait = backoffMs(attempt, runtime.random)
      // No attempt that could not finish before the deadline: the last failure says more than a timeout.
      if (performance.now() - started + wait >= runtime.timeoutMs) break
      try {
        await delay(wait, undefined, { signal: abort })
      } catch (error) {
        throw stopped() ?? error
      }
    }
    const request = build()
    let answer: StsHttpAnswer
    try {
      answer = await exchange(runtime.fetch, request, abort)
    } catch (error) {
      const reason = stopped()
      if (reason !== undefined) throw reason
      if (error instanceof AnswerTooLarge)
        throw stsUnavailable(host, 'answered more than an STS answer can be')
      last = stsUnavailable(host, `could not be reached (${networkFailure(error)})`, error)
      continue
    }
    const verdict = judge(answer)
    if ('ok' in verdict) return verdict.ok
    if ('fail' in verdict) throw verdict.fail
    last = verdict.retry
  }
  throw last ?? stsTimeout(host, runtime.timeoutMs)
}

/** Capped exponential backoff with equal jitter: attempt n waits in [d/2, d), d = min(cap, base·2^(n-1)). */
export function backoffMs(attempt: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1))
  return Math.floor(ceiling / 2 + (ceiling / 2) * Math.min(Math.max(random(), 0), 0.999))
}

async function exchange(
  fetchImpl: typeof globalThis.fetch,
  request: StsHttpRequest,
  signal: AbortSignal,
): Promise<StsHttpAnswer> {
  const response = await fetchImpl(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    redirect: 'manual',
    signal,
  })
  const body = await readCappedBody(response, MAX_ANSWER_BYTES)
  return { status: response.status, headers: response.headers, body: body.toString('utf8') }
}

/** The host (and port) of an endpoint, for messages. */
export function endpointHost(endpoint: string): string {
  try {
    return new URL(endpoint).host
  } catch {
    throw new PamError('StsUnavailable', 'the STS endpoint is not a valid URL')
  }
}

/** A network failure in a few words, from the error's (or its cause's) code: `ECONNREFUSED`. */
function networkFailure(error: unknown): string {
  const cause = (error as { cause?: unknown } | undefined)?.cause
  for (const candidate of [cause, error]) {
    const code = (candidate as { code?: unknown } | undefined)?.code
    if (typeof code === 'string' && /^[A-Z0-9_]{2,64}$/.test(code)) return code
  }
  return error instanceof Error ? error.name : 'network error'
}

// --- The errors. --------------------------------------------------------------------------------

export function stsTimeout(host: string, timeoutMs: number): PamError {
  return new PamError('StsTimeout', `STS at ${host} did not answer AssumeRole within ${timeoutMs} ms`)
}

/**
 * `cause` is kept only as a new Error holding the failure's code: the original (a fetch TypeError)
 * is not kept, so nothing of the request can ride along on it.
 */
export function stsUnavailable(host: string, what: string, cause?: unknown): PamError {
  return new PamError(
    'StsUnavailable',
    `STS at ${host} ${what}`,
    cause === undefined ? {} : { cause: new Error(networkFailure(cause)) },
  )
}

/** The vendor's refusal, by its error code: `STS refused AssumeRole: Code: message (request id …)`. */
export function stsRefused(refusal: VendorRefusal): PamError {
  return new PamError('StsRefused', `STS refused AssumeRole: ${describeRefusal(refusal)}`)
}

export function stsThrottled(refusal: VendorRefusal, retryAfterSeconds: number): PamError {
  return new PamError('StsThrottled', `STS throttled AssumeRole: ${describeRefusal(refusal)}`, {
    retryAfterSeconds,
  })
}

/** An error answer of the vendor's, read from its body. */
export interface VendorRefusal {
  readonly status: number
  readonly code: string
  readonly message: string | undefined
  readonly requestId: string | undefined
}

function describeRefusal(refusal: VendorRefusal): string {
  const code = /^[A-Za-z0-9._-]{1,64}$/.test(refusal.code) ? refusal.code : 'UnknownError'
  const message = refusal.message === undefined ? '' : cleanVendorMessage(refusal.message)
  const requestId =
    refusal.requestId !== undefined && /^[A-Za-z0-9-]{1,64}$/.test(refusal.requestId)
      ? ` (request id ${refusal.requestId})`
      : ''
  return `${code}${message === '' ? '' : `: ${message}`}${requestId}`
}

/**
 * The vendor's message, short and printable. Alibaba's SignatureDoesNotMatch ends with the server's
 * string to sign (`… server string to sign is:POST&%2F&…`): that part is cut off, it only bloats.
 * The vendors never echo a secret, so nothing else is removed.
 */
function cleanVendorMessage(message: string): string {
  const cut = message.replace(/\s*server string to sign is:.*$/is, '')
  const printable = cut.replace(/[^\x20-\x7e]+/g, ' ').trim()
  return printable.length > 200 ? `${printable.slice(0, 200)}…` : printable
}

// --- Judging an answer. -------------------------------------------------------------------------

/** The vendors' throttling codes (AWS's from its SDKs' retry classification; Alibaba's `Throttling*`). */
const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
])
/** Failures of the vendor's own that another attempt may not meet. */
const TRANSIENT_CODES = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'ServiceFailure'])

/** A vendor error answer: throttled, retried (5xx and the transient codes) or refused. */
export function judgeRefusal(
  host: string,
  refusal: VendorRefusal,
  headers: Headers,
  now: number,
): StsVerdict<never> {
  if (refusal.status === 429 || refusal.code.startsWith('Throttling') || THROTTLING_CODES.has(refusal.code)) {
    return { fail: stsThrottled(refusal, retryAfterSeconds(headers, now)) }
  }
  if (refusal.status >= 500 || TRANSIENT_CODES.has(refusal.code)) {
    return {
      retry: new PamError('StsUnavailable', `STS at ${host} failed AssumeRole: ${describeRefusal(refusal)}`),
    }
  }
  return { fail: stsRefused(refusal) }
}

/** An answer that is not the vendor's: throttled (429), retried (5xx) or unavailable. */
export function judgeForeignAnswer(host: string, answer: StsHttpAnswer, now: number): StsVerdict<never> {
  if (answer.status === 429) {
    return {
      fail: new PamError('StsThrottled', `STS at ${host} throttled AssumeRole (HTTP 429)`, {
        retryAfterSeconds: retryAfterSeconds(answer.headers, now),
      }),
    }
  }
  const what = `answered HTTP ${answer.status} with something that is not an STS answer`
  return answer.status >= 500 ? { retry: stsUnavailable(host, what) } : { fail: stsUnavailable(host, what) }
}

/** Seconds from `Retry-After` (delta-seconds or an HTTP date), else the default; 1 to 3600. */
export function retryAfterSeconds(headers: Headers, now: number): number {
  const value = headers.get('retry-after')?.trim()
  let seconds: number | undefined
  if (value !== undefined && /^\d{1,9}$/.test(value)) seconds = Number(value)
  else if (value !== undefined && value !== '') {
    const at = Date.parse(value)
    if (!Number.isNaN(at)) seconds = Math.ceil((at - now) / 1000)
  }
  if (seconds === undefined) return DEFAULT_THROTTLE_RETRY_AFTER_SECONDS
  return Math.min(3600, Math.max(1, seconds))
}

/** `YYYY-MM-DDTHH:MM:SS[.fff]Z` → epoch ms in whole seconds; `undefined` if it is anything else. */
export function parseExpiration(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(value))
    return undefined
  const ms = Date.parse(value.replace(/\.\d+Z$/, 'Z'))
  return Number.isNaN(ms) ? undefined : ms
}

// --- Judging a success answer. --------------------------------------------------------------------

/**
 * An expiration less than this far ahead is refused: credentials a workload could not use (both
 * clouds issue 15 minutes at least, so this meets only a broken STS or a clock far off). Seconds,
 * not minutes: the end-to-end tests set the STS stand-ins' clocks back so that what they issue
 * expires 16 s later in real time, to watch refreshes and expiry without waiting 15 minutes.
 */
export const EXPIRATION_MARGIN_MS = 10_000
/** How much later than asked an expiration may be (STS's clock ahead of ours) before it is cut. */
export const EXPIRATION_SKEW_MS = 60_000

/**
 * The expiration STS answered (`Credentials.Expiration`, epoch ms), judged against what was asked:
 * one not later than now + `EXPIRATION_MARGIN_MS` is refused (StsUnavailable 502: already expired
 * credentials must not reach a workload); one later than now + `durationSeconds` +
 * `EXPIRATION_SKEW_MS` is cut to that, so that no node keeps or hands out credentials past what
 * was asked, whatever STS says. Whole seconds, as the vendors answer.
 */
export function boundedExpiration(
  host: string,
  expiration: number,
  now: number,
  durationSeconds: number,
): number | PamError {
  if (!(expiration > now + EXPIRATION_MARGIN_MS)) {
    const when = Number.isFinite(expiration) ? ` ${new Date(expiration).toISOString()}` : ''
    return stsUnavailable(
      host,
      `answered AssumeRole with credentials that expire too soon: Credentials.Expiration${when} is not more than ${EXPIRATION_MARGIN_MS / 1000} s ahead`,
    )
  }
  const latest = Math.floor((now + durationSeconds * 1000 + EXPIRATION_SKEW_MS) / 1000) * 1000
  return Math.min(expiration, latest)
}

/** A field of a success answer, as the vendor names it (for messages), and its value. */
export type AnsweredField = readonly [name: string, value: unknown]

/** Characters of the fields that identify the role and its session: 2–193 at AWS, less at Alibaba. */
const MAX_ID_LENGTH = 256
/** AWS allows ARNs up to 2048 characters. */
const MAX_ARN_LENGTH = 2048
/** Access key ids are 16–128 characters at AWS, 24 at Alibaba; secrets 40 and 30. */
const MAX_KEY_LENGTH = 256

/**
 * A success answer's fields, checked: each present, a string of visible ASCII (no space, no
 * control, bidi or non-ASCII character: they reach the workload's environment, the CLI's output and
 * the audit log) and of a bounded length, else StsUnavailable 502 naming the STS and the field. The
 * session token has no length of its own (AWS says to assume no maximum): the answer's 256 KiB
 * bounds it. The request id, only informational, is dropped rather than refused when it is not
 * 1–128 visible ASCII characters: cut, it would name no request. The expiration goes through
 * `boundedExpiration`.
 */
export function judgeAssumedRole(
  host: string,
  now: number,
  durationSeconds: number,
  fields: {
    accessKeyId: AnsweredField
    accessKeySecret: AnsweredField
    securityToken: AnsweredField
    expiration: AnsweredField
    assumedRoleId: AnsweredField
    assumedRoleArn: AnsweredField
    requestId: unknown
  },
): StsVerdict<AssumedRole> {
  const parsed = parseExpiration(fields.expiration[1])
  const text = ([name, value]: AnsweredField): readonly [string, string | undefined] => [
    name,
    typeof value === 'string' && value !== '' ? value : undefined,
  ]
  // The first field missing, in the answer's order (the expiration: missing or not a date).
  const missing = [
    text(fields.accessKeyId),
    text(fields.accessKeySecret),
    text(fields.securityToken),
    [fields.expiration[0], parsed] as const,
    text(fields.assumedRoleId),
    text(fields.assumedRoleArn),
  ].find(([, value]) => value === undefined)
  if (missing || parsed === undefined)
    return { fail: stsUnavailable(host, `answered AssumeRole without a valid ${missing?.[0]}`) }
  const bounded: [AnsweredField, number][] = [
    [fields.accessKeyId, MAX_KEY_LENGTH],
    [fields.accessKeySecret, MAX_KEY_LENGTH],
    [fields.securityToken, MAX_ANSWER_BYTES],
    [fields.assumedRoleId, MAX_ID_LENGTH],
    [fields.assumedRoleArn, MAX_ARN_LENGTH],
  ]
  for (const [[name, value], max] of bounded) {
    if (typeof value !== 'string' || value.length > max || !VISIBLE_ASCII.test(value))
      return {
        fail: stsUnavailable(
          host,
          `answered AssumeRole with a field ${name} that is not 1 to ${max} visible ASCII characters`,
        ),
      }
  }
  const expiration = boundedExpiration(host, parsed, now, durationSeconds)
  if (expiration instanceof PamError) return { fail: expiration }
  const requestId = fields.requestId
  return {
    ok: {
      accessKeyId: fields.accessKeyId[1] as string,
      accessKeySecret: fields.accessKeySecret[1] as string,
      securityToken: fields.securityToken[1] as string,
      expiration,
      assumedRoleId: fields.assumedRoleId[1] as string,
      assumedRoleArn: fields.assumedRoleArn[1] as string,
      requestId:
        typeof requestId === 'string' && requestId.length <= 128 && VISIBLE_ASCII.test(requestId)
          ? requestId
          : undefined,
    },
  }
}

const VISIBLE_ASCII = /^[\x21-\x7e]+$/
