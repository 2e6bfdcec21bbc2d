import { InvalidParameter, PamError } from '../../errors.js'
import { CacheStats } from '../../metrics/cache-stats.js'
import { AnswerTooLarge, readCappedBody } from '../outbound-endpoint.js'
import type { OAuthSettings } from './settings.js'
import type { SharedUpstreamTokens } from './shared-upstream-tokens.js'

/** An access token obtained from a provider's upstream token endpoint. */
export interface UpstreamToken {
  accessToken: string
  tokenType: string
  scope: string
  /** Epoch milliseconds. */
  obtainedAt: number
  expiresAt: number
  /** The authentication token recorded for each consumer that was handed this upstream token. */
  readonly records: Map<string, Promise<string | undefined>>
}

export interface UpstreamRequest {
  /** Names the provider in errors: its identifier. */
  provider: string
  /** The provider's instance: with it, the token is shared by every node (`SharedUpstreamTokens`). */
  instanceId?: string
  settings: OAuthSettings
  clientSecret: () => Promise<string>
  scope: string
  customParameters: Record<string, string>
}

/** Form fields a caller's `customParameters` may not set: they carry the grant and the client's identity. */
const RESERVED_PARAMETERS = new Set([
  'grant_type',
  'client_id',
  'client_secret',
  'scope',
  'client_assertion',
  'client_assertion_type',
])
const TIMEOUT_MS = 10_000
const MAX_RESPONSE_BYTES = 64 * 1024
/** RFC 6749 makes `expires_in` optional: an upstream that omits it gets its token reused this long at most. */
const UNKNOWN_LIFETIME_S = 60
/**
 * The longest an upstream token is believed to live, whatever `expires_in` says: it is recorded
 * (`authentication_tokens.expires_at`, the shared `upstream_tokens` row) and reused as if it
 * expired then. A day is more than any upstream we know of grants, and little enough that a
 * number like 1e300 cannot reach the store.
 */
const MAX_UPSTREAM_LIFETIME_S = 86_400
/** `token_type` is a short name (`Bearer`, `DPoP`, `N_A`, a URI at most). */
const MAX_TOKEN_TYPE_LENGTH = 128
/** `scope` as the upstream granted it: it may hold more than the 256 characters a caller may ask for. */
const MAX_SCOPE_LENGTH = 1024
const MAX_CACHED = 10_000

export function checkCustomParameters(params: Record<string, string> | undefined): Record<string, string> {
  for (const name of Object.keys(params ?? {})) {
    if (RESERVED_PARAMETERS.has(name.toLowerCase())) {
      throw new InvalidParameter(
        `customParameters.${name}`,
        'is set by the provider and may not be overridden',
      )
    }
  }
  return params ?? {}
}

/**
 * Upstream tokens per provider and scope, shared by every caller on this node: a token is reused
 * until shortly before it expires (the last tenth of its life, at most a minute), and concurrent
 * callers that find no usable token share ONE upstream request. Failures are not cached: the
 * next caller tries again. With `shared`, a node that holds no usable token asks the database
 * first, and the nodes share one upstream request between them too (`SharedUpstreamTokens`).
 */
export class UpstreamTokens {
  private readonly tokens = new Map<string, UpstreamToken>()
  private readonly inflight = new Map<string, Promise<UpstreamToken>>()
  private readonly generations = new Map<string, number>()

  constructor(
    private readonly now: () => number,
    private readonly fetchFn: typeof fetch = globalThis.fetch,
    private readonly shared?: SharedUpstreamTokens,
  ) {}

  /** Lookups of a usable token: a miss waits for an upstream request (its own or a shared one). */
  readonly cacheStats = new CacheStats()

  /** Upstream requests made so far: tests count them. */
  requests = 0

  /**
   * A usable token for `providerId` and `variant` (scope and custom parameters), fetched once for
   * every concurrent caller when there is none. `generation` is the provider's last update time:
   * tokens obtained under older settings (another client secret, another endpoint) are dropped.
   */
  async get(
    providerId: string,
    generation: number,
    variant: string,
    request: UpstreamRequest,
    force: boolean,
  ): Promise<UpstreamToken> {
    if (this.generations.get(providerId) !== generation) {
      this.forget(`${providerId}\n`)
      this.generations.set(providerId, generation)
    }
    const key = `${providerId}\n${variant}`
    const cached = this.tokens.get(key)
    if (!force && cached && this.usable(cached)) {
      this.cacheStats.hits++
      return cached
    }
    this.cacheStats.misses++
    const pending = this.inflight.get(key)
    if (pending) return pending
    const { shared } = this
    const fetched =
      shared && request.instanceId !== undefined
        ? shared.obtain(
            { providerId, instanceId: request.instanceId, generation, variant },
            force,
            () => this.fetchToken(request),
            (token) => this.usableUntil(token),
          )
        : this.fetchToken(request)
    const started = fetched
      .then((token) => {
        this.tokens.delete(key)
        this.tokens.set(key, token)
        // Variants are chosen by callers: keep memory bounded, oldest first out.
        if (this.tokens.size > MAX_CACHED) this.tokens.delete(this.tokens.keys().next().value!)
        return token
      })
      .finally(() => this.inflight.delete(key))
    this.inflight.set(key, started)
    return started
  }

  private forget(prefix: string): void {
    for (const key of this.tokens.keys()) if (key.startsWith(prefix)) this.tokens.delete(key)
  }

