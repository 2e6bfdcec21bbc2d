import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'

// Statuses whose `Response` must have a null body (the Fetch standard's "null body status").
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304])

/**
 * Turns a Node `IncomingMessage` into a WHATWG `Response` whose body streams from it (nothing is
 * buffered here; the client reads it with a size cap). Headers keep every repeated value.
 */
export function toWebResponse(message: IncomingMessage, method: string): Response {
  const headers = new Headers()
  const raw = message.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      headers.append(raw[i]!, raw[i + 1]!)
    } catch {
      // A header value `Headers` refuses (e.g. non-Latin-1) is dropped, as browsers do.
    }
  }
  const status = message.statusCode ?? 0
  const noBody = NULL_BODY_STATUSES.has(status) || method === 'HEAD'
  if (noBody) message.resume()
  const body = noBody ? null : (Readable.toWeb(message) as unknown as ReadableStream<Uint8Array>)
  return new Response(body, { status, statusText: message.statusMessage ?? '', headers })
}
