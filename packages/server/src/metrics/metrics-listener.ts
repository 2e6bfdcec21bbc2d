import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ConfigError } from '../errors.js'
import { CONTENT_TYPE } from './exposition.js'

export interface MetricsListener {
  /** `http://host:port/metrics`. */
  readonly url: string
  close(): Promise<void>
}

/**
 * A second, plain-HTTP listener with one route, `GET /metrics`, and no token: for a Prometheus
 * that scrapes over a private network. The metrics hold no secret, but they do describe the
 * server's load: bind it to an address only the scraper can reach. Off unless configured.
 * `expose` gives the exposition: one process's, or every worker's (cluster/primary.ts).
 */
export async function startMetricsListener(
  expose: () => Promise<string>,
  address: { host: string; port: number },
): Promise<MetricsListener> {
  const server = createServer({ headersTimeout: 5_000, requestTimeout: 10_000 }, (req, res) => {
    const path = (req.url ?? '').split('?')[0]
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': CONTENT_TYPE, 'cache-control': 'no-store', ...headers })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    if (path !== '/metrics') return send(404, 'not found: the metrics are at /metrics\n')
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(405, 'method not allowed: GET /metrics\n', { allow: 'GET, HEAD' })
    expose().then(
      (text) => send(200, text),
      () => send(503, 'the metrics could not be gathered; try again\n'),
    )
  })
  // A scraper needs few connections; this listener must not be a way to hold many open.
  server.maxConnections = 64
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new ConfigError(`cannot listen for metrics on ${address.host}:${address.port}: ${err.message}`, {
          cause: err,
        }),
      ),
    )
    server.listen(address.port, address.host, resolve)
  })
  const { port } = server.address() as AddressInfo
  const host = address.host.includes(':') ? `[${address.host}]` : address.host
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
