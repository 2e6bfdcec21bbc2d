import { sql } from 'kysely'
import { PamError } from '../errors.js'
import type { ServiceLog } from '../services/best-effort.js'
import type { Services } from '../services.js'
import type { Committer } from '../store/committer.js'
import type { Store } from '../store/connect.js'
import { prepare } from '../store/prepared.js'
import { FailureThrottle, sourceKeyOf, type ThrottleOptions } from './failure-throttle.js'

/**
 * A throttle checked before the request does any work (the OAuth endpoints' per-address budget,
 * session refresh and revoke): asynchronous, since it may be kept in the database. It can be
 * asked once an authentication has failed too (`AddressThrottle`): the OAuth endpoints'
 * per-client budget is, since anyone who knows a client id can spend it.
 */
export interface ClientThrottle extends AddressThrottle {
  /**
   * Reserves one failure of `source` before the work (429 when none is left), so that attempts
   * in flight together cannot all pass a check first: answers the refund, called when the work
   * did not fail. A reserved attempt that fails is then `failed`, not `fail`ed.
   */
  reserve(source: string, message?: string): Promise<() => void>
  /** Records the failure of an attempt `reserve` let through (already spent here). */
  failed(source: string): Promise<void>
}

/**
 * A throttle asked only once an authentication has failed (the admin API, the developer API, the
 * OCI data plane): a request that authenticates costs it nothing, whatever its address did
 * before. `FailureThrottle` is one, with this process's own buckets; `SharedFailureThrottle`
 * another, with the cluster's.
 */
export interface AddressThrottle {
  /**
   * Seconds this process knows `source` must wait; 0 when, as far as it knows, it may try now.
   * It decides whether a failure is audited one by one, so it never asks the database.
   */
  retryAfter(source: string): number
  /**
   * Counts one failed authentication of `source`: throws 429 `Throttling.User` when `source` had
   * no failure left, else spends one and answers whether that one exhausted it. The check and the
   * spending are one step, so concurrent failures cannot all pass the check first. `message` is
   * the 429's, in place of the default one about an address.
   */
  countFailure(source: string, message?: string): boolean | Promise<boolean>
}

/** This node's own buckets, for one node alone (the embedded SQLite default). */
function localThrottle(throttle: FailureThrottle): ClientThrottle {
  return {
    retryAfter: (source) => throttle.retryAfter(source),
    countFailure: (source, message) => throttle.countFailure(source, message),
    reserve: async (source, message) => throttle.reserve(source, message),
    failed: async () => {},
  }
}

type Cluster = Pick<Services, 'changes' | 'store' | 'committer' | 'log'>

/**
 * The budget of `surface` (the key of its buckets in `auth_failures`) for a throttle checked
 * before the work: this process's own where it is the database's only writer (the embedded
 * SQLite default), the cluster's where other processes write it too (PostgreSQL nodes, the
 * workers of `serve --workers N`).
 */
export function clientThrottle(s: Cluster, surface: string, options: ThrottleOptions): ClientThrottle {
  return s.changes.solitary
    ? localThrottle(new FailureThrottle(options))
    : new SharedFailureThrottle(s.store, surface, options, s.committer, s.log)
}

/** The same, for a throttle asked once an authentication has failed. */
export function addressThrottle(s: Cluster, surface: string, options: ThrottleOptions): AddressThrottle {
  return s.changes.solitary
    ? new FailureThrottle(options)
    : new SharedFailureThrottle(s.store, surface, options, s.committer, s.log)
}

// Read on every request to the OAuth endpoints (per address): compiled once.
const bucketOf = prepare(['surface', 'source'], (db, p) =>
  db
    .selectFrom('auth_failures')
    .select(['tokens', 'at'])
    .where('surface', '=', p.surface)
    .where('source', '=', p.source),
)

/** The warning of an outage that leaves failures to this process's own count. */
const COUNTED_ALONE =
  'failed authentications are counted by this process alone: the database does not take them'

/** How often the throttle says, at most, that the database does not take its failures. */
const OUTAGE_LOG_INTERVAL_MS = 60_000

