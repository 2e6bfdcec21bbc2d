/**
 * Waits for `promise`, unless `signal` aborts first: then rejects with the signal's reason and stops
 * waiting. The promise itself runs on, untouched: one caller giving up must not cancel the refresh
 * the other callers share. The listener is removed once settled, so a long-lived signal used for
 * many calls collects none.
 */
export function waitUnlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
