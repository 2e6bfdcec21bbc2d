import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * An outside service (an upstream token endpoint, an issuer's JWKS) on loopback that answers 200
 * and never stops: `prefix`, then spaces for as long as the connection lasts. Read whole, its
 * answer would fill the server's memory until a timeout; a capped read gives up on it at once.
 * `closed()` says whether the reader went away; `sent()` how many bytes it was given meanwhile.
 */
export async function endlessAnswer(prefix = '') {
  let sent = 0
  let closed = false
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write(prefix)
    const chunk = Buffer.alloc(16 * 1024, 0x20)
    const more = () => {
      if (res.destroyed) return
      sent += chunk.length
      if (res.write(chunk)) setImmediate(more)
      else res.once('drain', more)
    }
    res.on('close', () => {
      closed = true
    })
    more()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    closed: () => closed,
    sent: () => sent,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
