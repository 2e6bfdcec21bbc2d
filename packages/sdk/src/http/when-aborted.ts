/**
 * A promise that rejects with `signal.reason` when `signal` aborts (at once if it already has),
 * to race against work that might not watch the signal itself (an injected `fetch`). Call
 * `dispose` when done so the listener does not outlive the work.
 */
export function whenAborted(signal: AbortSignal): { promise: Promise<never>; dispose(): void } {
  let onAbort: (() => void) | undefined
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  // The rejection is observed by whoever races it; this keeps an unraced one from being "unhandled".
  promise.catch(() => {})
  return {
    promise,
    dispose() {
      if (onAbort) signal.removeEventListener('abort', onAbort)
    },
  }
}
