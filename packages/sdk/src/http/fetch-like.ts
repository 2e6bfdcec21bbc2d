/**
 * The one seam every SDK call goes through: a function shaped like the platform's `fetch`. Pass
 * your own to `createHttpClient({ fetch })` to record calls in tests or to use a custom transport.
 * It must honour `init.signal` (the client aborts it on a timeout or when the caller cancels) and
 * should reject with `TypeError('fetch failed', { cause })` on a network failure, `cause` carrying
 * the Node error `code` (`ECONNREFUSED`, `ENOTFOUND`, …), as the platform's `fetch` does.
 *
 * @example
 * ```ts
 * const calls: string[] = []
 * const client = createHttpClient({
 *   fetch: async (url, init) => {
 *     calls.push(`${init.method} ${url}`)
 *     return Response.json({ ok: true })
 *   },
 * })
 * ```
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>

/** A transport: a {@link FetchLike} plus a way to release what it holds (pooled sockets). */
export interface Transport {
  readonly fetch: FetchLike
  /** Closes idle keep-alive connections; requests in flight are not interrupted. */
  close(): void
}