/**
 * Token buckets of failed authentications kept in the database (PostgreSQL, or the SQLite file
 * the workers of `serve --workers N` share), so that failures spread over several nodes or
 * workers spend one budget, as if they had all reached one process. Each failure is one atomic
 * upsert (the bucket refilled for the time that passed, then spent). This process keeps a copy of
 * each bucket it learned is exhausted, and refuses from it without asking the database.
 *
 * Reserved before the work (`reserve`), each attempt holds one failure of this process's copy
 * and reads the bucket (a primary-key read) unless the copy already refuses; a failed attempt is
 * then spent in the database (`failed`). Asked once an authentication has failed (`countFailure`,
 * the `AddressThrottle` way), nothing is read before a failure: the failure is one conditional
 * upsert that spends only if a failure is left, so the cluster allows the budget exactly, and
 * the caller audits the failure only once it was counted.
 *
 * When the database cannot take a failure (an outage, writes refused after a failed sync), this
 * process's copy counts it alone, and a warning says so once a minute at most: the throttle goes
 * on refusing, per process, rather than answer a refused authentication with an error of its own.
 * A check that cannot read the database lets the request go on to the work, which needs the
 * database anyway.
 */
export class SharedFailureThrottle implements ClientThrottle, AddressThrottle {
  private readonly known: FailureThrottle
  private warnedAt = Number.NEGATIVE_INFINITY

  constructor(
    private readonly store: Store,
    private readonly surface: string,
    private readonly options: ThrottleOptions,
    private readonly committer: Committer,
    private readonly log: ServiceLog,
  ) {
    this.known = new FailureThrottle({ ...options, onRefuse: () => {} })
  }

  retryAfter(source: string): number {
    return this.known.retryAfter(sourceKeyOf(this.options, source))
  }

  /**
   * Reserved in this process's copy first, in one synchronous step (so the attempts in flight
   * here are bounded by the budget), then checked against the database's bucket (a primary-key
   * read, unless the copy already refuses); a failure is spent in the database by `failed`.
   */
  async reserve(source: string, message?: string): Promise<() => void> {
    const key = sourceKeyOf(this.options, source)
    if (this.known.retryAfter(key) > 0) this.refuse(key, message)
    const refund = this.known.reserve(key, message)
    const tokens = await this.stored(key)
    if (tokens !== null && tokens < 1) {
      refund()
      this.known.adopt(key, tokens)
      this.refuse(key, message)
    }
    return refund
  }

  async failed(source: string): Promise<void> {
    const key = sourceKeyOf(this.options, source)
    try {
      this.known.adopt(key, await this.spend(key, 'always'))
    } catch (err) {
      // Already spent here by `reserve`: counted alone, not a second time.
      this.outage(err, COUNTED_ALONE)
    }
  }

  async countFailure(source: string, message?: string): Promise<boolean> {
    const key = sourceKeyOf(this.options, source)
    if (this.known.retryAfter(key) > 0) this.refuse(key, message)
    let tokens: number | null
    try {
      tokens = await this.spend(key, 'if-left')
    } catch (err) {
      this.outage(err, COUNTED_ALONE)
      // Refused through `refuse`, so that the metrics count it, as every other refusal.
      if (this.known.retryAfter(key) > 0) this.refuse(key, message)
      return this.known.fail(key)
    }
    if (tokens === null) {
      // Spent through other processes: learn for how long, and refuse.
      this.known.adopt(key, (await this.stored(key)) ?? 0)
      this.refuse(key, message)
    }
    this.known.adopt(key, tokens)
    return tokens < 1
  }

  private refuse(key: string, message?: string): never {
    this.options.onRefuse?.()
    throw new PamError(
      'Throttling.User',
      message ?? 'too many failed authentications from this address; retry later',
      { retryAfterSeconds: Math.max(1, this.known.retryAfter(key)) },
    )
  }

