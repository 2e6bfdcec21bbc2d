import { inspect } from 'node:util'
import { PamError } from '../../errors.js'
import { CacheStats } from '../../metrics/cache-stats.js'
import type { AssumedRole, AssumeRoleRequest, StsClient } from '../../sts/assume-role.js'
import { boundedExpiration, endpointHost } from '../../sts/sts-http.js'

/**
 * The consumer libraries (Alibaba's and AWS's) refetch on every call once less than 15 minutes are
 * left: credentials are reused only until then, so what is handed out is never inside that window.
 */
export const REUSE_MARGIN_MS = 15 * 60_000
const MAX_CACHED = 10_000

/**
 * The STS credentials this node holds, per application, role, settings and duration: concurrent
 * callers that find none usable share ONE `AssumeRole` call, and an answer is reused until 15
 * minutes before it expires, never past the duration asked for (`boundedExpiration`: an answer
 * already expiring is refused, a later expiration cut). Failures are not kept: the next caller
 * tries again. Never prints.
 */
export class AssumedRoles {
  private readonly held = new Map<string, AssumedRole>()
  private readonly inflight = new Map<string, Promise<AssumedRole>>()
  /** Lookups of held credentials: a miss waits for an STS call (its own or a shared one). */
  readonly cacheStats = new CacheStats()

  constructor(
    readonly sts: StsClient,
    private readonly now: () => number,
  ) {}

  [inspect.custom](): string {
    return 'AssumedRoles { [REDACTED] }'
  }

  /** Credentials for `key` that may still be handed out, if this node holds some. */
  usable(key: string): AssumedRole | undefined {
    const held = this.held.get(key)
    if (held && this.now() < held.expiration - REUSE_MARGIN_MS) {
      this.cacheStats.hits++
      return held
    }
    if (held) this.held.delete(key)
    return undefined
  }

  /**
   * Usable credentials for `key`, from one `AssumeRole` shared by every concurrent caller.
   * `request` is built (the key pair opened) only by the caller that starts the call.
   */
  obtain(key: string, request: () => Promise<AssumeRoleRequest>): Promise<AssumedRole> {
    const held = this.usable(key)
    if (held) return Promise.resolve(held)
    this.cacheStats.misses++
    const pending = this.inflight.get(key)
    if (pending) return pending
    const started = (async () => {
      const built = await request()
      // Not the caller's signal: the call is shared, one caller's disconnect must not fail the others.
      const answered = await this.sts.assumeRole(built)
      // The STS clients judge the expiration already; judged again here, for any client, because
      // this is what decides how long the credentials are kept and handed out.
      const expiration = boundedExpiration(
        endpointHost(built.endpoint),
        answered.expiration,
        this.now(),
        built.durationSeconds,
      )
      if (expiration instanceof PamError) throw expiration
      const assumed = expiration === answered.expiration ? answered : { ...answered, expiration }
      this.held.delete(key)
      this.held.set(key, assumed)
      // Keys are per application and role: bounded all the same, oldest out first.
      if (this.held.size > MAX_CACHED) this.held.delete(this.held.keys().next().value!)
      return assumed
    })().finally(() => this.inflight.delete(key))
    this.inflight.set(key, started)
    return started
  }
}
