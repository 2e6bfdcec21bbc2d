// Verifies an AWS Signature Version 4 request (Authorization header form) exactly as the AWS IAM
// User Guide documents it ("Create a signed AWS API request", "Elements of an AWS API request
// signature"), recomputed from the request received: its method, request target, raw headers and
// body bytes. Checked besides the signature itself:
// - the algorithm is AWS4-HMAC-SHA256 and the credential scope is `<date>/<region>/<service>/aws4_request`
//   with this stand-in's region and service, and the scope's date is X-Amz-Date's day;
// - X-Amz-Date (`YYYYMMDDTHHMMSSZ`) is within 15 minutes of the stand-in's clock;
// - `host` is among the signed headers, and so is `x-amz-date`;
// - an `x-amz-content-sha256` header, if sent, is the body's hash.
// Non-S3 rules: the path normalized and URI-encoded twice (once on the wire, once here), the query
// decoded and re-encoded (RFC 3986), sorted by name then value; header values trimmed, inner runs of
// spaces collapsed, repeated headers joined with commas; the payload hash over the exact body bytes.
//
// Written independently of the server's signer (packages/server/src/sts/sigv4.ts).

import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { headerValues, type ReceivedRequest } from './stand-in-http.js'

export interface SigV4Authorization {
  readonly accessKeyId: string
  readonly date: string
  readonly region: string
  readonly service: string
  readonly terminal: string
  readonly signedHeaders: readonly string[]
  readonly signature: string
}

/** An AWS error: HTTP status, code and message. */
export interface SigV4Refusal {
  readonly status: number
  readonly code: string
  readonly message: string
}

export interface SigV4VerifyOptions {
  readonly service: string
  readonly region: string
  /** The stand-in's clock. */
  readonly now: number
  readonly maxSkewMs: number
  /** The secret of an access key id (long-lived or temporary), `undefined` if unknown. */
  readonly secretOf: (accessKeyId: string) => string | undefined
}

/** Parses `AWS4-HMAC-SHA256 Credential=…/…, SignedHeaders=…, Signature=…`. */
export function parseAuthorization(value: string): SigV4Authorization | undefined {
  const match = /^AWS4-HMAC-SHA256 (.*)$/.exec(value.trim())
  if (!match) return undefined
  const fields = new Map<string, string>()
  for (const part of match[1]!.split(',')) {
    const at = part.indexOf('=')
    if (at < 0) return undefined
    fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim())
  }
  const credential = fields.get('Credential')?.split('/')
  const signedHeaders = fields.get('SignedHeaders')
  const signature = fields.get('Signature')
  if (credential?.length !== 5 || !signedHeaders || !signature || !/^[0-9a-f]{64}$/.test(signature))
    return undefined
  const [accessKeyId, date, region, service, terminal] = credential as [
    string,
    string,
    string,
    string,
    string,
  ]
  return { accessKeyId, date, region, service, terminal, signedHeaders: signedHeaders.split(';'), signature }
}

const UNRESERVED = /[A-Za-z0-9\-_.~]/

/** AWS's UriEncode: RFC 3986 over the UTF-8 bytes, upper-case hex. */
export function awsUriEncode(value: string): string {
  let out = ''
  for (const char of value) {
    if (UNRESERVED.test(char)) out += char
    else
      for (const byte of Buffer.from(char, 'utf8'))
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

function safeDecode(component: string): string {
  try {
    return decodeURIComponent(component)
  } catch {
    return component
  }
}

/** The canonical request of `request`, signing `signedHeaders`. */
export function canonicalRequestOf(request: ReceivedRequest, signedHeaders: readonly string[]): string {
  const question = request.target.indexOf('?')
  const path = question < 0 ? request.target : request.target.slice(0, question)
  const query = question < 0 ? '' : request.target.slice(question + 1)
  const segments: string[] = []
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') segments.pop()
    else segments.push(awsUriEncode(segment))
  }
  const uri = segments.length === 0 ? '/' : `/${segments.join('/')}${path.endsWith('/') ? '/' : ''}`
  const canonicalQuery = query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const at = pair.indexOf('=')
      return at < 0
        ? `${awsUriEncode(safeDecode(pair))}=`
        : `${awsUriEncode(safeDecode(pair.slice(0, at)))}=${awsUriEncode(safeDecode(pair.slice(at + 1)))}`
    })
    .sort((a, b) => {
      const [an = '', av = ''] = a.split('=')
      const [bn = '', bv = ''] = b.split('=')
      return an === bn ? (av < bv ? -1 : av > bv ? 1 : 0) : an < bn ? -1 : 1
    })
    .join('&')
  const headerLines = signedHeaders.map((name) => {
    const values = headerValues(request.rawHeaders, name).map((v) => v.trim().replace(/ +/g, ' '))
    return `${name}:${values.join(',')}\n`
  })
  return [
    request.method,
    uri,
    canonicalQuery,
    headerLines.join(''),
    signedHeaders.join(';'),
    createHash('sha256').update(request.body).digest('hex'),
  ].join('\n')
}

