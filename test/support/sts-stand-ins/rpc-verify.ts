// Verifies an Alibaba Cloud RPC request's signature (signature method V2: SignatureVersion 1.0,
// HMAC-SHA1) exactly as the Alibaba Cloud API reference ("Request signatures") documents it,
// recomputed from the parameters received (query and form body alike):
//   StringToSign = HTTPMethod + "&" + percentEncode("/") + "&" + percentEncode(CanonicalizedQueryString)
//   CanonicalizedQueryString = every parameter but Signature, sorted by name, each
//                              percentEncode(name) + "=" + percentEncode(value), joined by "&"
//   percentEncode = RFC 3986 over UTF-8: A–Z a–z 0–9 - _ . ~ kept, the rest %XY; space %20, * %2A
//   Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))
// plus the checks the gateway makes: SignatureMethod HMAC-SHA1, SignatureVersion 1.0, a Timestamp
// (`YYYY-MM-DDThh:mm:ssZ`, UTC) within 15 minutes, a SignatureNonce never used before.
//
// Written independently of the server's signer (packages/server/src/sts/rpc-signature.ts), the
// way Alibaba's own SDK encodes (encodeURIComponent, then the five characters it leaves alone), so
// a mistake shared by both cannot hide.

import { createHmac, timingSafeEqual } from 'node:crypto'
import type { NonceBook } from './stand-in-http.js'

/** Alibaba's percentEncode: encodeURIComponent, then `! ' ( ) *` too. */
export function alibabaPercentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  )
}

/** The StringToSign of `method` and `params` (the `Signature` parameter left out). */
export function alibabaStringToSign(method: string, params: ReadonlyMap<string, string>): string {
  const canonical = [...params.keys()]
    .filter((name) => name !== 'Signature')
    .sort()
    .map((name) => `${alibabaPercentEncode(name)}=${alibabaPercentEncode(params.get(name)!)}`)
    .join('&')
  return `${method}&${alibabaPercentEncode('/')}&${alibabaPercentEncode(canonical)}`
}

/** Base64(HMAC-SHA1(secret + "&", stringToSign)). */
export function alibabaSignature(stringToSign: string, accessKeySecret: string): string {
  return createHmac('sha1', `${accessKeySecret}&`).update(stringToSign, 'utf8').digest('base64')
}

/** An Alibaba error: HTTP status, code and message, as its API gateway answers them. */
export interface RpcRefusal {
  readonly status: number
  readonly code: string
  readonly message: string
}

export interface RpcVerifyOptions {
  /** The stand-in's clock. */
  readonly now: number
  readonly maxSkewMs: number
  readonly nonces: NonceBook
  /** The secret of an access key id (long-lived or temporary), `undefined` if unknown. */
  readonly secretOf: (accessKeyId: string) => string | undefined
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?Z$/

/**
 * Verifies the common parameters and the signature; `undefined` if the request is authentic, else
 * the gateway's refusal. The nonce is recorded only once the signature is right.
 */
export function verifyRpcRequest(
  method: string,
  params: ReadonlyMap<string, string>,
  options: RpcVerifyOptions,
): RpcRefusal | undefined {
  for (const name of ['AccessKeyId', 'Signature', 'SignatureNonce', 'Timestamp'] as const) {
    if (!params.get(name))
      return { status: 400, code: `Missing${name}`, message: `${name} is mandatory for this action.` }
  }
  if ((params.get('SignatureMethod') ?? 'HMAC-SHA1') !== 'HMAC-SHA1') {
    return {
      status: 400,
      code: 'InvalidSignatureMethod',
      message: 'Specified signature method is not valid.',
    }
  }
  if ((params.get('SignatureVersion') ?? '1.0') !== '1.0') {
    return {
      status: 400,
      code: 'InvalidSignatureVersion',
      message: 'Specified signature version is not valid.',
    }
  }
  const timestamp = params.get('Timestamp')!
  if (!TIMESTAMP.test(timestamp) || Number.isNaN(Date.parse(timestamp))) {
    return {
      status: 400,
      code: 'InvalidTimeStamp.Format',
      message: 'Specified time stamp or date value is not well formatted.',
    }
  }
  const secret = options.secretOf(params.get('AccessKeyId')!)
  if (secret === undefined) {
    return { status: 404, code: 'InvalidAccessKeyId.NotFound', message: 'Specified access key is not found.' }
  }
  let expected: string
  try {
    expected = alibabaStringToSign(method, params)
  } catch {
    return { status: 400, code: 'InvalidParameter', message: 'A parameter is not valid UTF-8.' }
  }
  const wanted = Buffer.from(alibabaSignature(expected, secret))
  const given = Buffer.from(params.get('Signature')!)
  if (wanted.length !== given.length || !timingSafeEqual(wanted, given)) {
    return {
      status: 400,
      code: 'SignatureDoesNotMatch',
      message: `Specified signature is not matched with our calculation. server string to sign is:${expected}`,
    }
  }
  if (Math.abs(Date.parse(timestamp) - options.now) > options.maxSkewMs) {
    return {
      status: 400,
      code: 'InvalidTimeStamp.Expired',
      message: 'Specified time stamp or date value is expired.',
    }
  }
  if (!options.nonces.use(params.get('SignatureNonce')!, options.now)) {
    return { status: 400, code: 'SignatureNonceUsed', message: 'Specified signature nonce was used already.' }
  }
  return undefined
}
