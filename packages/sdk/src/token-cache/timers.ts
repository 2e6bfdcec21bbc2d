/** A handle from an injected `setTimeout`; `unref()` is called on it when it has one. */
export type TimerHandle = unknown

/** The timer functions a token cache runs on; `globalThis`'s by default, a fake in tests. */
export interface TimerFunctions {
  setTimeout(callback: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

/**
 * `setTimeout` cannot wait longer than 2^31 − 1 ms (≈ 24.8 days): a longer delay fires at once. A
 * timer is set for at most this long and re-armed when it fires early.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

/** `globalThis`'s timers, called detached so neither Node nor a browser sees a wrong `this`. */
export const platformTimers: TimerFunctions = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
}

/** Arms a timer that never keeps the process alive. */
export function setUnrefTimer(timers: TimerFunctions, callback: () => void, ms: number): TimerHandle {
  const set = timers.setTimeout
  const handle = set(callback, Math.min(Math.max(ms, 0), MAX_TIMER_DELAY_MS))
  const unref = (handle as { unref?: unknown } | null)?.unref
  if (typeof unref === 'function') unref.call(handle)
  return handle
}
