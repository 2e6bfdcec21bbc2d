import { sql } from 'kysely'
import { PamError } from '../errors.js'
import type { Services } from '../services.js'
import type { Committer } from '../store/committer.js'
import type { Store } from '../store/connect.js'
import { prepare } from '../store/prepared.js'
import { FailureThrottle, type ThrottleOptions } from './failure-throttle.js'

/** A failure throttle the OAuth endpoints use: asynchronous, since it may be kept in the database. */
export interface ClientThrottle {
  /** Throws 429 `Throttling.User` with `Retry-After` when `source` must wait before trying again. */
  refuseIfExhausted(source: string, message?: string): Promise<void>
  /** Spends one failure; true when this failure exhausted the source (it is throttled from now). */
  fail(source: string): Promise<boolean>
}

/** This node's own buckets, for one node alone (the embedded SQLite default). */
export function localThrottle(throttle: FailureThrottle): ClientThrottle {
  return {
    refuseIfExhausted: async (source, message) => throttle.refuseIfExhausted(source, message),
    fail: async (source) => throttle.fail(source),
  }
}

// Read on every request to the OAuth endpoints (twice: per address and per client): compiled once.
const bucketOf = prepare(['surface', 'source'], (db, p) =>
  db
    .selectFrom('auth_failures')
    .select(['tokens', 'at'])
    .where('surface', '=', p.surface)
    .where('source', '=', p.source),
)

/** A source as a key: client ids come from the request and may be long; none of ours is. */
const MAX_SOURCE = 256

/**
 * Token buckets of failed authentications kept in the database (PostgreSQL, or the SQLite file
 * the workers of `serve --workers N` share), so that failures spread over several nodes or
 * workers spend one budget, as if they had all reached one process. Each failure is one atomic
 * upsert (the bucket refilled for the time that passed, then spent); each check reads the
 * bucket (a primary-key read) unless this node already knows the source is exhausted: its own
 * copy of the bucket, taken from the database, refuses a flood without a database read. The
 * OAuth endpoints check before every request; the admin and developer APIs only once a request
 * has failed (`AddressThrottle`), so a token that works never waits for the read.
 */
export class SharedFailureThrottle implements ClientThrottle, AddressThrottle {
  private readonly known: FailureThrottle

  /**
   * `committer`: on SQLite every write goes through the group committer (it holds the one
   * read-write connection, and the write lock of `serve --workers N`); on PostgreSQL a failure is
   * one statement on the pool.
   */
  constructor(
    private readonly store: Store,
    private readonly surface: string,
    private readonly options: ThrottleOptions,
    private readonly committer: Committer,
  ) {
    this.known = new FailureThrottle({ ...options, onRefuse: () => {} })
  }

  async refuseIfExhausted(source: string, message?: string): Promise<void> {
    const key = source.slice(0, MAX_SOURCE)
    if (this.known.retryAfter(key) <= 0) {
      const row = await bucketOf.first(this.store, this.store.db, { surface: this.surface, source: key })
      if (row === undefined) return
      const now = this.options.now()
      const tokens = Math.min(
        this.options.burst,
        Number(row.tokens) + (Math.max(0, now - Number(row.at)) / 1000) * this.options.refillPerSecond,
      )
      if (tokens >= 1) return
      this.known.adopt(key, tokens)
    }
    const wait = this.known.retryAfter(key)
    this.options.onRefuse?.()
    throw new PamError(
      'Throttling.User',
      message ?? 'too many failed authentications from this address; retry later',
      { retryAfterSeconds: Math.max(1, wait) },
    )
  }

  /**
   * A failure the database cannot take (an outage, a failed sync) is spent in this process's copy
   * alone: the throttle goes on refusing, per process, rather than answer a refused
   * authentication with an error of its own. The outage itself is reported where it happens.
   */
  async fail(source: string): Promise<boolean> {
    const key = source.slice(0, MAX_SOURCE)
    let tokens: number
    try {
      tokens = await spendShared(this.store, this.committer, this.surface, key, this.options)
    } catch {
      return this.known.fail(key)
    }
    this.known.adopt(key, tokens)
    return tokens < 1
  }

  /** What this process knows: the seconds `source` must wait, 0 unless it learned it is exhausted. */
  retryAfter(source: string): number {
    return this.known.retryAfter(source.slice(0, MAX_SOURCE))
  }
}

/**
 * A throttle that is asked only once an authentication has failed (the admin API's, the
 * developer API's, a session's refresh): a request that authenticates costs it nothing, whatever
 * its address did before. `retryAfter` is what this process already knows (it decides whether a
 * failure is audited one by one); `refuseIfExhausted` and `fail` may ask the database, and are
 * awaited. `FailureThrottle` is one, with this process's own buckets; `SharedFailureThrottle`
 * another, with the cluster's.
 */
export interface AddressThrottle {
  /** Seconds this process knows `source` must wait; 0 when, as far as it knows, it may try now. */
  retryAfter(source: string): number
  /** Throws 429 `Throttling.User` with `Retry-After` when `source` must wait before trying again. */
  refuseIfExhausted(source: string, message?: string): void | Promise<void>
  /** Spends one failure; true when `source` is exhausted from now on. */
  fail(source: string): boolean | Promise<boolean>
}

/**
 * A budget of failed authentications per source address for `surface`: this process's own where
 * it is the database's only writer (the embedded SQLite default), the cluster's where other
 * processes write it too (PostgreSQL nodes, the workers of `serve --workers N`).
 */
export function addressThrottle(
  s: Pick<Services, 'changes' | 'store' | 'committer'>,
  surface: string,
  options: ThrottleOptions,
): AddressThrottle {
  return s.changes.solitary
    ? new FailureThrottle(options)
    : new SharedFailureThrottle(s.store, `${surface}_address`, options, s.committer)
}

/**
 * Spends one failure of `source` in the database: the bucket refilled for the time that passed,
 * then spent, in one atomic upsert. Answers the tokens left. On SQLite every write goes through
 * the group committer (it holds the one read-write connection, and the write lock of `serve
 * --workers N`); on PostgreSQL it is one statement on the pool.
 */
async function spendShared(
  store: Store,
  committer: Committer,
  surface: string,
  source: string,
  options: ThrottleOptions,
): Promise<number> {
  const { burst, refillPerSecond } = options
  const now = options.now()
  // PostgreSQL's greatest/least are SQLite's multi-argument max/min.
  const [greatest, least] = store.dialect === 'postgres' ? ['greatest', 'least'] : ['max', 'min']
  const upsert = sql<{ tokens: number }>`
    insert into auth_failures as f (surface, source, tokens, at)
    values (${surface}, ${source}, ${burst - 1}, ${now})
    on conflict (surface, source) do update set
      tokens = ${sql.raw(greatest)}(0, ${sql.raw(least)}(cast(${burst} as double precision),
        f.tokens + ${sql.raw(greatest)}(0, cast(${now} as bigint) - f.at) * cast(${refillPerSecond} as double precision) / 1000) - 1),
      at = ${sql.raw(greatest)}(f.at, cast(${now} as bigint))
    returning tokens`
  const result =
    store.dialect === 'postgres'
      ? await upsert.execute(store.db)
      : await committer.run(({ trx }) => upsert.execute(trx))
  return Number(result.rows[0]?.tokens ?? 0)
}
