import type { CaBundleOptions } from './ca-bundle.js'
import type { CircuitBreakerOptions } from './circuit-breaker.js'
import type { FetchLike } from './fetch-like.js'
import { invalidArgument } from './invalid-argument.js'
import type { RetryPolicy } from './retry-policy.js'
import type { Sleep } from './sleep.js'

/** Options of {@link createHttpClient}. Every one is optional. */
export interface HttpClientOptions extends CaBundleOptions {
  /**
   * Accept any server certificate (the IDaaS configuration's `unsafeIgnoreSslCert`). For a test
   * bench only; a process warning says so once.
   */
  insecureSkipTlsVerify?: boolean | undefined
  /** Relative request URLs resolve against it (WHATWG rules: end it with `/` to keep its path). */
  baseUrl?: string | URL | undefined
  /**
   * The transport. By default the platform `fetch`, or a `node:https` transport when a CA bundle
   * (`ca`, `caFile`) or a proxy (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` in `env`) applies. When
   * given, `ca`, `caFile` and `env` are not used: the injected transport is on its own.
   */
  fetch?: FetchLike | undefined
  /** Where proxy variables are read, once, at creation; `process.env` by default. */
  env?: Readonly<Record<string, string | undefined>> | undefined
  /**
   * Milliseconds from the start of an attempt until the response's status and headers have
   * arrived (connecting, TLS, proxy tunnel, sending, and the server's time to first byte).
   * Default 10 000; 0 disables it. Named after the client configuration's
   * `httpConfiguration.connectTimeout`.
   */
  connectTimeout?: number | undefined
  /**
   * Milliseconds from the response's headers until its whole body has arrived. Default 30 000;
   * 0 disables it. Named after `httpConfiguration.readTimeout`.
   */
  readTimeout?: number | undefined
  /** Retry settings (see `RetryPolicy`); `false` makes every call a single attempt. */
  retry?: Partial<RetryPolicy> | false | undefined
  /** Turns the circuit breaker on (it is off by default). */
  circuitBreaker?: CircuitBreakerOptions | undefined
  /** A product token appended to the SDK's `User-Agent`, e.g. `my-service/1.4.2`. */
  userAgent?: string | undefined
  /** Headers sent with every call (a call's own headers win). */
  headers?: Readonly<Record<string, string>> | undefined
  /** The largest response body accepted, in bytes. Default 8 MiB. */
  maxResponseBytes?: number | undefined
  /** The clock for `Retry-After` dates and the circuit breaker; `Date.now` by default. */
  now?: (() => number) | undefined
  /** The wait between attempts; a real timer by default. Tests inject one that records and returns. */
  sleep?: Sleep | undefined
  /** The jitter's source in [0, 1); `Math.random` by default. */
  random?: (() => number) | undefined
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
export const DEFAULT_READ_TIMEOUT_MS = 30_000
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024

/** A timeout option in milliseconds: its default when absent, 0 for none, else a finite positive number. */
export function timeoutOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidArgument(`${name} must be a finite number of milliseconds, at least 0`)
  }
  return value
}

/** `maxResponseBytes`: its default when absent, else a positive integer. */
export function sizeOption(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_RESPONSE_BYTES
  if (!Number.isSafeInteger(value) || value < 1)
    throw invalidArgument('maxResponseBytes must be a positive integer')
  return value
}
