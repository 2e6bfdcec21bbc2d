// The admin API from outside the browser (Node's fetch), to set up what a page shows and to check on
// the server what a page did or failed to do. Plain-HTTP servers only: the TLS tests stay in Chromium.
import type { ServerProcess } from '../../support/server-process.js'

export interface ApiAnswer<T = unknown> {
  readonly status: number
  readonly body: T
}

async function answer<T>(response: Response): Promise<ApiAnswer<T>> {
  const text = await response.text()
  let body: unknown = text
  try {
    body = text === '' ? undefined : JSON.parse(text)
  } catch {
    // not JSON: kept as text for the failure message
  }
  return { status: response.status, body: body as T }
}

/** The admin API with the server's bootstrap admin token as a bearer token. */
export class AdminApi {
  readonly #server: ServerProcess
  #token: string | undefined

  constructor(server: ServerProcess) {
    this.#server = server
  }

  async #authorization(): Promise<string> {
    this.#token ??= await this.#server.adminToken()
    return `Bearer ${this.#token}`
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = { authorization: await this.#authorization() }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(`${this.#server.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return answer<T>(response)
  }

  /** Like `call`, but throws with the answer unless it is 2xx. */
  async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const result = await this.call<T>(method, path, body)
    if (result.status < 200 || result.status > 299) {
      throw new Error(`${method} ${path} answered ${result.status}: ${JSON.stringify(result.body)}`)
    }
    return result.body
  }

  /** The default instance the first start created (the only one unless a test made more). */
  async defaultInstanceId(): Promise<string> {
    const page = await this.ok<{ entities: { instanceId: string; name: string }[] }>(
      'GET',
      '/admin/v1/instances',
    )
    const instance = page.entities.find((i) => i.name === 'default') ?? page.entities[0]
    if (!instance) throw new Error('the server has no instance')
    return instance.instanceId
  }
}

/**
 * A request carrying a console session the way the browser would (the cookie, the CSRF token), sent
 * from Node: what an attacker holding a stolen cookie could try.
 */
export async function withSession<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  session: { readonly cookie: string; readonly csrfToken?: string; readonly origin?: string },
  body?: unknown,
): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { cookie: session.cookie }
  if (session.csrfToken !== undefined) headers['x-csrf-token'] = session.csrfToken
  if (session.origin !== undefined) headers['origin'] = session.origin
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return answer<T>(response)
}
