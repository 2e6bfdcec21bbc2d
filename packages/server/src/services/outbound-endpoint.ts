import { InvalidParameter } from '../errors.js'

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * A URL the server sends a secret to (an upstream token endpoint, a cloud's STS) or takes keys
 * from (a federated issuer's JWKS): https, or plain
 * http only on a loopback address (a sidecar or a test server), never with credentials or a
 * fragment in the URL. Answers the URL normalized.
 */
export function checkOutboundEndpoint(value: string, field: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidParameter(field, 'must be an absolute URL')
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new InvalidParameter(field, 'must use https (plain http only on a loopback address)')
  }
  if (url.username !== '' || url.password !== '')
    throw new InvalidParameter(field, 'must not carry credentials')
  if (url.hash !== '') throw new InvalidParameter(field, 'must not have a fragment')
  return url
}

/** Whether `value` passes `checkOutboundEndpoint`. */
export function isOutboundEndpoint(value: string): boolean {
  try {
    checkOutboundEndpoint(value, 'url')
    return true
  } catch {
    return false
  }
}

/** An answer from an outside service that is longer than the caller reads (`readCappedBody`). */
export class AnswerTooLarge extends Error {
  /** For callers that report an error's code (jose's JWKS fetch, in the audit event). */
  readonly code = 'ERR_ANSWER_TOO_LARGE'
  constructor(readonly limit: number) {
    super(`the answer is longer than ${limit} bytes`)
  }
}

/**
 * An outside service's answer, read as it streams in and given up (the stream cancelled) as soon
 * as it passes `maxBytes`: `response.text()` would hold a hostile or broken service's whole answer
 * in memory before its length could be checked. Throws `AnswerTooLarge`.
 */
export async function readCappedBody(response: Response, maxBytes: number): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0)
  const declared = Number(response.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body.cancel().catch(() => {})
    throw new AnswerTooLarge(maxBytes)
  }
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = response.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => {})
      throw new AnswerTooLarge(maxBytes)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, size)
}
