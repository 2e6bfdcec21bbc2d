import http from 'node:http'
import https from 'node:https'
import type { Socket } from 'node:net'

/**
 * The proxy could not give us a tunnel: it was unreachable (`cause` holds the socket error) or
 * answered the `CONNECT` with a non-2xx `status`. Its message names the proxy's host and port,
 * never its credentials.
 */
export class ProxyTunnelError extends Error {
  readonly code = 'ERR_PROXY_TUNNEL'
  readonly status: number | undefined
  constructor(message: string, options: { status?: number | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ProxyTunnelError'
    this.status = options.status
  }
}

/** `Proxy-Authorization: Basic …` for a proxy URL with `user:password@`, else nothing. */
export function proxyAuthorization(proxy: URL): Record<string, string> {
  if (proxy.username === '' && proxy.password === '') return {}
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`
  return { 'proxy-authorization': `Basic ${Buffer.from(credentials).toString('base64')}` }
}

/** `host:port` of a proxy, for messages: never its credentials. */
export function proxyLabel(proxy: URL): string {
  return `${proxy.hostname}:${proxy.port || (proxy.protocol === 'https:' ? '443' : '80')}`
}

/**
 * Opens an HTTP `CONNECT` tunnel through `proxy` to `authority` (`host:port`, IPv6 in brackets)
 * and resolves with the raw socket, ready for TLS. Aborting `signal` before the tunnel is up
 * destroys the attempt and rejects with the signal's reason.
 */
export function openTunnel(
  proxy: URL,
  authority: string,
  options: { ca?: readonly string[] | undefined; signal?: AbortSignal | undefined },
): Promise<Socket> {
  const { signal } = options
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const secure = proxy.protocol === 'https:'
    const proxyHost = proxy.hostname.replace(/^\[(.*)\]$/, '$1')
    const request = (secure ? https : http).request({
      host: proxyHost,
      port: proxy.port || (secure ? 443 : 80),
      method: 'CONNECT',
      path: authority,
      headers: { host: authority, ...proxyAuthorization(proxy) },
      agent: false,
      ...(secure && options.ca ? { ca: [...options.ca] } : {}),
    })
    const onAbort = () => request.destroy(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    const settle = () => signal?.removeEventListener('abort', onAbort)

    request.once('connect', (response, socket, head) => {
      settle()
      const status = response.statusCode ?? 0
      if (status < 200 || status > 299) {
        socket.destroy()
        reject(
          new ProxyTunnelError(
            `the proxy ${proxyLabel(proxy)} refused the tunnel: ${status} ${response.statusMessage ?? ''}`.trim(),
            { status },
          ),
        )
        return
      }
      if (head.length > 0) socket.unshift(head)
      resolve(socket)
    })
    request.once('error', (cause) => {
      settle()
      if (signal?.aborted) reject(signal.reason)
      else reject(new ProxyTunnelError(`cannot reach the proxy ${proxyLabel(proxy)}`, { cause }))
    })
    request.end()
  })
}
