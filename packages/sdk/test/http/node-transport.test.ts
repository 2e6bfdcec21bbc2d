import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectionError, TimeoutError } from '../../src/errors.js'
import { createHttpClient } from '../../src/http/http-client.js'
import { createNodeTransport } from '../../src/http/node-transport.js'
import {
  type Certificate,
  closedPort,
  recordingSleep,
  selfSignedCertificate,
  startHttpsServer,
  type TestServer,
} from './support.js'

// The node:https transport is what runs whenever a CA bundle or a proxy applies: the timeouts, the
// caller's signal and network failures must behave there exactly as with the platform fetch.
let certificate: Certificate
let server: TestServer
beforeAll(async () => {
  certificate = selfSignedCertificate()
  server = await startHttpsServer(certificate, (request, response) => {
    if (request.url === '/hang') return
    if (request.url === '/stall') {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.write('[')
      return
    }
    if (request.url === '/no-content') {
      response.writeHead(204).end()
      return
    }
    response
      .writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] })
      .end('{"ok":true}')
  })
})
afterAll(async () => {
  await server.close()
  certificate.dispose()
})

describe('node transport', () => {
  it('returns a WHATWG Response with its status, headers and streamed body', async () => {
    const transport = createNodeTransport({ ca: [certificate.cert] })
    try {
      const response = await transport.fetch(`${server.url}/x`, { method: 'GET' })
      expect(response.status).toBe(200)
      expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
      await expect(response.json()).resolves.toEqual({ ok: true })
      const empty = await transport.fetch(`${server.url}/no-content`, { method: 'DELETE' })
      expect(empty.status).toBe(204)
      expect(empty.body).toBeNull()
    } finally {
      transport.close()
    }
  })

  it('applies the connect timeout', async () => {
    const client = createHttpClient({ ca: certificate.cert, env: {}, connectTimeout: 200 })
    await expect(client.request('GET', `${server.url}/hang`)).rejects.toThrow(TimeoutError)
    await client.close()
  })

  it('applies the read timeout to a stalled body', async () => {
    const client = createHttpClient({ ca: certificate.cert, env: {}, readTimeout: 200 })
    await expect(client.request('GET', `${server.url}/stall`)).rejects.toThrow(/read timeout of 200 ms/)
    await client.close()
  })

  it("rejects with the caller's reason when aborted", async () => {
    const client = createHttpClient({ ca: certificate.cert, env: {} })
    const reason = new Error('stop')
    const controller = new AbortController()
    const call = client.request('GET', `${server.url}/hang`, { signal: controller.signal })
    setTimeout(() => controller.abort(reason), 50)
    await expect(call).rejects.toBe(reason)
    await client.close()
  })

  it('retries a refused connection and then raises ConnectionError', async () => {
    const port = await closedPort()
    const { sleep, waits } = recordingSleep()
    const client = createHttpClient({ ca: certificate.cert, env: {}, sleep })
    await expect(client.request('GET', `https://127.0.0.1:${port}/`)).rejects.toThrow(ConnectionError)
    expect(waits).toHaveLength(2)
    await client.close()
  })

  it('supports await using', async () => {
    {
      await using client = createHttpClient({ ca: certificate.cert, env: {} })
      await expect(client.request('GET', `${server.url}/x`)).resolves.toEqual({ ok: true })
    }
  })
})
