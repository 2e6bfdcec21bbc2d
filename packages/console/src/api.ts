// The one place the console talks HTTP. Every call is same-origin with the session cookie and
// carries the CSRF token on every method; the token lives only in this module's memory.

import type { ConsoleSession } from '@strongroom/protocol'

/** `POST /console/session` and `GET /console/session`: the session, never the admin token. */
export type { ConsoleSession }

/** An error answered by the server (its `Code`, `Message`, and the field and rule it names). */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  readonly code: string
  readonly status: number
  readonly field: string | undefined
  readonly rule: string | undefined
  constructor(status: number, code: string, message: string, field?: string, rule?: string) {
    super(message)
    this.status = status
    this.code = code
    this.field = field
    this.rule = rule
  }
}

let csrfToken: string | null = null
let onUnauthorized: (() => void) | null = null

/** Remember the session's CSRF token (memory only) or forget it (`null`). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token
}

/** What to do when the server says the session is gone (401): back to sign-in. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler
}

export type Query = Record<string, string | number | boolean | null | undefined>

/** `path` with the query's set values, URL-encoded. */
export function withQuery(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `${path}?${text}` : path
}

/** One path segment, encoded (`team/db` → `team%2Fdb`). */
export const seg = (value: string): string => encodeURIComponent(value)

async function errorOf(response: Response): Promise<ApiError> {
  let body: unknown = null
  try {
    body = await response.json()
  } catch {
    // not JSON: a proxy's page or an empty body
  }
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>
    const code = typeof b['Code'] === 'string' ? b['Code'] : `HTTP${response.status}`
    const message =
      typeof b['Message'] === 'string'
        ? b['Message']
        : typeof b['message'] === 'string'
          ? b['message']
          : `The server answered ${response.status}.`
    const field = typeof b['field'] === 'string' ? b['field'] : undefined
    const rule = typeof b['rule'] === 'string' ? b['rule'] : undefined
    return new ApiError(response.status, code, message, field, rule)
  }
  return new ApiError(response.status, `HTTP${response.status}`, `The server answered ${response.status}.`)
}

/**
 * Call the server: JSON in, JSON out (`undefined` for 204). Throws `ApiError` on any other answer;
 * a 401 also runs the unauthorized handler, except for the session calls themselves.
 */
export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (csrfToken !== null) headers['X-CSRF-Token'] = csrfToken
  const init: RequestInit = { method, credentials: 'same-origin', headers, cache: 'no-store' }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  let response: Response
  try {
    response = await fetch(path, init)
  } catch {
    throw new ApiError(
      0,
      'NetworkError',
      'The server could not be reached. Check the connection and try again.',
    )
  }
  if (response.status === 204) return undefined as T
  if (!response.ok) {
    const error = await errorOf(response)
    if (response.status === 401 && !path.startsWith('/console/session') && onUnauthorized) onUnauthorized()
    throw error
  }
  return (await response.json()) as T
}

export const get = <T>(path: string, query?: Query): Promise<T> => request<T>('GET', withQuery(path, query))
export const post = <T>(path: string, body: unknown = {}): Promise<T> => request<T>('POST', path, body)
export const patch = <T>(path: string, body: unknown): Promise<T> => request<T>('PATCH', path, body)
export const del = <T = void>(path: string): Promise<T> => request<T>('DELETE', path)

/** The admin API's path of an instance's collection: `inst('idaas_…', 'credentials')`. */
export function inst(instanceId: string, ...rest: string[]): string {
  return ['/admin/v1/instances', seg(instanceId), ...rest].join('/')
}
