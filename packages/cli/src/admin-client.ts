import { displayUrl } from './display-url.js'
import { ApiError, CliError } from './errors.js'
import { networkError } from './network-error.js'

export type QueryValue = string | number | boolean | undefined
export type Query = Readonly<Record<string, QueryValue>>

/** A page of a list answer: keyset pagination, an opaque `nextToken`. */
export interface Page<T> {
  entities: T[]
  nextToken: string | null
  maxResults: number
}

export interface AdminClientOptions {
  baseUrl: string
  token: string
  fetch?: typeof fetch
  /** How long one request may take before the CLI gives up; 60 s unless told. */
  timeoutMs?: number
  userAgent?: string
  /** The largest response body read, in bytes; 16 MiB unless told. */
  maxResponseBytes?: number
}

/** The largest answer read: far above any page of 1000 audit events, far below what a string can hold. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024

export interface PageOptions {
  /** Stop after this many entities in all. */
  limit?: number | undefined
  /** `maxResults` of each request: 100 for most lists, up to 1000 for audit events. */
  pageSize?: number
  signal?: AbortSignal | undefined
}

/** A thin client of the admin API: JSON in, JSON out, errors turned into `ApiError` and `CliError`. */
export class AdminClient {
  readonly baseUrl: string
  // A private field: not enumerable, so not in `util.inspect` output or JSON.
  readonly #token: string
  readonly #fetch: typeof fetch
  readonly #timeoutMs: number
  readonly #userAgent: string
  readonly #maxResponseBytes: number

  constructor(options: AdminClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.#token = options.token
    this.#fetch = options.fetch ?? globalThis.fetch
    this.#timeoutMs = options.timeoutMs ?? 60_000
    this.#userAgent = options.userAgent ?? 'strongroom-cli'
    this.#maxResponseBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES
  }

  get<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal })
  }

  /** POSTs `body`, `{}` when none: the action endpoints take an empty JSON object. */
  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, { body })
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body })
  }

  async delete(path: string): Promise<void> {
    await this.request<unknown>('DELETE', path, {})
  }

  /** Yields the entities of a list page by page, following `nextToken` until the end or `limit`. */
  async *pages<T>(path: string, query: Query, options: PageOptions = {}): AsyncGenerator<T[]> {
    let remaining = options.limit ?? Number.POSITIVE_INFINITY
    const pageSize = options.pageSize ?? 100
    let nextToken: string | undefined
    while (remaining > 0) {
      const page = await this.get<Page<T>>(
        path,
        { ...query, maxResults: Math.min(pageSize, remaining), nextToken },
        options.signal,
      )
      const entities = page.entities.slice(0, remaining)
      remaining -= entities.length
      yield entities
      // The same token twice would loop forever; treat it as the end.
      if (page.nextToken === null || page.nextToken === nextToken) return
      nextToken = page.nextToken
    }
  }

  /** All entities of a list (or the first `limit`). */
  async list<T>(path: string, query: Query = {}, options: PageOptions = {}): Promise<T[]> {
    const all: T[] = []
    for await (const entities of this.pages<T>(path, query, options)) all.push(...entities)
    return all
  }

  async request<T>(
    method: string,
    path: string,
    options: { query?: Query; body?: unknown; signal?: AbortSignal | undefined },
  ): Promise<T> {
    const url = new URL(this.baseUrl + path)
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value))
    }
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${this.#token}`,
      'user-agent': this.#userAgent,
    }
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const timeout = AbortSignal.timeout(this.#timeoutMs)
    const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal])
    // A redirect is not followed: fetch would send the body (a secret, for `credential create`)
    // again to wherever the answer points, and the CLI would report success.
    const init: RequestInit = { method, headers, signal, redirect: 'manual' }
    if (options.body !== undefined) init.body = JSON.stringify(options.body)

    let response: Response
    let text: string | undefined
    try {
      response = await this.#fetch(url, init)
      if (isRedirect(response)) {
        await response.body?.cancel().catch(() => {})
        const status = `${response.status} ${response.statusText}`.trim()
        throw new CliError(
          'HttpError',
          `HTTP ${status || 'redirect'} from ${displayUrl(this.baseUrl)}: redirects are not followed (give the server's own URL)`,
        )
      }
      text = await readText(response, this.#maxResponseBytes)
    } catch (error) {
      if (error instanceof CliError) throw error
      if (options.signal?.aborted) throw error
      throw networkError(error, this.baseUrl, this.#timeoutMs)
    }
    if (text === undefined) {
      throw new CliError(
        'InvalidResponse',
        `${displayUrl(this.baseUrl)} answered ${method} ${url.pathname} with more than ${formatMiB(this.#maxResponseBytes)}`,
      )
    }
    if (!response.ok) throw errorFromResponse(response, text, this.baseUrl)
    if (text === '') return undefined as T
    try {
      return JSON.parse(text) as T
    } catch {
      throw new CliError(
        'InvalidResponse',
        `${displayUrl(this.baseUrl)} answered ${method} ${url.pathname} with non-JSON`,
      )
    }
  }
}

/** A 3xx answer, or what a browser-like fetch makes of one under `redirect: 'manual'`. */
function isRedirect(response: Response): boolean {
  return response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)
}

/**
 * The body as text (UTF-8, as `response.text()` decodes it), read as a stream and counted as it
 * comes: undefined once it exceeds `max` bytes, the rest never read.
 */
async function readText(response: Response, max: number): Promise<string | undefined> {
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel().catch(() => {})
      return undefined
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

function formatMiB(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`
}

function errorFromResponse(response: Response, text: string, baseUrl: string): CliError {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  if (isRecord(body) && typeof body['Code'] === 'string') {
    return new ApiError({
      status: response.status,
      apiCode: body['Code'],
      message: typeof body['Message'] === 'string' ? body['Message'] : response.statusText,
      requestId: stringOr(body['RequestId']) ?? response.headers.get('x-request-id') ?? undefined,
      field: stringOr(body['field']),
      rule: stringOr(body['rule']),
    })
  }
  const status = `${response.status} ${response.statusText}`.trim()
  return new CliError('HttpError', `HTTP ${status} from ${displayUrl(baseUrl)}`)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}
