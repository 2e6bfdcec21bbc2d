import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'

const CONNECTIONS = 2_000
const REQUEST_TIMEOUT_MS = 3_000

/** Opens a connection that sends full headers promising 100 body bytes, then only 2 of them. */
function partialBody(port: number, path: string): Promise<{ socket: Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now())))
    socket.resume()
    socket.once('error', () => {})
    socket.once('connect', () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"`,
      )
      resolve({ socket, closed })
    })
    socket.once('error', reject)
  })
}

describe('slow clients', () => {
  let server: ServerProcess | undefined
  afterEach(async () => server?.stop())

  it(`closes ${CONNECTIONS} connections that never finish their body within the request timeout, serving others meanwhile`, async () => {
    server = await startServer({
      env: {
        STRONGROOM_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        STRONGROOM_HEADERS_TIMEOUT_MS: '2000',
        STRONGROOM_LOG_LEVEL: 'warn',
      },
    })
    const port = Number(new URL(server.url).port)
    const instance = 'idaas_x'
    const paths = [
      '/admin/v1/instances',
      `/v2/${instance}/authorizationServer/iauths_system/oauth2/token`,
      `/v2/${instance}/authenticationTokens/_/actions/validate`,
    ]
    const started = Date.now()
    const sockets: { socket: Socket; closed: Promise<number> }[] = []
    for (let i = 0; i < CONNECTIONS; i++) sockets.push(await partialBody(port, paths[i % paths.length]!))
    const opened = Date.now()
    // A normal request is served while they hang.
    const health = await fetch(`${server.url}/healthz`)
    expect(health.status).toBe(200)
    const token = await server.adminToken()
    const whoami = await fetch(`${server.url}/admin/v1/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(whoami.status).toBe(200)
    const closedAt = await Promise.all(sockets.map((s) => s.closed))
    // Each is cut within its deadline plus the one-second check interval (and the time it took to
    // open them all, since the first was opened that much earlier).
    const latest = Math.max(...closedAt)
    expect(latest - started).toBeLessThan(opened - started + REQUEST_TIMEOUT_MS + 2_000)
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
  }, 60_000)

  it('refuses a request-timeout setting that is not a whole number of milliseconds, naming it', async () => {
    await expect(startServer({ env: { STRONGROOM_REQUEST_TIMEOUT_MS: '1e4' } })).rejects.toThrow(
      /request-timeout-ms "1e4" from STRONGROOM_REQUEST_TIMEOUT_MS must be a whole number/,
    )
  })
})
