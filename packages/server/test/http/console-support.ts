import { Writable } from 'node:stream'
import type { TestServer } from '../support/engines.js'

export interface SignedIn {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field by the assertions
  body: any
  headers: Record<string, unknown>
  setCookie: string | undefined
  /** The cookie as the browser sends it back (`name=value`), when one was set. */
  cookie: string | undefined
  /** The session's secret: the cookie's value. */
  secret: string | undefined
}

/** `POST /console/session` with `token`. */
export async function signIn(
  t: TestServer,
  token: unknown,
  headers: Record<string, string> = {},
): Promise<SignedIn> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/console/session',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify({ token }),
  })
  const setCookie = res.headers['set-cookie'] as string | undefined
  const pair = setCookie?.split(';')[0]
  return {
    status: res.statusCode,
    body: res.body === '' ? null : JSON.parse(res.body),
    headers: res.headers,
    setCookie,
    cookie: pair,
    secret: pair?.slice(pair.indexOf('=') + 1),
  }
}

/** The headers the console's script sends with every admin API call: the cookie and the CSRF token. */
export function sessionHeaders(session: SignedIn): Record<string, string> {
  return { cookie: session.cookie ?? '', 'x-csrf-token': session.body.csrfToken }
}

/** Log lines as JSON objects, from a pino stream. */
export function logCollector() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(line)
      done()
    },
  })
  return { lines, stream }
}
