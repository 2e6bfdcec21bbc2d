/**
 * Waits `ms` milliseconds; rejects with the signal's reason as soon as `signal` aborts. The client
 * takes a function of this shape as `sleep` so tests can skip the waits.
 */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>

/** The real {@link Sleep}, on `setTimeout`. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
