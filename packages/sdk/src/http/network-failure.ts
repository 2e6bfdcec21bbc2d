import { ProxyTunnelError } from './proxy-tunnel.js'

/** What went wrong below HTTP, as far as retrying and reporting need to know. */
export interface NetworkFailure {
  /** The Node / undici error code found in the `cause` chain (`ECONNREFUSED`, …), if any. */
  readonly code: string | undefined
  /** A short human description, free of URLs and secrets. */
  readonly description: string
  /** The request surely never reached the server (refused, DNS, unreachable): safe to retry. */
  readonly notSent: boolean
  /** Retrying cannot help (TLS verification, a proxy refusing the tunnel for good). */
  readonly permanent: boolean
  /** A TLS failure (the message then suggests the CA bundle). */
  readonly tls: boolean
}

const NOT_SENT = new Map<string, string>([
  ['ECONNREFUSED', 'connection refused'],
  ['ENOTFOUND', 'DNS lookup failed'],
  ['EAI_AGAIN', 'DNS lookup failed (temporary)'],
  ['EAI_NONAME', 'DNS lookup failed'],
  ['ENETUNREACH', 'network unreachable'],
  ['ENETDOWN', 'network down'],
  ['EHOSTUNREACH', 'host unreachable'],
  ['EHOSTDOWN', 'host down'],
  ['EADDRNOTAVAIL', 'address not available'],
  ['UND_ERR_CONNECT_TIMEOUT', 'connection attempt timed out'],
])

const MAYBE_SENT = new Map<string, string>([
  ['ECONNRESET', 'connection reset'],
  ['EPIPE', 'connection closed while sending'],
  ['ECONNABORTED', 'connection aborted'],
  ['ETIMEDOUT', 'connection timed out'],
  ['UND_ERR_SOCKET', 'connection closed by the server'],
  ['UND_ERR_CLOSED', 'connection closed'],
  ['UND_ERR_HEADERS_TIMEOUT', 'no response headers in time'],
  ['UND_ERR_BODY_TIMEOUT', 'no response body in time'],
])

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/

/**
 * Whether `error` (a rejection of `fetch`) is a network failure: the platform's
 * `TypeError('fetch failed')`, a proxy tunnel failure, or anything carrying a Node error `code` in
 * its `cause` chain. Anything else (an invalid URL or header, a custom transport's own error) is
 * passed through to the caller unchanged.
 */
export function isNetworkFailure(error: unknown): boolean {
  if (error instanceof TypeError && error.message === 'fetch failed') return true
  return findInChain(error, (e) => e instanceof ProxyTunnelError || codeOf(e) !== undefined) !== undefined
}

/** Classifies a network failure for the retry decision and the `ConnectionError` message. */
export function classifyNetworkFailure(error: unknown): NetworkFailure {
  const tunnel = findInChain(error, (e) => e instanceof ProxyTunnelError) as ProxyTunnelError | undefined
  if (tunnel?.status !== undefined) {
    const transient = tunnel.status === 502 || tunnel.status === 503 || tunnel.status === 504
    return {
      code: tunnel.code,
      description: tunnel.message,
      notSent: true,
      permanent: !transient,
      tls: false,
    }
  }
  const coded = findInChain(tunnel?.cause ?? error, (e) => codeOf(e) !== undefined)
  const code = coded === undefined ? undefined : codeOf(coded)
  const prefix = tunnel ? `${tunnel.message}: ` : ''
  if (code !== undefined && TLS_CODE.test(code)) {
    const detail = coded instanceof Error ? `: ${coded.message.slice(0, 300)}` : ''
    return {
      code,
      description: `${prefix}TLS failed (${code}${detail})`,
      notSent: true,
      permanent: true,
      tls: true,
    }
  }
  const notSent = code === undefined ? undefined : NOT_SENT.get(code)
  if (notSent !== undefined) {
    return { code, description: `${prefix}${notSent} (${code})`, notSent: true, permanent: false, tls: false }
  }
  const described = code === undefined ? undefined : MAYBE_SENT.get(code)
  const description = described ?? (code === undefined ? 'network failure' : `network failure (${code})`)
  return {
    code,
    description: `${prefix}${described === undefined ? description : `${described} (${code})`}`,
    notSent: tunnel !== undefined,
    permanent: false,
    tls: false,
  }
}

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

function findInChain(error: unknown, test: (e: unknown) => boolean): unknown {
  const seen = new Set<unknown>()
  let current: unknown = error
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current)
    if (test(current)) return current
    // Happy-eyeballs connects fail with an AggregateError of one error per address.
    if (current instanceof AggregateError && current.errors.length > 0 && codeOf(current) === undefined) {
      const inner = current.errors.find((e) => test(e))
      if (inner !== undefined) return inner
    }
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}
