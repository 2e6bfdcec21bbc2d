import http, { type ClientRequest, type IncomingMessage } from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import tls from 'node:tls'
import type { FetchLike, Transport } from './fetch-like.js'
import { type ProxySettings, proxyFor } from './proxy-settings.js'
import { openTunnel, proxyAuthorization } from './proxy-tunnel.js'
import { toWebResponse } from './to-web-response.js'

/** What the Node transport needs beyond the platform's `fetch`. */
export interface NodeTransportOptions {
  /** The trusted CAs, PEM: the whole list (`loadCaBundle` gives Node's roots plus the extra ones). */
  ca?: readonly string[] | undefined
  /** Proxies and `NO_PROXY`, e.g. from `proxySettingsFromEnv`. */
  proxy?: ProxySettings | undefined
  /**
   * Accept any server certificate (the configuration's `unsafeIgnoreSslCert`). For a test bench
   * only: anyone on the path can then read and change the traffic, tokens and secrets included.
   */
  insecureSkipTlsVerify?: boolean | undefined
}

/**
 * A {@link FetchLike} on `node:http`/`node:https`, for what the platform `fetch` of Node 20 cannot
 * do without undici: a custom CA bundle and `HTTPS_PROXY`/`HTTP_PROXY` with `NO_PROXY`.
 *
 * - direct connections are pooled (keep-alive) and verified against `ca`;
 * - `https:` through a proxy: a `CONNECT` tunnel per request, then TLS to the target with `ca` and
 *   SNI, so the proxy sees only the host name;
 * - `http:` through a proxy: the request in absolute form to the proxy.
 *
 * The response body streams; redirects are not followed (the 3xx is returned); no compression is
 * asked for. A network failure rejects with `TypeError('fetch failed', { cause })` like the
 * platform `fetch`; an abort rejects with the signal's reason.
 */
export function createNodeTransport(options: NodeTransportOptions = {}): Transport {
  const ca = options.ca === undefined ? undefined : [...options.ca]
  const httpAgent = new http.Agent({ keepAlive: true })
  const verify = options.insecureSkipTlsVerify === true ? { rejectUnauthorized: false } : {}
  const httpsAgent = new https.Agent({ keepAlive: true, ...(ca ? { ca } : {}), ...verify })

  const fetch: FetchLike = async (input, init) => {
    const url = new URL(input)
    const signal = init.signal ?? undefined
    signal?.throwIfAborted()
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TypeError('fetch failed', { cause: new Error(`unsupported protocol ${url.protocol}`) })
    }
    const method = (init.method ?? 'GET').toUpperCase()
    const headers: Record<string, string> = {}
    for (const [name, value] of new Headers(init.headers)) headers[name] = value
    const body = requestBody(init.body)
    if (body !== undefined) headers['content-length'] = String(body.length)

    const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
    const port = url.port || (url.protocol === 'https:' ? '443' : '80')
    const proxy = options.proxy ? proxyFor(url, options.proxy) : undefined
    const path = `${url.pathname}${url.search}`
    let start: () => ClientRequest

    if (proxy && url.protocol === 'https:') {
      let socket: Awaited<ReturnType<typeof openTunnel>>
      try {
        socket = await openTunnel(proxy, `${url.hostname}:${port}`, { ca, signal })
      } catch (cause) {
        if (signal?.aborted) throw signal.reason
        throw new TypeError('fetch failed', { cause })
      }
      const servername = isIP(host) === 0 ? host : undefined
      start = () =>
        https.request({
          host,
          port,
          path,
          method,
          headers,
          createConnection: () =>
            tls.connect({
              socket,
              host,
              ...(servername ? { servername } : {}),
              ...(ca ? { ca } : {}),
              ...verify,
            }),
        })
    } else if (proxy) {
      const secureProxy = proxy.protocol === 'https:'
      start = () =>
        (secureProxy ? https : http).request({
          host: proxy.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: proxy.port || (secureProxy ? 443 : 80),
          path: `${url.origin}${path}`,
          method,
          headers: { ...headers, host: url.host, ...proxyAuthorization(proxy) },
          agent: secureProxy ? httpsAgent : httpAgent,
        })
    } else {
      const secure = url.protocol === 'https:'
      start = () =>
        (secure ? https : http).request({
          host,
          port,
          path,
          method,
          headers,
          agent: secure ? httpsAgent : httpAgent,
        })
    }
    return exchange(start, method, body, signal)
  }

  return {
    fetch,
    close() {
      httpAgent.destroy()
      httpsAgent.destroy()
    },
  }
}

function exchange(
  start: () => ClientRequest,
  method: string,
  body: Buffer | undefined,
  signal: AbortSignal | undefined,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = start()
    let message: IncomingMessage | undefined
    const onAbort = () => {
      const reason = signal?.reason
      request.destroy(reason)
      message?.destroy(reason)
      reject(reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    const release = () => signal?.removeEventListener('abort', onAbort)

    request.once('response', (response) => {
      message = response
      response.once('close', release)
      try {
        resolve(toWebResponse(response, method))
      } catch (cause) {
        // e.g. a status outside 200–599, which `Response` refuses.
        response.destroy()
        release()
        reject(new TypeError('fetch failed', { cause }))
      }
    })
    request.once('error', (cause) => {
      if (message === undefined) release()
      if (signal?.aborted) reject(signal.reason)
      else reject(new TypeError('fetch failed', { cause }))
    })
    request.end(body)
  })
}

function requestBody(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined
  if (typeof body === 'string') return Buffer.from(body)
  if (body instanceof URLSearchParams) return Buffer.from(body.toString())
  if (body instanceof ArrayBuffer) return Buffer.from(body)
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  throw new TypeError('this transport sends string, URLSearchParams or byte bodies only')
}
