// Real local servers for the HTTP layer's tests: plain HTTP, HTTPS with a throw-away self-signed
// certificate, and a tiny forward proxy (CONNECT tunnels and absolute-form requests) that counts.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestServer {
  readonly url: string
  readonly port: number
  /** Requests received so far. */
  readonly requests: http.IncomingMessage[]
  close(): Promise<void>
}

type Handler = (request: http.IncomingMessage, response: http.ServerResponse, index: number) => void

function track(server: http.Server | https.Server, scheme: string, handler: Handler): Promise<TestServer> {
  const requests: http.IncomingMessage[] = []
  server.on('request', (request, response) => {
    requests.push(request)
    let body = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => {
      body += chunk
    })
    request.on('end', () => {
      ;(request as http.IncomingMessage & { body: string }).body = body
      handler(request, response, requests.length - 1)
    })
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `${scheme}://127.0.0.1:${port}`,
        port,
        requests,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
      })
    })
  })
}

/** The body a test server received, read before the handler ran. */
export function bodyOf(request: http.IncomingMessage): string {
  return (request as http.IncomingMessage & { body?: string }).body ?? ''
}

export function startHttpServer(handler: Handler): Promise<TestServer> {
  return track(http.createServer(), 'http', handler)
}

export function startHttpsServer(certificate: Certificate, handler: Handler): Promise<TestServer> {
  return track(https.createServer({ key: certificate.key, cert: certificate.cert }), 'https', handler)
}

export interface Certificate {
  readonly key: string
  readonly cert: string
  /** A file holding `cert`, to pass as `caFile`. */
  readonly certFile: string
  dispose(): void
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl in a temporary folder. */
export function selfSignedCertificate(): Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'sdk-http-tls-'))
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  execFileSync(
    '/usr/bin/openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=strongroom test',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  )
  return {
    key: readFileSync(keyFile, 'utf8'),
    cert: readFileSync(certFile, 'utf8'),
    certFile,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  }
}

export interface TestProxy {
  readonly url: string
  /** `host:port` of every CONNECT tunnel opened. */
  readonly tunnels: string[]
  /** Absolute-form URLs forwarded (plain HTTP through the proxy). */
  readonly forwarded: string[]
  /** `proxy-authorization` headers seen. */
  readonly authorizations: string[]
  close(): Promise<void>
}

/** A forward proxy: CONNECT tunnels and absolute-form HTTP requests, each counted. */
export function startProxy(options: { refuseWith?: number } = {}): Promise<TestProxy> {
  const tunnels: string[] = []
  const forwarded: string[] = []
  const authorizations: string[] = []
  const sockets = new Set<net.Socket>()
  const server = http.createServer((request, response) => {
    forwarded.push(request.url ?? '')
    if (request.headers['proxy-authorization']) authorizations.push(request.headers['proxy-authorization'])
    const target = new URL(request.url ?? '')
    const headers = { ...request.headers }
    delete headers['proxy-authorization']
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: request.method,
        headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
      },
    )
    upstream.on('error', () => response.writeHead(502).end())
    request.pipe(upstream)
  })
  server.on('connect', (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(request.url ?? '')
    if (request.headers['proxy-authorization']) authorizations.push(request.headers['proxy-authorization'])
    if (options.refuseWith) {
      client.end(`HTTP/1.1 ${options.refuseWith} Refused\r\n\r\n`)
      return
    }
    const [host, port] = (request.url ?? '').split(':')
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    sockets.add(upstream).add(client)
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}`,
        tunnels,
        forwarded,
        authorizations,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.closeAllConnections()
            server.close(() => done())
          }),
      })
    })
  })
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A `sleep` that records what it was asked to wait and returns at once. */
export function recordingSleep(): {
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  waits: number[]
} {
  const waits: number[] = []
  return {
    waits,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted()
      waits.push(ms)
    },
  }
}

/** Sends a JSON answer. */
export function json(
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
) {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
  response.end(JSON.stringify(body))
}

/** The error body of a strongroom server, both key sets. */
export function errorBody(
  code: string,
  message: string,
  requestId: string,
  extra: Record<string, unknown> = {},
) {
  return {
    Code: code,
    Message: message,
    RequestId: requestId,
    error: code,
    error_description: message,
    request_id: requestId,
    ...extra,
  }
}
