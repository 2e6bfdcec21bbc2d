import { PassThrough, Writable } from 'node:stream'
import type { InputStream, Io, OutputStream } from '../src/io.js'
import type { ServerApi } from '../src/server-api.js'

/** A writable stream that keeps what is written, with an `isTTY` of our choosing. */
export class Collector extends Writable implements OutputStream {
  text = ''
  isTTY: boolean

  constructor(isTTY = false) {
    super()
    this.isTTY = isTTY
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += String(chunk)
    callback()
  }
}

/** A terminal-like stdin: a PassThrough that records `setRawMode` calls. */
export function fakeTerminal(): PassThrough & InputStream & { rawModes: boolean[] } {
  const stream = new PassThrough() as PassThrough & InputStream & { rawModes: boolean[] }
  stream.isTTY = true
  stream.rawModes = []
  stream.setRawMode = (mode: boolean) => {
    stream.rawModes.push(mode)
    return stream
  }
  return stream
}

/** stdin that is a pipe holding `text`. */
export function pipedStdin(text: string): InputStream {
  const stream = new PassThrough()
  stream.end(text)
  return stream
}

export interface FakeIo extends Io {
  stdout: Collector
  stderr: Collector
}

export function fakeIo(
  overrides: Partial<Omit<Io, 'stdout' | 'stderr'>> = {},
  options: { stdoutIsTTY?: boolean } = {},
): FakeIo {
  return {
    stdin: pipedStdin(''),
    env: {},
    cwd: '/nonexistent',
    fetch: () => Promise.reject(new Error('no fetch in this test')),
    loadServer: () => Promise.reject(new Error('no server in this test')) as Promise<ServerApi>,
    onInterrupt: () => () => {},
    ...overrides,
    stdout: new Collector(options.stdoutIsTTY ?? false),
    stderr: new Collector(),
  }
}

/** A fetch that answers from a table of `METHOD path` → [status, body], recording requests. */
export function fakeFetch(
  routes: Record<string, [number, unknown] | ((url: URL, init: RequestInit) => [number, unknown])>,
) {
  const requests: { method: string; url: URL; headers: Headers; body: unknown }[] = []
  const fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input))
    const method = init.method ?? 'GET'
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined
    requests.push({ method, url, headers: new Headers(init.headers), body })
    const route = routes[`${method} ${url.pathname}`]
    if (route === undefined)
      return Response.json(
        { Code: 'RouteNotFound', Message: 'no route', RequestId: 'req_x' },
        { status: 404 },
      )
    const [status, answer] = typeof route === 'function' ? route(url, init) : route
    return status === 204 ? new Response(null, { status }) : Response.json(answer, { status })
  }
  return { fetch: fetch as typeof globalThis.fetch, requests }
}