/** The signature the request should carry, given the secret. */
export function expectedSignature(
  request: ReceivedRequest,
  authorization: SigV4Authorization,
  amzDate: string,
  secret: string,
): string {
  const scope = `${authorization.date}/${authorization.region}/${authorization.service}/${authorization.terminal}`
  const canonical = canonicalRequestOf(request, authorization.signedHeaders)
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`
  let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(authorization.date).digest()
  for (const step of [authorization.region, authorization.service, 'aws4_request']) {
    key = createHmac('sha256', key).update(step).digest()
  }
  return createHmac('sha256', key).update(stringToSign).digest('hex')
}

function compact(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')
}

/**
 * Verifies `request`; `{ authorization }` if it is authentic, else AWS's refusal. The access key
 * may be unknown (InvalidClientTokenId) or the signature wrong (SignatureDoesNotMatch).
 */
export function verifySigV4Request(
  request: ReceivedRequest,
  options: SigV4VerifyOptions,
): { authorization: SigV4Authorization } | { refusal: SigV4Refusal } {
  const headerValue = headerValues(request.rawHeaders, 'authorization')
  if (headerValue.length === 0) {
    return {
      refusal: {
        status: 403,
        code: 'MissingAuthenticationToken',
        message: 'Request is missing Authentication Token',
      },
    }
  }
  const authorization = headerValue.length === 1 ? parseAuthorization(headerValue[0]!) : undefined
  if (!authorization) {
    return {
      refusal: {
        status: 400,
        code: 'IncompleteSignature',
        message: 'Authorization header requires Credential, SignedHeaders and Signature parameters.',
      },
    }
  }
  const secret = options.secretOf(authorization.accessKeyId)
  if (secret === undefined) {
    return {
      refusal: {
        status: 403,
        code: 'InvalidClientTokenId',
        message: 'The security token included in the request is invalid.',
      },
    }
  }
  const mismatch = (message: string) => ({ refusal: { status: 403, code: 'SignatureDoesNotMatch', message } })
  if (authorization.terminal !== 'aws4_request')
    return mismatch("Credential should be scoped with a valid terminator: 'aws4_request'.")
  if (authorization.service !== options.service) {
    return mismatch(`Credential should be scoped to correct service: '${options.service}'.`)
  }
  if (authorization.region !== options.region) {
    return mismatch(`Credential should be scoped to a valid region, not '${authorization.region}'.`)
  }
  const signed = authorization.signedHeaders
  const sorted = [...signed].sort()
  if (signed.some((name, i) => name !== name.toLowerCase() || name !== sorted[i])) {
    return mismatch('SignedHeaders must be lower-case and sorted.')
  }
  if (!signed.includes('host'))
    return mismatch("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
  const amzDates = headerValues(request.rawHeaders, 'x-amz-date')
  const amzDate = amzDates[0]
  if (amzDates.length !== 1 || !signed.includes('x-amz-date') || !/^\d{8}T\d{6}Z$/.test(amzDate!)) {
    return {
      refusal: {
        status: 400,
        code: 'IncompleteSignature',
        message:
          'Authorization header requires existence of a signed X-Amz-Date header in ISO 8601 basic format.',
      },
    }
  }
  if (authorization.date !== amzDate!.slice(0, 8)) {
    return mismatch(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${authorization.date}' != '${amzDate!.slice(0, 8)}', from '${amzDate}'.`,
    )
  }
  const signedAt = Date.UTC(
    Number(amzDate!.slice(0, 4)),
    Number(amzDate!.slice(4, 6)) - 1,
    Number(amzDate!.slice(6, 8)),
    Number(amzDate!.slice(9, 11)),
    Number(amzDate!.slice(11, 13)),
    Number(amzDate!.slice(13, 15)),
  )
  const minutes = Math.round(options.maxSkewMs / 60_000)
  if (signedAt < options.now - options.maxSkewMs) {
    return mismatch(
      `Signature expired: ${amzDate} is now earlier than ${compact(options.now - options.maxSkewMs)} (${compact(options.now)} - ${minutes} min.)`,
    )
  }
  if (signedAt > options.now + options.maxSkewMs) {
    return mismatch(
      `Signature not yet current: ${amzDate} is still later than ${compact(options.now + options.maxSkewMs)} (${compact(options.now)} + ${minutes} min.)`,
    )
  }
  const contentSha = headerValues(request.rawHeaders, 'x-amz-content-sha256')[0]
  if (contentSha !== undefined && contentSha !== createHash('sha256').update(request.body).digest('hex')) {
    return {
      refusal: {
        status: 400,
        code: 'XAmzContentSHA256Mismatch',
        message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
      },
    }
  }
  const wanted = Buffer.from(expectedSignature(request, authorization, amzDate!, secret))
  const given = Buffer.from(authorization.signature)
  if (wanted.length !== given.length || !timingSafeEqual(wanted, given)) {
    return mismatch(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    )
  }
  return { authorization }
}
