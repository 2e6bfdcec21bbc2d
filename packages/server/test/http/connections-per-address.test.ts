// One client holding every connection slot (a reviewer's 4,096 idle sockets) kept everyone else
// out until the headers timeout. An address's open connections are bounded, below the total.

import type { AddressInfo } from 'node:net'
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_CONNECTION_LIMITS } from '../../src/config/config.js'
import { openTestServer, type TestServer } from '../support/engines.js'

/** Resolves true if the server closed the socket within `ms` without a byte, false if it stayed open. */
function closedByServer(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

const opened = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket))
    socket.once('error', reject)
  })

describe('open connections per address', () => {
  let t: TestServer
  let port: number
  beforeAll(async () => {
    t = await openTestServer('sqlite', {
      app: { limits: { ...DEFAULT_CONNECTION_LIMITS, maxConnectionsPerAddress: 3 } },
    })
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    port = (t.app.server.address() as AddressInfo).port
  })
  afterAll(async () => t?.close())

  it('closes a connection past the address’s share at once, and takes one again when a slot frees', async () => {
    const held = [await opened(port), await opened(port), await opened(port)]
    const extra = await opened(port)
    expect(await closedByServer(extra, 2_000)).toBe(true)
    for (const socket of held) expect(socket.destroyed).toBe(false)
    held[0]!.destroy()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const again = await opened(port)
    expect(await closedByServer(again, 300)).toBe(false)
    for (const socket of [...held, again]) socket.destroy()
  })
})
