import { isIP } from 'node:net'
import { UsageError } from '../errors.js'

/** Where the credentials endpoint listens: a loopback address and a port (0: any free one). */
export interface LoopbackAddress {
  /** `127.x.x.x` or `::1`. */
  readonly host: string
  readonly port: number
}

/** Whether `address` (as `server.address()` or a socket reports it) is a loopback address. */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  if (isIP(bare) === 4) return bare.split('.')[0] === '127'
  if (bare.startsWith('::ffff:') && isIP(bare.slice(7)) === 4) return bare.slice(7).split('.')[0] === '127'
  return bare === '::1' || bare === '0:0:0:0:0:0:0:1'
}

/**
 * `--listen HOST:PORT` for the credentials endpoint: `127.0.0.1:PORT` (any of 127.0.0.0/8),
 * `[::1]:PORT` or `localhost:PORT` (127.0.0.1). Any other host — `0.0.0.0`, an interface's address,
 * a name — is refused: the endpoint hands out cloud credentials to whoever holds its capability,
 * and a capability is not meant to travel over a network.
 */
export function parseLoopbackListen(text: string): LoopbackAddress {
  const match = /^(\[[^\]]*\]|[^:]*):(\d{1,5})$/.exec(text)
  const port = match === null ? Number.NaN : Number(match[2])
  if (match === null || !(port >= 0 && port <= 65_535))
    throw new UsageError(`--listen ${JSON.stringify(text)} is not HOST:PORT (e.g. 127.0.0.1:9911)`)
  const host = match[1]!.toLowerCase() === 'localhost' ? '127.0.0.1' : match[1]!.replace(/^\[(.*)\]$/, '$1')
  if (!isLoopbackAddress(host) || host.startsWith('::ffff:'))
    throw new UsageError(
      `refusing to listen on ${match[1]}: the credentials endpoint listens on loopback only (127.0.0.1, [::1] or localhost)`,
    )
  return { host, port }
}

/** The origin a client uses to reach `host:port`: `http://127.0.0.1:8911`, `http://[::1]:8911`. */
export function originOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}
