import { whenAborted } from './when-aborted.js'

/** The response body was larger than the client accepts. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`response body over ${limit} bytes`)
    this.name = 'BodyTooLargeError'
  }
}

/**
 * Reads a response body completely into memory, refusing more than `maxBytes` (checked against
 * `content-length` first, then while reading) and stopping as soon as `signal` aborts, even with a
 * transport that ignores the signal once the headers are in: the read then rejects with the
 * signal's reason and the stream is cancelled.
 */
export async function readBody(
  response: Response,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  if (response.body === null) return new Uint8Array(0)
  const reader = response.body.getReader()
  if (declared > maxBytes) {
    reader.cancel().catch(() => {})
    throw new BodyTooLargeError(maxBytes)
  }
  const aborted = whenAborted(signal)
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted.promise])
      if (done) break
      size += value.byteLength
      if (size > maxBytes) throw new BodyTooLargeError(maxBytes)
      chunks.push(value)
    }
  } catch (error) {
    reader.cancel(error).catch(() => {})
    throw error
  } finally {
    aborted.dispose()
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}
