import { CircuitOpenError } from '../errors.js'
import { invalidArgument } from './invalid-argument.js'

/** Settings of the optional circuit breaker (off unless given to the client). */
export interface CircuitBreakerOptions {
  /** Consecutive failed attempts (network failure, timeout or 5xx) that open the circuit. Default 5. */
  failureThreshold?: number | undefined
  /** How long the circuit stays open before one trial call is let through. Default 30 000 ms. */
  cooldownMs?: number | undefined
}

/** The breaker's state, for diagnostics. */
export type CircuitState = 'closed' | 'open' | 'half-open'

/** Leave to run one attempt; report its outcome with exactly one of the breaker's `record…` calls. */
export interface CircuitPermit {
  /** This attempt is the half-open trial: its outcome closes or reopens the circuit. */
  readonly trial: boolean
}

/**
 * A consecutive-failure circuit breaker. Closed: attempts run; `failureThreshold` failures in a row
 * open it. Open: attempts fail fast with `CircuitOpenError` for `cooldownMs`. Then half-open: one
 * trial attempt runs (others still fail fast); its success closes the circuit, its failure opens it
 * for another cool-down. Any answer but a 5xx or a 429 is a success; outcomes that say nothing
 * about the server's health (a 429, the caller's abort) are reported with `recordNeutral`.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 10_000 }, Date.now)
 * const permit = breaker.acquire() // throws CircuitOpenError while open
 * try { await call(); breaker.recordSuccess(permit) } catch (e) { breaker.recordFailure(permit, e); throw e }
 * ```
 */
export class CircuitBreaker {
  readonly #threshold: number
  readonly #cooldownMs: number
  readonly #now: () => number
  #state: CircuitState = 'closed'
  #failures = 0
  #openedAt = 0
  #trialInFlight = false
  #lastFailure: unknown

  constructor(options: CircuitBreakerOptions, now: () => number) {
    this.#threshold = options.failureThreshold ?? 5
    this.#cooldownMs = options.cooldownMs ?? 30_000
    if (!Number.isInteger(this.#threshold) || this.#threshold < 1) {
      throw invalidArgument('circuitBreaker.failureThreshold must be an integer of at least 1')
    }
    if (!Number.isFinite(this.#cooldownMs) || this.#cooldownMs < 0) {
      throw invalidArgument('circuitBreaker.cooldownMs must be a finite number of milliseconds, at least 0')
    }
    this.#now = now
  }

  /** The current state (an open circuit whose cool-down is over reads as half-open). */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#cooldownMs) return 'half-open'
    return this.#state
  }

  /** Asks to run an attempt; throws `CircuitOpenError` when the circuit fails fast. */
  acquire(): CircuitPermit {
    if (this.#state === 'closed') return { trial: false }
    const waited = this.#now() - this.#openedAt
    if (this.#state === 'open' && waited < this.#cooldownMs) {
      const left = Math.ceil((this.#cooldownMs - waited) / 1000)
      throw new CircuitOpenError(
        `the circuit is open after ${this.#threshold} consecutive failures; calls fail fast for another ${left} s`,
        { cause: this.#lastFailure },
      )
    }
    if (this.#trialInFlight) {
      throw new CircuitOpenError('the circuit is half-open and its one trial call is still running', {
        cause: this.#lastFailure,
      })
    }
    this.#state = 'half-open'
    this.#trialInFlight = true
    return { trial: true }
  }

  /** The server answered (any status but 5xx and 429). */
  recordSuccess(permit: CircuitPermit): void {
    if (permit.trial) {
      this.#trialInFlight = false
      this.#state = 'closed'
    }
    if (this.#state === 'closed') this.#failures = 0
  }

  /** A network failure, a timeout or a 5xx. */
  recordFailure(permit: CircuitPermit, error: unknown): void {
    this.#lastFailure = error
    if (permit.trial) {
      this.#trialInFlight = false
      this.#open()
      return
    }
    if (this.#state !== 'closed') return
    this.#failures += 1
    if (this.#failures >= this.#threshold) this.#open()
  }

  /** An outcome that says nothing about the server's health: a 429, or the caller aborted. */
  recordNeutral(permit: CircuitPermit): void {
    if (permit.trial) this.#trialInFlight = false
  }

  #open(): void {
    this.#state = 'open'
    this.#openedAt = this.#now()
  }
}
