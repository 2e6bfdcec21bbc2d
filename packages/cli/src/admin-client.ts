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
}

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

  constructor(options: AdminClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.#token = options.token
    this.#fetch = options.fetch ?? globalThis.fetch
    this.#timeoutMs = options.timeoutMs ?? 60_000
    this.#userAgent = options.userAgent ?? 'strongroom-cli'
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
    const init: RequestInit = { method, headers, signal }
    if (options.body !== undefined) init.body = JSON.stringify(options.body)

    let response: Response
    let text: string
    try {
      response = await this.#fetch(url, init)
      text = await response.text()
    } catch (error) {
      if (options.signal?.aborted) throw error
      throw networkError(error, this.baseUrl, this.#timeoutMs)
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
