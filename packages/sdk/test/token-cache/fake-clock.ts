// Test seams for the token cache: a clock whose timers fire only when a test advances it, and a
// `fetchToken` whose calls stay pending until the test settles them. Nothing here waits for real time.
import type { AccessToken } from '../../src/token-cache/access-token.js'

export const START = Date.UTC(2030, 0, 1)

export class FakeTimer {
  unrefed = false
  constructor(
    readonly id: number,
    readonly at: number,
    readonly delay: number,
    readonly callback: () => void,
  ) {}
  unref(): this {
    this.unrefed = true
    return this
  }
}

export class FakeClock {
  #time: number
  #nextId = 1
  readonly #timers = new Map<number, FakeTimer>()
  /** Every timer ever set, in order, cleared or not. */
  readonly history: FakeTimer[] = []

  constructor(start = START) {
    this.#time = start
  }

  readonly now = (): number => this.#time

  readonly setTimeout = (callback: () => void, ms: number): FakeTimer => {
    const timer = new FakeTimer(this.#nextId++, this.#time + ms, ms, callback)
    this.#timers.set(timer.id, timer)
    this.history.push(timer)
    return timer
  }

  readonly clearTimeout = (handle: unknown): void => {
    if (handle instanceof FakeTimer) this.#timers.delete(handle.id)
  }

  /** Timers set and not yet fired or cleared, soonest first. */
  get pending(): FakeTimer[] {
    return [...this.#timers.values()].sort((a, b) => a.at - b.at || a.id - b.id)
  }

  /** Moves time to `time`, firing due timers in order and letting promises settle after each. */
  async advanceTo(time: number): Promise<void> {
    for (let next = this.pending[0]; next !== undefined && next.at <= time; next = this.pending[0]) {
      this.#timers.delete(next.id)
      this.#time = Math.max(this.#time, next.at)
      next.callback()
      await settle()
    }
    this.#time = Math.max(this.#time, time)
    await settle()
  }

  /** Moves time without firing timers, like a process that was suspended; then lets promises settle. */
  async jump(ms: number): Promise<void> {
    this.#time += ms
    await settle()
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.#time + ms)
  }
}

/** Lets every queued promise reaction run (one macrotask turn; no timer, no real waiting). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Whether `promise` has settled once pending reactions ran; it is observed, so never unhandled. */
export async function stateOf(promise: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending'
  promise.then(
    () => {
      state = 'fulfilled'
    },
    () => {
      state = 'rejected'
    },
  )
  await settle()
  return state
}

export interface FetchCall {
  readonly signal: AbortSignal
  resolve(token: AccessToken): void
  reject(error: unknown): void
}

/** A `fetchToken` whose every call waits until the test resolves or rejects it. */
export function controlledFetch(): {
  fetchToken: (signal: AbortSignal) => Promise<AccessToken>
  calls: FetchCall[]
} {
  const calls: FetchCall[] = []
  const fetchToken = (signal: AbortSignal): Promise<AccessToken> =>
    new Promise<AccessToken>((resolve, reject) => {
      calls.push({ signal, resolve, reject })
    })
  return { fetchToken, calls }
}

/** A token living `lifetimeMs` from the clock's now. */
export function tokenFor(clock: FakeClock, lifetimeMs: number, accessToken = 'token-1'): AccessToken {
  return { accessToken, expiresAt: clock.now() + lifetimeMs, tokenType: 'Bearer' }
}

/** The `index`-th fetch call, failing the test clearly when it was not made. */
export function call(calls: FetchCall[], index: number): FetchCall {
  const found = calls[index]
  if (found === undefined) throw new Error(`expected fetch call #${index}, only ${calls.length} made`)
  return found
}

export const HOUR = 3_600_000
export const MINUTE = 60_000
export const SECOND = 1_000
