import {
  buildRequest,
  describeTarget,
  type HttpMethod,
  isIdempotent,
  type RequestOptions,
  withHeaders,
} from './build-request.js'
import { CircuitBreaker, type CircuitPermit, type CircuitState } from './circuit-breaker.js'
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_READ_TIMEOUT_MS,
  type HttpClientOptions,
  sizeOption,
  timeoutOption,
} from './client-options.js'
import { createDefaultTransport } from './default-transport.js'
import { connectionError, errorFromResponse, unexpectedBodyError } from './error-mapping.js'
import type { Transport } from './fetch-like.js'
import { classifyNetworkFailure } from './network-failure.js'
import { fullJitterDelay, RETRYABLE_STATUSES, resolveRetryPolicy, retryAfterMs } from './retry-policy.js'
import { type AttemptOutcome, runAttempt } from './run-attempt.js'
import { realSleep } from './sleep.js'
import { userAgent } from './user-agent.js'

/** The SDK's HTTP client: one per server (it pools connections and holds the circuit breaker). */
export interface HttpClient extends AsyncDisposable {
  /**
   * Sends a call and resolves with its parsed JSON body (`undefined` for an empty one). Applies
   * the timeouts, retries what is safe, and maps every failure to one of the SDK's errors:
   * `ValidationError`, `AuthenticationError`, `PermissionError`, `NotFoundError`, `RateLimitError`,
   * `ServerError` (from the response), `ConnectionError`, `TimeoutError`, `CircuitOpenError`.
   * When `options.signal` aborts, the call rejects with the signal's reason at once.
   */
  request<T = unknown>(method: HttpMethod, url: string | URL, options?: RequestOptions): Promise<T>
  /** The circuit breaker's state, `undefined` when it is off. */
  readonly circuitState: CircuitState | undefined
  /** Releases pooled connections. Calls made afterwards still work (on new connections). */
  close(): Promise<void>
}

