import { invalidArgument } from './invalid-argument.js'
/** The methods the SDK uses. */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** A query-string value: booleans become `true`/`false`, numbers decimal, arrays repeat the key. */
export type QueryValue = string | number | boolean | null | undefined | readonly (string | number | boolean)[]

/** Options of one call of `HttpClient.request`. */
export interface RequestOptions {
  /** Appended to the URL's query string; `undefined` and `null` values are left out. */
  query?: Readonly<Record<string, QueryValue>> | undefined
  /** A JSON body (`content-type: application/json; charset=utf-8`). */
  json?: unknown
  /** A form body (`application/x-www-form-urlencoded`), e.g. for the OAuth token endpoint. */
  form?: Readonly<Record<string, string | undefined>> | URLSearchParams | undefined
  /** Extra headers (e.g. `authorization`); they win over the client's defaults. */
  headers?: Readonly<Record<string, string | undefined>> | undefined
  /**
   * Headers made afresh for every attempt, set over the others (e.g. a DPoP proof, which a server
   * accepts once only, so a retry needs a new one). A rejection fails the call without a request.
   */
  attemptHeaders?: (() => Promise<Readonly<Record<string, string>>>) | undefined
  /** Cancels the call, its retries and its waits; the call then rejects with the signal's reason. */
  signal?: AbortSignal | undefined
  /**
   * Whether repeating the call is harmless, which allows retrying network failures that may have
   * happened after the request reached the server (a reset connection). Defaults to `true` for
   * GET, HEAD, PUT and DELETE, `false` otherwise.
   */
  idempotent?: boolean | undefined
  /**
   * Whether the server accepts this very request once only, so that the same bytes arriving again
   * are refused (a token request authenticated by a client assertion: its `jti` is recorded
   * before the token is issued). Such a call is sent again only when no earlier attempt can have
   * been processed: a network failure before sending (connection refused, DNS, a proxy refusing
   * the tunnel) or a 429 (a throttle that refuses before recording anything). Never after a 502,
   * 503 or 504 (the server may have recorded it before failing), nor a connection lost after
   * sending; the caller builds a new request instead. Implies `idempotent: false`. Default `false`.
   */
  singleUse?: boolean | undefined
}

const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE'])

/** Whether a call may be repeated after a failure that may have reached the server. */
export function isIdempotent(method: HttpMethod, options: RequestOptions): boolean {
  if (options.singleUse === true) return false
  return options.idempotent ?? IDEMPOTENT_METHODS.has(method)
}

/**
 * Builds the URL and the `fetch` init of a call (without its signal): the query appended, the body
 * serialized, the headers merged (defaults, then content type, then the call's own).
 */
export function buildRequest(
  method: HttpMethod,
  url: string | URL,
  options: RequestOptions,
  defaults: { baseUrl?: URL | undefined; headers: Readonly<Record<string, string>> },
): { url: URL; init: RequestInit } {
  const target = defaults.baseUrl === undefined ? new URL(url) : new URL(url, defaults.baseUrl)
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value === undefined || value === null) continue
    for (const item of Array.isArray(value) ? value : [value]) target.searchParams.append(key, String(item))
  }
  const headers = new Headers(defaults.headers)
  let body: string | undefined
  if (options.json !== undefined && options.form !== undefined) {
    throw invalidArgument('a request takes either json or form, not both')
  }
  if (options.json !== undefined) {
    body = JSON.stringify(options.json)
    headers.set('content-type', 'application/json; charset=utf-8')
  } else if (options.form !== undefined) {
    const form =
      options.form instanceof URLSearchParams
        ? options.form
        : new URLSearchParams(
            Object.entries(options.form).filter((entry): entry is [string, string] => entry[1] !== undefined),
          )
    body = form.toString()
    headers.set('content-type', 'application/x-www-form-urlencoded')
  }
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value !== undefined) headers.set(name, value)
  }
  return {
    url: target,
    init: { method, headers, redirect: 'manual', ...(body === undefined ? {} : { body }) },
  }
}

/** `init` with `headers` set over its own. */
export function withHeaders(init: RequestInit, headers: Readonly<Record<string, string>>): RequestInit {
  const merged = new Headers(init.headers)
  for (const [name, value] of Object.entries(headers)) merged.set(name, value)
  return { ...init, headers: merged }
}

/** `METHOD origin/path` for messages: never the query string, which may carry tokens. */
export function describeTarget(method: HttpMethod, url: URL): string {
  return `${method} ${url.origin}${url.pathname}`
}
