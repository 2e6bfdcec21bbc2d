/**
 * `--watch`: the timing parts. The references contributor polls with a {@link Poller}; the
 * supervisor restarts the command through a {@link RestartScheduler}.
 *
 * - Each poll re-reads every distinct secret the environment references, one request each: on the
 *   server every poll is an audited read (`credential.obtain`, `account.obtain_password`, …), so a
 *   `run --watch` costs one audit event per distinct reference per `--watch-interval`
 *   (default 60 s, at least 5 s). A poll starts `interval` after the previous one ended: polls
 *   never overlap.
 * - A change is a value whose SHA-256 differs from the one kept in memory; values are never logged.
 * - Changes coalesce: a restart waits `--watch-debounce` (default 2 s) after the last change, then a
 *   random jitter in [0, `--watch-jitter`] (default 10% of the interval) so that a fleet reading the
 *   same secret does not restart at once. Whatever changed until the command is started again is
 *   in its new environment: one restart, however many secrets rotated.
 */

/** Timers, replaceable in tests. */
export interface Clock {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const realClock: Clock = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/** Runs `poll` every `intervalMs` after the previous run ended, until stopped. */
export class Poller {
  readonly #intervalMs: number
  readonly #poll: () => Promise<void>
  readonly #clock: Clock
  #timer: unknown
  #stopped = false

  constructor(intervalMs: number, poll: () => Promise<void>, clock: Clock = realClock) {
    this.#intervalMs = intervalMs
    this.#poll = poll
    this.#clock = clock
  }

  start(): void {
    this.#schedule()
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined
      // `poll` reports its own failures; a throw here must not stop the watch.
      void this.#poll()
        .catch(() => {})
        .finally(() => this.#schedule())
    }, this.#intervalMs)
  }
}

export interface RestartSchedulerOptions {
  readonly debounceMs: number
  readonly jitterMs: number
  /** Called once the debounce and the jitter have passed. */
  readonly restart: () => void
  readonly random?: () => number
  readonly clock?: Clock
}

/**
 * Debounce, then jitter, then one restart. A request during the debounce starts it again; one during
 * the jitter is part of the restart already on its way.
 */
export class RestartScheduler {
  readonly #options: RestartSchedulerOptions
  readonly #clock: Clock
  #timer: unknown
  #phase: 'idle' | 'debounce' | 'jitter' = 'idle'

  constructor(options: RestartSchedulerOptions) {
    this.#options = options
    this.#clock = options.clock ?? realClock
  }

  /** Whether a restart is on its way. */
  get pending(): boolean {
    return this.#phase !== 'idle'
  }

  /** Asks for a restart: (re)starts the debounce, unless the jitter of one is already running. */
  request(): void {
    if (this.#phase === 'jitter') return
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#phase = 'debounce'
    this.#timer = this.#clock.setTimeout(() => {
      this.#phase = 'jitter'
      const jitter = Math.floor((this.#options.random ?? Math.random)() * this.#options.jitterMs)
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = undefined
        this.#phase = 'idle'
        this.#options.restart()
      }, jitter)
    }, this.#options.debounceMs)
  }

  cancel(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#phase = 'idle'
  }
}
