import { constants, type KeyObject, verify } from 'node:crypto'
import { rsaKeyProblem } from '@strongroom/dpop'

/**
 * OCI request signatures (OCI's "Signature Version 1"): draft-cavage-http-signatures-08 with the
 * `Signature` scheme of the `Authorization` header, `rsa-sha256`, and a fixed set of headers that
 * must be signed. The OCI SDKs (oci-common's `DefaultRequestSigner`, with http-signature) sign
 * `x-date (request-target) host`, and for a request with a body also `content-type content-length
 * x-content-sha256`, and write
 * `Signature version="1",keyId="<tenancy>/<user>/<fingerprint>",algorithm="rsa-sha256",headers="…",signature="<base64>"`.
 * Only the wire lives here; which key, and whether it was seen before, is the service's.
 *
 * @see https://datatracker.ietf.org/doc/html/draft-cavage-http-signatures-08
 */

/** The parameters of a `Signature` authorization. */
export interface SignatureParams {
  keyId: string
  algorithm: string
  /** The signed header names, lower case, in the order signed. */
  headers: string[]
  /** The signature, base64 as sent. */
  signature: string
}

/** Why an `Authorization` header is no OCI signature, in a few words for the caller. */
export class MalformedSignature extends Error {
  override name = 'MalformedSignature'
}

/** The only algorithm of OCI's signature version 1. */
export const OCI_SIGNATURE_ALGORITHM = 'rsa-sha256'

const MAX_KEY_ID = 512
const MAX_SIGNATURE = 2048
const MAX_HEADERS = 32
const PARAM = /^([a-zA-Z]+)="([^"]*)"$/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const HEADER_NAME = /^(\([a-z-]+\)|[!#$%&'*+.^_`|~0-9a-z-]+)$/

/**
 * Parses `Authorization: Signature k="v",k="v",…` (the scheme case-insensitive, parameters in any
 * order, each at most once). `keyId`, `headers` and `signature` are required, `algorithm` too (the
 * OCI SDKs always send it), and `version`, when present, must be `1`. Anything else is a
 * `MalformedSignature` naming what is wrong.
 */
export function parseSignatureAuthorization(header: unknown): SignatureParams {
  if (typeof header !== 'string') throw new MalformedSignature('no Authorization: Signature header was sent')
  const match = /^Signature\s+(.*)$/is.exec(header.trim())
  if (!match) throw new MalformedSignature('the Authorization header is not of the Signature scheme')
  const params = new Map<string, string>()
  for (const part of splitParams(match[1] ?? '')) {
    const param = PARAM.exec(part.trim())
    if (!param) throw new MalformedSignature('the Signature parameters must be name="value" pairs')
    const name = param[1]!.toLowerCase()
    if (params.has(name)) throw new MalformedSignature(`the Signature parameter ${name} is given twice`)
    params.set(name, param[2]!)
  }
  const version = params.get('version')
  if (version !== undefined && version !== '1')
    throw new MalformedSignature('only version="1" of OCI request signatures is supported')
  const keyId = params.get('keyid')
  const algorithm = params.get('algorithm')
  const headers = params.get('headers')
  const signature = params.get('signature')
  if (keyId === undefined || keyId === '' || keyId.length > MAX_KEY_ID)
    throw new MalformedSignature(`keyId is required, at most ${MAX_KEY_ID} characters`)
  if (algorithm === undefined) throw new MalformedSignature('algorithm is required')
  if (headers === undefined || headers.trim() === '') throw new MalformedSignature('headers is required')
  if (signature === undefined || signature.length > MAX_SIGNATURE || !BASE64.test(signature))
    throw new MalformedSignature('signature is required, in base64')
  const names = headers
    .trim()
    .split(/\s+/)
    .map((h) => h.toLowerCase())
  if (names.length > MAX_HEADERS || names.some((h) => !HEADER_NAME.test(h)))
    throw new MalformedSignature('headers must name at most 32 header fields')
  return { keyId, algorithm: algorithm.toLowerCase(), headers: names, signature }
}

/** Commas separate parameters; none may occur inside a value, which holds no quote either. */
function splitParams(text: string): string[] {
  const parts: string[] = []
  let start = 0
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"') quoted = !quoted
    else if (c === ',' && !quoted) {
      parts.push(text.slice(start, i))
      start = i + 1
    }
  }
  parts.push(text.slice(start))
  return parts.filter((p) => p.trim() !== '')
}

/** Methods whose requests carry a body, and so must sign its length, type and digest (OCI). */
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH'])

/**
 * The headers OCI requires a signature to cover, that `signed` leaves out: `(request-target)`,
 * `host`, `date` or `x-date`, and for a request with a body `content-length`, `content-type` and
 * `x-content-sha256`.
 */
export function unsignedRequiredHeaders(method: string, signed: readonly string[]): string[] {
  const has = new Set(signed)
  const missing = ['(request-target)', 'host'].filter((h) => !has.has(h))
  if (!has.has('date') && !has.has('x-date')) missing.push('date (or x-date)')
  if (WITH_BODY.has(method.toUpperCase()))
    missing.push(...['content-length', 'content-type', 'x-content-sha256'].filter((h) => !has.has(h)))
  return missing
}

/** The request a signature must be over, as the client addressed it. */
export interface SignedRequest {
  method: string
  /** The request target as the client addressed it: path and query (a public URL's path prefix first). */
  target: string
  /** The host the client addressed (the public URL's host and port). */
  host: string
  /** A header's value as received; undefined when absent. */
  header(name: string): string | undefined
}

/**
 * The signing string of draft-cavage §2.3: one `name: value` line per signed header, in the
 * order signed, `(request-target)` being the lower-case method, a space and the target. A signed
 * header the request lacks is named in the `MissingSignedHeader` thrown.
 */
export function signingString(request: SignedRequest, headers: readonly string[]): string {
  return headers
    .map((name) => {
      if (name === '(request-target)')
        return `(request-target): ${request.method.toLowerCase()} ${request.target}`
      if (name === 'host') return `host: ${request.host}`
      const value = request.header(name)
      if (value === undefined || value === '') throw new MissingSignedHeader(name)
      return `${name}: ${value}`
    })
    .join('\n')
}

export class MissingSignedHeader extends Error {
  override name = 'MissingSignedHeader'
  constructor(readonly header: string) {
    super(`the signed header ${header} is not in the request`)
  }
}

/** Whether `signature` (base64) is `key`'s RSASSA-PKCS1-v1_5 SHA-256 signature of `data`. */
export function verifyRsaSha256(key: KeyObject, data: string, signature: string): boolean {
  // A key stored before registration refused weak ones (e = 1 verifies a forged signature).
  if (key.asymmetricKeyType !== 'rsa' || rsaKeyProblem(key) !== null) return false
  try {
    return verify(
      'sha256',
      Buffer.from(data, 'utf8'),
      { key, padding: constants.RSA_PKCS1_PADDING },
      Buffer.from(signature, 'base64'),
    )
  } catch {
    return false
  }
}

/**
 * The time a signature was made, from the `x-date` header when it is signed (the OCI SDKs sign
 * that one), else `date`: epoch milliseconds, or undefined for a value that names no time.
 */
export function signedDate(request: SignedRequest, headers: readonly string[]): number | undefined {
  const name = headers.includes('x-date') ? 'x-date' : 'date'
  const value = request.header(name)
  if (value === undefined) return undefined
  const time = Date.parse(value)
  return Number.isFinite(time) ? time : undefined
}
