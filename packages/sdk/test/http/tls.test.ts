import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConfigurationError, ConnectionError } from '../../src/errors.js'
import { createHttpClient } from '../../src/http/http-client.js'
import {
  type Certificate,
  json,
  recordingSleep,
  selfSignedCertificate,
  startHttpsServer,
  type TestServer,
} from './support.js'

let certificate: Certificate
let server: TestServer
beforeAll(async () => {
  certificate = selfSignedCertificate()
  server = await startHttpsServer(certificate, (request, response) =>
    json(response, 200, { path: request.url }),
  )
})
afterAll(async () => {
  await server.close()
  certificate.dispose()
})

const clients: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close()
})

describe('HTTPS with a custom CA bundle', () => {
  it('verifies a self-signed server given its certificate as caFile', async () => {
    const client = createHttpClient({ caFile: certificate.certFile, env: {} })
    clients.push(client)
    await expect(client.request('GET', `${server.url}/v2/ok`)).resolves.toEqual({ path: '/v2/ok' })
    // Keep-alive: the second call reuses the verified connection.
    await expect(client.request('GET', `${server.url}/v2/again`)).resolves.toEqual({ path: '/v2/again' })
  })

  it('verifies it given the PEM text as ca', async () => {
    const client = createHttpClient({ ca: certificate.cert, env: {} })
    clients.push(client)
    await expect(client.request('GET', `${server.url}/pem`)).resolves.toEqual({ path: '/pem' })
  })

  it('fails with a clear ConnectionError without it, and does not retry', async () => {
    const before = server.requests.length
    const { sleep, waits } = recordingSleep()
    const client = createHttpClient({ env: {}, sleep })
    clients.push(client)
    const error = (await client
      .request('GET', `${server.url}/v2/x`)
      .catch((e: unknown) => e)) as ConnectionError
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error.message).toMatch(/TLS failed \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/)
    expect(error.message).toContain('configure its CA bundle')
    expect(waits).toEqual([])
    expect(server.requests.length).toBe(before)
  })

  it('refuses a CA file that is missing or holds no certificate, naming it', () => {
    expect(() => createHttpClient({ caFile: '/nonexistent/ca.pem' })).toThrow(ConfigurationError)
    expect(() => createHttpClient({ caFile: '/nonexistent/ca.pem' })).toThrow('/nonexistent/ca.pem')
    expect(() => createHttpClient({ ca: 'not a pem' })).toThrow(/no PEM certificate/)
  })
})
