import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConfigurationError, ConnectionError } from '../../src/errors.js'
import { createHttpClient, type HttpClient } from '../../src/http/http-client.js'
import {
  type Certificate,
  json,
  recordingSleep,
  selfSignedCertificate,
  startHttpServer,
  startHttpsServer,
  startProxy,
  type TestProxy,
  type TestServer,
} from './support.js'

let certificate: Certificate
let httpsServer: TestServer
let httpServer: TestServer
let proxy: TestProxy
beforeAll(async () => {
  certificate = selfSignedCertificate()
  httpsServer = await startHttpsServer(certificate, (request, response) =>
    json(response, 200, { via: 'https', path: request.url }),
  )
  httpServer = await startHttpServer((request, response) =>
    json(response, 200, { via: 'http', path: request.url }),
  )
  proxy = await startProxy()
})
afterAll(async () => {
  await proxy.close()
  await httpsServer.close()
  await httpServer.close()
  certificate.dispose()
})

const clients: HttpClient[] = []
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close()
  proxy.tunnels.length = 0
  proxy.forwarded.length = 0
  proxy.authorizations.length = 0
})

function client(env: Record<string, string>, extra: Parameters<typeof createHttpClient>[0] = {}): HttpClient {
  const created = createHttpClient({ ca: certificate.cert, env, ...extra })
  clients.push(created)
  return created
}

describe('proxies', () => {
  it('tunnels HTTPS through HTTPS_PROXY with CONNECT, TLS verified end to end', async () => {
    const pam = client({ HTTPS_PROXY: proxy.url })
    await expect(pam.request('GET', `${httpsServer.url}/v2/a?x=1`)).resolves.toEqual({
      via: 'https',
      path: '/v2/a?x=1',
    })
    await expect(pam.request('POST', `${httpsServer.url}/v2/b`, { json: { k: 'v' } })).resolves.toEqual({
      via: 'https',
      path: '/v2/b',
    })
    expect(proxy.tunnels).toEqual([`127.0.0.1:${httpsServer.port}`, `127.0.0.1:${httpsServer.port}`])
  })

  it('reads the lowercase names too, and sends proxy credentials as Basic', async () => {
    const url = new URL(proxy.url)
    url.username = 'svc'
    url.password = 'p@ss'
    const pam = client({ https_proxy: url.href })
    await pam.request('GET', `${httpsServer.url}/lower`)
    expect(proxy.tunnels).toHaveLength(1)
    expect(proxy.authorizations).toEqual([`Basic ${Buffer.from('svc:p@ss').toString('base64')}`])
  })

  it('forwards plain HTTP through HTTP_PROXY in absolute form', async () => {
    const pam = client({ HTTP_PROXY: proxy.url })
    await expect(pam.request('GET', `${httpServer.url}/plain?q=1`)).resolves.toEqual({
      via: 'http',
      path: '/plain?q=1',
    })
    expect(proxy.forwarded).toEqual([`${httpServer.url}/plain?q=1`])
    expect(proxy.tunnels).toEqual([])
  })

  it.each([
    ['the host', '127.0.0.1'],
    ['the host and its port', 'example.com, 127.0.0.1:PORT'],
    ['*', '*'],
    ['a CIDR range', '127.0.0.0/8'],
  ])('bypasses the proxy when NO_PROXY names %s', async (_name, noProxy) => {
    const pam = client({
      HTTPS_PROXY: proxy.url,
      NO_PROXY: noProxy.replace('PORT', String(httpsServer.port)),
    })
    await expect(pam.request('GET', `${httpsServer.url}/direct`)).resolves.toEqual({
      via: 'https',
      path: '/direct',
    })
    expect(proxy.tunnels).toEqual([])
  })

  it('still uses the proxy when NO_PROXY names another port', async () => {
    const pam = client({ HTTPS_PROXY: proxy.url, no_proxy: `127.0.0.1:${httpsServer.port + 1}` })
    await pam.request('GET', `${httpsServer.url}/other-port`)
    expect(proxy.tunnels).toHaveLength(1)
  })

  it('reports a refused tunnel as a ConnectionError naming the proxy, not retried when permanent', async () => {
    const refusing = await startProxy({ refuseWith: 403 })
    try {
      const { sleep, waits } = recordingSleep()
      const pam = client({ HTTPS_PROXY: refusing.url }, { sleep })
      const error = (await pam
        .request('GET', `${httpsServer.url}/x`)
        .catch((e: unknown) => e)) as ConnectionError
      expect(error).toBeInstanceOf(ConnectionError)
      expect(error.message).toContain(`the proxy ${new URL(refusing.url).host} refused the tunnel: 403`)
      expect(waits).toEqual([])
    } finally {
      await refusing.close()
    }
  })

  it('refuses an unusable proxy variable without echoing its value', () => {
    expect(() => createHttpClient({ env: { HTTPS_PROXY: 'socks5://user:secret@proxy:1080' } })).toThrow(
      ConfigurationError,
    )
    expect(() => createHttpClient({ env: { HTTPS_PROXY: 'socks5://user:secret@proxy:1080' } })).not.toThrow(
      /secret/,
    )
  })
})
