import { createHmac } from 'node:crypto'

// Alibaba Cloud's RPC-style request signature, "signature method V2" (SignatureVersion 1.0,
// SignatureMethod HMAC-SHA1), as the Alibaba Cloud API reference ("Request signatures") documents it:
//   1. every parameter except Signature, sorted by name;
//   2. each name and value percent-encoded (below), joined `name=value` with `&`;
//   3. StringToSign = HTTPMethod & percentEncode("/") & percentEncode(that canonicalized query);
//   4. Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", UTF-8 of StringToSign)).
// The parameters may travel in the query or the form body: the signature covers them all alike.

/** The characters RFC 3986 leaves unreserved: A–Z a–z 0–9 `-` `_` `.` `~`. */
function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d ||
    byte === 0x5f ||
    byte === 0x2e ||
    byte === 0x7e
  )
}

/**
 * RFC 3986 percent-encoding of the UTF-8 bytes of `value`, as both Alibaba Cloud's RPC signature and
 * AWS SigV4's `UriEncode` define it: unreserved characters stay, every other byte becomes `%XY`
 * (upper-case hex). So a space is `%20` (never `+`), `*` is `%2A`, `~` stays `~`.
 */
export function percentEncode(value: string): string {
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    out += isUnreserved(byte)
      ? String.fromCharCode(byte)
      : `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`
  }
  return out
}

/** `name=value&…`, both percent-encoded, in the order given: a query string or a form body. */
export function encodeParams(params: Readonly<Record<string, string>>): string {
  return Object.entries(params)
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&')
}

/** The canonicalized query string: every parameter but `Signature`, sorted by name, encoded. */
export function rpcCanonicalQuery(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .filter((name) => name !== 'Signature')
    .sort()
    .map((name) => `${percentEncode(name)}=${percentEncode(params[name]!)}`)
    .join('&')
}

/** `METHOD&%2F&percentEncode(canonicalized query)`. */
export function rpcStringToSign(method: string, params: Readonly<Record<string, string>>): string {
  return `${method.toUpperCase()}&${percentEncode('/')}&${percentEncode(rpcCanonicalQuery(params))}`
}

/** Base64(HMAC-SHA1(secret + "&", stringToSign)). */
export function rpcSignature(stringToSign: string, accessKeySecret: string): string {
  return createHmac('sha1', `${accessKeySecret}&`).update(stringToSign, 'utf8').digest('base64')
}

/** The `Timestamp` parameter: UTC, whole seconds, `YYYY-MM-DDTHH:MM:SSZ`. */
export function rpcTimestamp(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
}
