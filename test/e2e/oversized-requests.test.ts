import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'

/** Sends `request` over a fresh socket and reads everything until the server closes it. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    socket.on('data', (chunk) => chunks.push(chunk))
    // The server may close while the rest of an oversized request is still being written.
    socket.on('error', () => {})
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')))
    socket.once('connect', () => socket.write(request))
    setTimeout(() => reject(new Error('the server did not close the connection')), 10_000).unref()
  })
}

function parse(response: string) {
  const [head = '', body = ''] = response.split('\r\n\r\n')
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  )
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) }
}

describe('requests too large for the HTTP parser or the router', () => {
  let server: ServerProcess
  let port: number
  beforeAll(async () => {
    server = await startServer({ env: { STRONGROOM_LOG_LEVEL: 'warn' } })
    port = Number(new URL(server.url).port)
  })
  afterAll(async () => server?.stop())

  const expectApiError = (res: ReturnType<typeof parse>, status: number, Code: string, field: string) => {
    expect(res.status).toBe(status)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.headers.connection).toBe('close')
    expect(res.body).toMatchObject({ Code, error: 'invalid_request', field })
    expect(res.body.RequestId).toMatch(/^req_/)
    expect(res.body.request_id).toBe(res.body.RequestId)
    expect(res.headers['x-request-id']).toBe(res.body.RequestId)
    expect(typeof res.body.Message).toBe('string')
    expect(res.body.error_description).toBe(res.body.Message)
  }

  it('answers headers past the limit with 431 in the API error body, and closes', async () => {
    const res = parse(
      await rawExchange(port, `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`),
    )
    expectApiError(res, 431, 'HeadersTooLarge', 'headers')
  })

  it('answers a request line past the limit with 414 in the API error body, and closes', async () => {
    const res = parse(
      await rawExchange(port, `GET /healthz?q=${'a'.repeat(20_000)} HTTP/1.1\r\nhost: x\r\n\r\n`),
    )
    expectApiError(res, 414, 'UriTooLong', 'path')
  })

  it('answers an overlong path segment with 414 in the API error body, and serves an identifier-sized one', async () => {
    const long = await fetch(`${server.url}/admin/v1/instances/${'a'.repeat(2_000)}/credentials`)
    expect(long.status).toBe(414)
    expect(await long.json()).toMatchObject({ Code: 'UriTooLong', error: 'invalid_request', field: 'path' })
    // A 128-character identifier with its slashes percent-encoded passes the router (and then
    // needs a token, like any admin call).
    const identifier = encodeURIComponent(`${'a/'.repeat(63)}ab`)
    const fits = await fetch(`${server.url}/admin/v1/instances/idaas_x/credentials/${identifier}`)
    expect(fits.status).toBe(401)
  })

  it('answers bytes that are not HTTP with 400 in the API error body', async () => {
    const res = parse(await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n'))
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ Code: 'InvalidParameter', error: 'invalid_request' })
    expect(res.headers.connection).toBe('close')
  })

  it('keeps the user-info of an absolute-form request target out of answers and logs, and logs who sent a malformed request', async () => {
    const logged = await startServer({ env: { STRONGROOM_LOG_LEVEL: 'info' } })
    try {
      const p = Number(new URL(logged.url).port)
      const target = (path: string) => `http://admin:CANARYUSERINFO@127.0.0.1:${p}${path}`
      const request = (path: string) => `GET ${target(path)} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`
      // Routed like the path alone (Node takes the absolute form); the answer repeats 64
      // characters of the path at most, and never what came before it.
      const missing = parse(await rawExchange(p, request(`/nope/${'x'.repeat(200)}?q=CANARYQUERY`)))
      expect(missing.status).toBe(404)
      expect(missing.body.Message).toBe(`no route GET /nope/${'x'.repeat(58)}...`)
      const health = await rawExchange(p, request('/healthz?q=CANARYQUERY'))
      expect(health.split(' ')[1]).toBe('200')
      // A malformed request: its log line names its source.
      const big = parse(
        await rawExchange(p, `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`),
      )
      expect(big.status).toBe(431)
      await expect
        .poll(() => logged.logs())
        .toMatch(/"code":"HeadersTooLarge"[^\n]*"remoteAddress":"127\.0\.0\.1"/)
      expect(logged.logs()).toContain('"path":"/healthz"')
      expect(logged.logs()).not.toContain('CANARY')
    } finally {
      await logged.stop()
    }
  })
})
