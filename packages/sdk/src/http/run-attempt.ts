import type { PamError } from '../errors.js'
import { oversizedBodyError, timeoutError } from './error-mapping.js'
import type { FetchLike } from './fetch-like.js'
import { isNetworkFailure } from './network-failure.js'
import { BodyTooLargeError, readBody } from './read-body.js'
import { whenAborted } from './when-aborted.js'

/**
 * The two timeouts of one attempt, in milliseconds (0 = none):
 *
 * - `connectMs` runs from the start of the attempt until the response head (status line and
 *   headers) has arrived: DNS, TCP, proxy tunnel, TLS, sending the request and the server's time to
 *   its first byte. It is what the platform `fetch` lets us observe, so it means the same with
 *   every transport, injected ones included.
 * - `readMs` runs from the response head until the whole body has been read: a bound on the body's
 *   total transfer time, not an idle gap, so a server dribbling bytes cannot hold a call forever.
 *
 * An attempt therefore takes at most `connectMs + readMs`.
 */
export interface AttemptTimeouts {
  readonly connectMs: number
  readonly readMs: number
}

/** How one attempt ended, short of throwing. */
export type AttemptOutcome =
  | {
      readonly kind: 'response'
      readonly status: number
      readonly statusText: string
      readonly headers: Headers
      readonly body: Uint8Array
    }
  /** A network failure; `afterHead` when the response had started (the request surely arrived). */
  | { readonly kind: 'network'; readonly error: unknown; readonly afterHead: boolean }
  | { readonly kind: 'timeout'; readonly error: PamError }

/**
 * Runs one attempt: `fetch` under the connect timeout, then the body read under the read timeout,
 * both also cancelled by `callerSignal`. Throws the caller signal's reason when it aborted, a
 * `ServerError` for an oversized body, and whatever a transport throws that is not a network
 * failure (a programming error).
 */
export async function runAttempt(
  fetch: FetchLike,
  url: URL,
  init: RequestInit,
  options: {
    timeouts: AttemptTimeouts
    callerSignal: AbortSignal | undefined
    maxResponseBytes: number
    target: string
  },
): Promise<AttemptOutcome> {
  const { timeouts, callerSignal, target } = options
  const controller = new AbortController()
  const signal = callerSignal ? AbortSignal.any([callerSignal, controller.signal]) : controller.signal
  let fired: { which: 'connect' | 'read'; ms: number } | undefined
  const arm = (which: 'connect' | 'read', ms: number) =>
    ms > 0
      ? setTimeout(() => {
          fired = { which, ms }
          controller.abort(timeoutError(which, ms, target))
        }, ms)
      : undefined
  const interrupted = (): AttemptOutcome | undefined => {
    if (callerSignal?.aborted) throw callerSignal.reason
    return fired ? { kind: 'timeout', error: timeoutError(fired.which, fired.ms, target) } : undefined
  }

  let timer = arm('connect', timeouts.connectMs)
  const aborted = whenAborted(signal)
  try {
    let response: Response
    const pending = fetch(url.href, { ...init, signal })
    try {
      response = await Promise.race([pending, aborted.promise])
    } catch (error) {
      const stop = interrupted()
      if (stop) {
        // A transport that ignored the abort may still answer: drop that response's connection.
        pending.then(
          (late) => late.body?.cancel().catch(() => {}),
          () => {},
        )
        return stop
      }
      if (isNetworkFailure(error)) return { kind: 'network', error, afterHead: false }
      throw error
    }
    clearTimeout(timer)
    timer = arm('read', timeouts.readMs)
    try {
      const body = await readBody(response, options.maxResponseBytes, signal)
      return {
        kind: 'response',
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
        body,
      }
    } catch (error) {
      const stop = interrupted()
      if (stop) return stop
      if (error instanceof BodyTooLargeError) throw oversizedBodyError(response.status, error.limit, target)
      if (isNetworkFailure(error)) return { kind: 'network', error, afterHead: true }
      throw error
    }
  } finally {
    clearTimeout(timer)
    aborted.dispose()
  }
}