  /** The failures `key` has left now, by the database; null when it has no bucket or cannot be read. */
  private async stored(key: string): Promise<number | null> {
    let row: { tokens: number; at: number | bigint } | undefined
    try {
      row = await bucketOf.first(this.store, this.store.db, { surface: this.surface, source: key })
    } catch (err) {
      this.outage(
        err,
        'failure budgets are checked against what this process knows: the database cannot be read',
      )
      return null
    }
    if (row === undefined) return null
    const elapsed = Math.max(0, this.options.now() - Number(row.at))
    return Math.min(this.options.burst, Number(row.tokens) + (elapsed / 1000) * this.options.refillPerSecond)
  }

  /**
   * Spends one failure of `key` in the database: the bucket refilled for the time that passed,
   * then spent, in one atomic upsert; answers the failures left. `if-left` spends only when at
   * least one is left, and answers null when none was. On SQLite every write goes through the
   * group committer (it holds the one read-write connection, and the write lock of `serve
   * --workers N`); on PostgreSQL it is one statement on the pool.
   */
  private async spend(key: string, when: 'always'): Promise<number>
  private async spend(key: string, when: 'if-left'): Promise<number | null>
  private async spend(key: string, when: 'always' | 'if-left'): Promise<number | null> {
    const { burst, refillPerSecond } = this.options
    const now = this.options.now()
    // PostgreSQL's greatest/least are SQLite's multi-argument max/min.
    const [greatest, least] = this.store.dialect === 'postgres' ? ['greatest', 'least'] : ['max', 'min']
    const refilled = sql`${sql.raw(least)}(cast(${burst} as double precision),
      f.tokens + ${sql.raw(greatest)}(0, cast(${now} as bigint) - f.at) * cast(${refillPerSecond} as double precision) / 1000)`
    const upsert = sql<{ tokens: number }>`
      insert into auth_failures as f (surface, source, tokens, at)
      values (${this.surface}, ${key}, ${burst - 1}, ${now})
      on conflict (surface, source) do update set
        tokens = ${sql.raw(greatest)}(0, ${refilled} - 1),
        at = ${sql.raw(greatest)}(f.at, cast(${now} as bigint))
      ${when === 'if-left' ? sql`where ${refilled} >= 1` : sql``}
      returning tokens`
    const result =
      this.store.dialect === 'postgres'
        ? await upsert.execute(this.store.db)
        : await this.committer.run(({ trx }) => upsert.execute(trx))
    const row = result.rows[0]
    if (row === undefined) return when === 'if-left' ? null : 0
    return Number(row.tokens)
  }

  private outage(err: unknown, what: string): void {
    const now = this.options.now()
    if (now - this.warnedAt < OUTAGE_LOG_INTERVAL_MS) return
    this.warnedAt = now
    this.log.warn({ err, surface: this.surface }, what)
  }
}

/**
 * One request's failure, counted against its address's budget once: before its refusal is
 * audited (`beforeAudit`, which the services call as they refuse, so attempts in flight together
 * cannot all be audited past the budget: a reviewer's 64 connections wrote 152 events against a
 * budget of 30), or after, for a refusal that writes none. `count` answers whether this failure
 * exhausted the budget; it throws 429 when none was left.
 */
export function failureCounter(throttle: AddressThrottle, address: string) {
  let counted: Promise<boolean> | undefined
  const count = () => {
    counted ??= (async () => throttle.countFailure(address))()
    return counted
  }
  const beforeAudit = async () => {
    await count()
    return true
  }
  return { count, beforeAudit }
}

/** One attempt's reservation of its address's budget (`ClientThrottle.reserve`), settled once. */
export interface FailureReservation {
  /** The attempt did not fail: its reservation goes back. */
  refund(): void
  /** The attempt failed: its reservation stands, and the cluster's budget hears of it. */
  failed(): Promise<void>
}

/** Reserves one failure of `source` before the work (429 when none is left). */
export async function reserveFailure(
  throttle: ClientThrottle,
  source: string,
  message?: string,
): Promise<FailureReservation> {
  const refund = await throttle.reserve(source, message)
  let settled = false
  return {
    refund() {
      if (settled) return
      settled = true
      refund()
    },
    async failed() {
      if (settled) return
      settled = true
      await throttle.failed(source)
    },
  }
}