/**
 * Creates the HTTP client the PAM client and the token endpoint share.
 *
 * @example
 * ```ts
 * await using http = createHttpClient({
 *   baseUrl: 'https://pam.example.com/',
 *   caFile: '/etc/strongroom/ca.pem',
 *   connectTimeout: 5_000,
 *   readTimeout: 10_000,
 * })
 * const key = await http.request<{ ApiKey: string }>('POST', 'v2/idaas_x/pam/getApiKey', {
 *   json: { credentialIdentifier: 'payments/stripe' },
 *   headers: { authorization: `Bearer ${accessToken}` },
 *   idempotent: true,
 * })
 * const token = await http.request('POST', tokenEndpoint, {
 *   form: { grant_type: 'client_credentials', client_id: id, client_secret: secret },
 * })
 * ```
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const transport: Transport = options.fetch
    ? { fetch: options.fetch, close() {} }
    : createDefaultTransport({
        ca: options.ca,
        caFile: options.caFile,
        env: options.env,
        insecureSkipTlsVerify: options.insecureSkipTlsVerify,
      })
  const timeouts = {
    connectMs: timeoutOption('connectTimeout', options.connectTimeout, DEFAULT_CONNECT_TIMEOUT_MS),
    readMs: timeoutOption('readTimeout', options.readTimeout, DEFAULT_READ_TIMEOUT_MS),
  }
  const maxResponseBytes = sizeOption(options.maxResponseBytes)
  const policy = resolveRetryPolicy(options.retry)
  const now = options.now ?? Date.now
  const sleep = options.sleep ?? realSleep
  const random = options.random ?? Math.random
  const breaker = options.circuitBreaker ? new CircuitBreaker(options.circuitBreaker, now) : undefined
  const baseUrl = options.baseUrl === undefined ? undefined : new URL(options.baseUrl)
  const defaultHeaders = {
    accept: 'application/json',
    ...options.headers,
    'user-agent': userAgent(options.userAgent),
  }

  async function request<T>(method: HttpMethod, url: string | URL, call: RequestOptions = {}): Promise<T> {
    const { url: target, init } = buildRequest(method, url, call, { baseUrl, headers: defaultHeaders })
    const label = describeTarget(method, target)
    const callerSignal = call.signal
    const idempotent = isIdempotent(method, call)
    const singleUse = call.singleUse === true
    for (let attempt = 1; ; attempt++) {
      callerSignal?.throwIfAborted()
      const attemptInit =
        call.attemptHeaders === undefined ? init : withHeaders(init, await call.attemptHeaders())
      callerSignal?.throwIfAborted()
      const permit = breaker?.acquire()
      let outcome: AttemptOutcome
      try {
        outcome = await runAttempt(transport.fetch, target, attemptInit, {
          timeouts,
          callerSignal,
          maxResponseBytes,
          target: label,
        })
      } catch (error) {
        if (permit) breaker?.recordNeutral(permit)
        throw error
      }
      const verdict = judge(outcome, permit, attempt)
      if (verdict.done) return verdict.value as T
      if (verdict.retryInMs === undefined || attempt >= policy.maxAttempts) throw verdict.error
      await sleep(verdict.retryInMs, callerSignal)
      callerSignal?.throwIfAborted()
    }

    type Verdict =
      | { done: true; value: unknown }
      | { done: false; error: unknown; retryInMs: number | undefined }

    function judge(outcome: AttemptOutcome, permit: CircuitPermit | undefined, attempt: number): Verdict {
      const backoff = () => fullJitterDelay(attempt - 1, policy, random)
      if (outcome.kind === 'timeout') {
        if (permit) breaker?.recordFailure(permit, outcome.error)
        return { done: false, error: outcome.error, retryInMs: undefined }
      }
      if (outcome.kind === 'network') {
        const failure = classifyNetworkFailure(outcome.error)
        const error = connectionError(failure, label, attempt, outcome.error)
        if (permit) breaker?.recordFailure(permit, error)
        const safe = !failure.permanent && (failure.notSent || idempotent)
        return { done: false, error, retryInMs: safe ? backoff() : undefined }
      }
      const { status, headers, body } = outcome
      if (status >= 200 && status < 300) {
        if (permit) breaker?.recordSuccess(permit)
        const text = new TextDecoder().decode(body)
        if (text.trim() === '') return { done: true, value: undefined }
        try {
          return { done: true, value: JSON.parse(text) }
        } catch {
          return { done: false, error: unexpectedBodyError(status, headers, label), retryInMs: undefined }
        }
      }
      const askedMs = retryAfterMs(headers, now())
      const error = errorFromResponse(
        {
          status,
          statusText: outcome.statusText,
          headers,
          bodyText: new TextDecoder().decode(body),
          retryAfterMs: askedMs,
        },
        label,
      )
      if (permit) {
        if (status >= 500) breaker?.recordFailure(permit, error)
        else if (status === 429) breaker?.recordNeutral(permit)
        else breaker?.recordSuccess(permit)
      }
      if (!RETRYABLE_STATUSES.has(status)) return { done: false, error, retryInMs: undefined }
      // A request the server accepts once may have been recorded before a 502, 503 or 504 (a
      // client assertion's jti is written before the token, and that write or a later one can
      // fail): sent again, it would be refused as a replay. A 429 refused it unrecorded.
      if (singleUse && status !== 429) return { done: false, error, retryInMs: undefined }
      // A gateway's 502 or 504 says it gave up, not that the origin did nothing: the call may have
      // run (a JWT minted, a session refreshed). Sent again only if a repeat is harmless.
      if (!idempotent && (status === 502 || status === 504))
        return { done: false, error, retryInMs: undefined }
      if (askedMs === undefined) return { done: false, error, retryInMs: backoff() }
      return { done: false, error, retryInMs: askedMs <= policy.maxRetryAfterMs ? askedMs : undefined }
    }
  }

  const close = async () => transport.close()
  return {
    request,
    get circuitState() {
      return breaker?.state
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}