  private usable(token: UpstreamToken): boolean {
    return this.now() < this.usableUntil(token)
  }

  /** Handed out until the last tenth of its life (at most its last minute). */
  private usableUntil(token: UpstreamToken): number {
    const lifetime = token.expiresAt - token.obtainedAt
    return token.expiresAt - Math.min(60_000, lifetime / 10)
  }

  private async fetchToken(request: UpstreamRequest): Promise<UpstreamToken> {
    const { settings, provider } = request
    const form = new URLSearchParams({ grant_type: 'client_credentials' })
    if (request.scope !== '') form.set('scope', request.scope)
    for (const [name, value] of Object.entries(request.customParameters)) form.set(name, value)
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    }
    const secret = await request.clientSecret()
    if (settings.authMethod === 'client_secret_basic') {
      // RFC 6749 §2.3.1: each part form-urlencoded before the base64.
      const enc = (v: string) => new URLSearchParams({ v }).toString().slice(2)
      headers.authorization = `Basic ${Buffer.from(`${enc(settings.clientId)}:${enc(secret)}`).toString('base64')}`
    } else {
      form.set('client_id', settings.clientId)
      form.set('client_secret', secret)
    }
    const where = `the upstream token endpoint of credential provider ${provider} (${new URL(settings.tokenEndpoint).origin})`
    this.requests += 1
    const startedAt = this.now()
    let response: Response
    let text: string
    try {
      response = await this.fetchFn(settings.tokenEndpoint, {
        method: 'POST',
        headers,
        body: form,
        // A redirect would carry the client secret somewhere nobody configured.
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      })
      text = (await readCappedBody(response, MAX_RESPONSE_BYTES)).toString('utf8')
    } catch (err) {
      if (err instanceof AnswerTooLarge)
        throw new PamError('UpstreamError', `${where} answered with more than 64 KiB`)
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')
      throw timedOut
        ? new PamError('UpstreamTimeout', `${where} did not answer within ${TIMEOUT_MS / 1000} s`)
        : new PamError('UpstreamUnavailable', `${where} could not be reached`)
    }
    let body: Record<string, unknown> = {}
    try {
      const parsed: unknown = JSON.parse(text)
      if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>
    } catch {
      // handled below: not JSON
    }
    if (response.status === 400 && body.error === 'invalid_scope') {
      // The caller's scope, not the provider, is what the upstream refused.
      throw new PamError('InvalidParameter.Scope', `${where} refused the scope (invalid_scope)`, {
        field: 'scope',
        rule: 'must be a scope the upstream grants this client',
      })
    }
    if (response.status !== 200) {
      // The upstream's `error` code is a fixed vocabulary (RFC 6749 §5.2); its description may echo input, so it is left out.
      const code =
        typeof body.error === 'string' && /^[\w.:-]{1,64}$/.test(body.error) ? ` (${body.error})` : ''
      throw new PamError('UpstreamError', `${where} answered ${response.status}${code}`)
    }
    const accessToken = body.access_token
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw new PamError('UpstreamError', `${where} answered without an access_token`)
    }
    // RFC 6749 §A.12: an access token is printable ASCII. Anything else (a terminal escape that
    // would rewrite an operator's screen or clipboard when a CLI prints the token) is refused.
    if (!/^[\x20-\x7e]+$/.test(accessToken)) {
      throw new PamError(
        'UpstreamError',
        `${where} answered an access_token with characters RFC 6749 does not allow`,
      )
    }
    return {
      accessToken,
      tokenType: answeredField(where, 'token_type', body.token_type, MAX_TOKEN_TYPE_LENGTH) ?? 'Bearer',
      scope: answeredField(where, 'scope', body.scope, MAX_SCOPE_LENGTH) ?? request.scope,
      obtainedAt: startedAt,
      expiresAt: startedAt + lifetimeSeconds(body.expires_in) * 1000,
      records: new Map(),
    }
  }
}

/**
 * `expires_in` as whole seconds, 1 to `MAX_UPSTREAM_LIFETIME_S`: a positive number (or a string of
 * digits, as some upstreams send it) is cut to whole seconds (at least 1) and to the maximum;
 * anything else (absent, zero, negative, not a number) is a lifetime we do not know,
 * `UNKNOWN_LIFETIME_S`.
 */
function lifetimeSeconds(expiresIn: unknown): number {
  const seconds =
    typeof expiresIn === 'number'
      ? expiresIn
      : typeof expiresIn === 'string' && /^\d{1,12}$/.test(expiresIn)
        ? Number(expiresIn)
        : Number.NaN
  if (!(seconds > 0)) return UNKNOWN_LIFETIME_S
  return Math.max(1, Math.min(MAX_UPSTREAM_LIFETIME_S, Math.floor(seconds)))
}

/**
 * An informational string of the upstream's answer that is handed to workloads (`token_type`,
 * `scope`): `undefined` when absent (or not a string), else at most `max` printable ASCII
 * characters, as RFC 6749 defines both. Anything else (a terminal escape, a bidi override, 60 KB)
 * is refused: a CLI prints these next to the token, and they reach the workload's environment.
 */
function answeredField(where: string, field: string, value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined
  if (value.length > max || !/^[\x20-\x7e]*$/.test(value)) {
    throw new PamError(
      'UpstreamError',
      `${where} answered a ${field} that is not at most ${max} printable ASCII characters`,
    )
  }
  return value
}
