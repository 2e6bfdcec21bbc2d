import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { answerTo, errorBody, type Mapped } from './error-handler.js'

/** A request line, finished (`GET /x HTTP/1.1`) or cut short by the limit (`GET /very/long…`). */
const REQUEST_LINE = /^[A-Z]+ [^\s]+(?: HTTP\/\d\.\d)?$/

/** Whether the bytes the parser gave up on start with a request line holding most of them. */
function uriTooLong(raw: string): boolean {
  const end = raw.indexOf('\r\n')
  const line = end === -1 ? raw : raw.slice(0, end)
  return REQUEST_LINE.test(line) && line.length * 2 > raw.length
}

/**
 * What Node's HTTP parser refuses before Fastify sees a request (headers past `maxHeaderSize`, a
 * request line that long, bytes that are not HTTP, a request timeout), in the API's error body.
 * Node counts the request line into the header limit and says `HPE_HEADER_OVERFLOW` for both; an
 * overflow whose bytes are mostly the request line is `UriTooLong`, any other `HeadersTooLarge`.
 */
export function describeClientError(err: { code?: string; rawPacket?: unknown }): Mapped {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return answerTo('RequestTimeout', 'the request did not arrive in time')
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    const raw = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.toString('latin1') : ''
    return uriTooLong(raw)
      ? answerTo('UriTooLong', 'the request URI is longer than this server accepts', { field: 'path' })
      : answerTo('HeadersTooLarge', 'the request headers are larger than this server accepts', {
          field: 'headers',
        })
  }
  return answerTo('InvalidParameter', 'the request is not well-formed HTTP')
}

/**
 * The server's `clientError` handler. The socket carries no request Fastify could answer, so the
 * answer is written raw, then the connection closed: whatever follows on it cannot be trusted to
 * start a request.
 */
export function answerClientError(
  err: Error & { code?: string; rawPacket?: unknown },
  socket: Duplex,
  newRequestId: () => string,
  log: (details: Record<string, unknown>) => void,
): void {
  // A reset connection, or one already gone: there is no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const mapped = describeClientError(err)
  const requestId = newRequestId()
  // Who sent it: a flood of malformed requests must be traceable to its source.
  log({ code: mapped.code, status: mapped.status, requestId, remoteAddress: remoteAddressOf(socket) })
  // As Node does: never write into a response already on its way over this socket.
  const inFlight = (socket as { _httpMessage?: { _headerSent?: boolean } | null })._httpMessage
  if (socket.writable && !inFlight?._headerSent) {
    const body = JSON.stringify(errorBody(requestId, mapped))
    socket.write(
      `HTTP/1.1 ${mapped.status} ${STATUS_CODES[mapped.status]}\r\n` +
        'content-type: application/json; charset=utf-8\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'cache-control: no-store\r\n' +
        `x-request-id: ${requestId}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    )
  }
  socket.destroy()
}

function remoteAddressOf(socket: Duplex): string | null {
  const address = (socket as { remoteAddress?: unknown }).remoteAddress
  return typeof address === 'string' ? address : null
}
