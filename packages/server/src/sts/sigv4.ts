import { createHash, createHmac } from 'node:crypto'
import { percentEncode } from './rpc-signature.js'

// AWS Signature Version 4 (header form), as the AWS IAM User Guide ("Create a signed AWS API
// request") documents it:
//   CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n
//                      hex(SHA-256(payload))
//   StringToSign     = "AWS4-HMAC-SHA256" \n X-Amz-Date \n date/region/service/aws4_request \n
//                      hex(SHA-256(CanonicalRequest))
//   SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
//   Signature        = hex(HMAC(SigningKey, StringToSign))
// Only the non-S3 rules are implemented (paths normalized and encoded twice, payload always hashed).

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256'

/** What is signed: the method, the URL (host, path, query), the headers to sign and the body. */
export interface SigV4Request {
  readonly method: string
  readonly url: URL
  /** Headers to sign besides `host` (taken from the URL) and `x-amz-date` (added). */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | Uint8Array
}

export interface SigV4Credentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** A temporary key's token: sent and signed as `x-amz-security-token`. */
  readonly sessionToken?: string | undefined
}

export interface SigV4Signed {
  /** The headers to send on top of the request's: `x-amz-date`, `authorization`, the token if any. */
  readonly headers: Readonly<Record<string, string>>
  readonly canonicalRequest: string
  readonly stringToSign: string
  readonly signedHeaders: string
  readonly signature: string
}

/** `YYYYMMDDTHHMMSSZ`, UTC. */
export function amzDate(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

function hmac(key: string | Uint8Array, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest()
}

/**
 * The canonical URI of a non-S3 request: the path (as it is on the wire, so already encoded once)
 * with `.`/`..`/empty segments removed, each segment URI-encoded again.
 */
export function canonicalUri(pathname: string): string {
  const segments: string[] = []
  for (const segment of pathname.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') segments.pop()
    else segments.push(segment)
  }
  if (segments.length === 0) return '/'
  const trailing = pathname.endsWith('/') ? '/' : ''
  return `/${segments.map(percentEncode).join('/')}${trailing}`
}

/** The canonical query: each name and value URI-encoded, sorted by name then value, `&`-joined. */
export function canonicalQuery(search: string): string {
  const raw = search.startsWith('?') ? search.slice(1) : search
  if (raw === '') return ''
  const pairs = raw
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const at = pair.indexOf('=')
      const name = at < 0 ? pair : pair.slice(0, at)
      const value = at < 0 ? '' : pair.slice(at + 1)
      return [percentEncode(decode(name)), percentEncode(decode(value))] as const
    })
  pairs.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
  return pairs.map(([name, value]) => `${name}=${value}`).join('&')
}

function decode(component: string): string {
  try {
    return decodeURIComponent(component)
  } catch {
    return component
  }
}

/** Lower-case names, values trimmed with inner runs of spaces collapsed, sorted by name. */
export function canonicalHeaders(headers: Readonly<Record<string, string>>): {
  canonical: string
  signedHeaders: string
} {
  const entries = Object.entries(headers)
    .map(
      ([name, value]) =>
        [name.toLowerCase(), value.replace(/[ \t\r\n]+/g, ' ').replace(/^ | $/g, '')] as const,
    )
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return {
    canonical: entries.map(([name, value]) => `${name}:${value}\n`).join(''),
    signedHeaders: entries.map(([name]) => name).join(';'),
  }
}

/** `date/region/service/aws4_request`. */
export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/aws4_request`
}

/** The signing key, derived from the secret for one day, region and service. */
export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secretAccessKey}`, date)
  const kRegion = hmac(kDate, region)
  const kService = hmac(kRegion, service)
  return hmac(kService, 'aws4_request')
}

/** The canonical request of `request` signing exactly `headers` (which must include host). */
export function canonicalRequest(
  method: string,
  url: URL,
  headers: Readonly<Record<string, string>>,
  payloadHash: string,
): { text: string; signedHeaders: string } {
  const { canonical, signedHeaders } = canonicalHeaders(headers)
  const text = [
    method.toUpperCase(),
    canonicalUri(url.pathname),
    canonicalQuery(url.search),
    canonical,
    signedHeaders,
    payloadHash,
  ].join('\n')
  return { text, signedHeaders }
}

/** `AWS4-HMAC-SHA256 \n amzDate \n scope \n hex(SHA-256(canonicalRequest))`. */
export function stringToSign(date: string, scope: string, canonical: string): string {
  return [SIGV4_ALGORITHM, date, scope, sha256Hex(canonical)].join('\n')
}

/**
 * Signs `request` at `epochMs` for `region`/`service`: the `host` header comes from the URL (what
 * `fetch` sends), `x-amz-date` and (for a temporary key) `x-amz-security-token` are added and signed.
 */
export function signSigV4(
  request: SigV4Request,
  credentials: SigV4Credentials,
  scope: { readonly region: string; readonly service: string },
  epochMs: number,
): SigV4Signed {
  const date = amzDate(epochMs)
  const day = date.slice(0, 8)
  const added: Record<string, string> = { 'x-amz-date': date }
  if (credentials.sessionToken !== undefined) added['x-amz-security-token'] = credentials.sessionToken
  const toSign: Record<string, string> = { host: request.url.host }
  for (const [name, value] of Object.entries(request.headers)) toSign[name.toLowerCase()] = value
  Object.assign(toSign, added)
  const canonical = canonicalRequest(request.method, request.url, toSign, sha256Hex(request.body))
  const credentialScopeValue = credentialScope(day, scope.region, scope.service)
  const text = stringToSign(date, credentialScopeValue, canonical.text)
  const signature = createHmac(
    'sha256',
    signingKey(credentials.secretAccessKey, day, scope.region, scope.service),
  )
    .update(text, 'utf8')
    .digest('hex')
  const authorization =
    `${SIGV4_ALGORITHM} Credential=${credentials.accessKeyId}/${credentialScopeValue}, ` +
    `SignedHeaders=${canonical.signedHeaders}, Signature=${signature}`
  return {
    headers: { ...added, authorization },
    canonicalRequest: canonical.text,
    stringToSign: text,
    signedHeaders: canonical.signedHeaders,
    signature,
  }
}
