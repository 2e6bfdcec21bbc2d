import SQLite from 'better-sqlite3'
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely'
import pg from 'pg'
import { ServiceUnavailable } from '../errors.js'

/** How a node uses its PostgreSQL database: `--db-pool-size`, `--db-statement-timeout-ms`, `--db-connect-timeout-ms`. */
export interface PostgresOptions {
  /** Connections open at most. */
  poolSize: number
  /**
   * The longest one statement may run: PostgreSQL cancels it then (`statement_timeout`), and a
   * server that does not answer at all is given up on a little later by the node itself. 0: no
   * limit (the migrations' own pool at start-up).
   */
  statementTimeoutMs: number
  /** The longest a query waits for a connection: to open one, or for a busy pool to free one. */
  connectTimeoutMs: number
}

export const DEFAULT_POSTGRES_OPTIONS: PostgresOptions = {
  poolSize: 10,
  statementTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
}

/** Past the statement timeout, how much longer the node waits for the server before it gives the connection up. */
const UNANSWERED_GRACE_MS = 2_000

/**
 * SQLSTATEs that say the database is unavailable for now rather than that the statement is wrong:
 * connection exceptions (class 08), the server shutting down or starting (57P01–57P03), a
 * statement cancelled by the timeout (57014), insufficient resources (class 53: too many
 * connections, disk full), and a serialisation failure or deadlock a retry resolves (40001, 40P01).
 */
function unavailableState(code: string): boolean {
  return /^(08|53|57P0[123]$|57014$|40001$|40P01$)/.test(code)
}

/**
 * Whether `err` (or an error in its `cause` chain) is PostgreSQL giving up one transaction's
 * statement to another's: a deadlock (40P01) or a serialisation failure (40001). Not an outage:
 * the statement is fine, and run again after the other transaction commits it succeeds. The
 * committer re-runs such a unit in its next batch rather than refusing the whole batch.
 */
export function isTransientConflict(err: unknown): boolean {
  let current: unknown = err
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code
    if (current instanceof pg.DatabaseError && (code === '40P01' || code === '40001')) return true
    current = current.cause
  }
  return false
}

/**
 * SQLSTATEs of a connection PostgreSQL refused for its settings: invalid authorization (28000),
 * wrong password (28P01), no such database (3D000), no such role's privilege to connect (42501).
 * Their messages name the user or the database, never the password.
 */
const REFUSED_CONNECTION = new Set(['28000', '28P01', '3D000', '42501'])

/**
 * SQLite's (extended) result codes, as better-sqlite3 gives them in `code`, that say another
 * connection has the database for now, not that anything is wrong with it: its write lock held
 * past the busy timeout (`SQLITE_BUSY`: an operator's `sqlite3` shell in a transaction, an external
 * `audit archive`, an orphaned process), a WAL being recovered by another connection
 * (`_RECOVERY`), a read snapshot another connection's commit made stale (`_SNAPSHOT`: the
 * transaction, run again, succeeds), a blocking lock that timed out (`_TIMEOUT`), and a table or
 * virtual table locked by another statement or shared-cache connection (`SQLITE_LOCKED`…). Not
 * the codes that merely mention a lock: `SQLITE_IOERR_LOCK` and its kin are I/O errors,
 * `SQLITE_READONLY_CANTLOCK` and the other `SQLITE_READONLY_*` a database this process may not
 * write, and neither they nor `SQLITE_FULL`, `SQLITE_CORRUPT*` or `SQLITE_NOTADB` go away by
 * waiting: they keep their own handling (a COMMIT or sync that fails so is the unwritable audit's
 * 503 `AuditUnavailable`, store/committer.ts).
 */
const SQLITE_TRY_AGAIN = new Set([
  'SQLITE_BUSY',
  'SQLITE_BUSY_RECOVERY',
  'SQLITE_BUSY_SNAPSHOT',
  'SQLITE_BUSY_TIMEOUT',
  'SQLITE_LOCKED',
  'SQLITE_LOCKED_SHAREDCACHE',
  'SQLITE_LOCKED_VTAB',
])

/**
 * The database cannot be used for now (down, restarting, not answering, out of connections; on
 * SQLite, locked by another connection): 503.
 */
export class DatabaseUnavailable extends ServiceUnavailable {}

/**
 * Whether `err` (or an error in its `cause` chain) says the database is unavailable for now: what a
 * caller answers with 503 and `Retry-After`, never 500. PostgreSQL's SQLSTATEs above, and SQLite's
 * busy and locked codes (`SQLITE_TRY_AGAIN`).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  let current: unknown = err
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof DatabaseUnavailable) return true
    const code = (current as { code?: unknown }).code
    if (current instanceof pg.DatabaseError && typeof code === 'string') return unavailableState(code)
    if (current instanceof SQLite.SqliteError) return SQLITE_TRY_AGAIN.has(code as string)
    current = current.cause
  }
  return false
}

/**
 * The connection itself was lost, as the error says: the server closed it (a connection exception,
 * or the server shutting down), or the socket failed (a system error: ECONNRESET, EPIPE…).
 */
function connectionLostError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return false
  return err instanceof pg.DatabaseError ? /^(08|57P0[123]$)/.test(code) : /^E[A-Z]+$/.test(code)
}

/** A statement that changes nothing when it fails: one that may run again on a fresh connection. */
const RETRYABLE = /^\s*(select|begin)\b/i

class Unanswered extends Error {
  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms`)
    this.name = 'Unanswered'
  }
}

const unavailable = (err: unknown) =>
  err instanceof DatabaseUnavailable
    ? err
    : new DatabaseUnavailable('the database is unavailable; retry later', err)

/**
 * The PostgreSQL pool Kysely runs on, made to survive an outage:
 *
 * - a connection found dead when it is first used (the server restarted, or killed it with
 *   `pg_terminate_backend`, while it sat idle in the pool) is replaced and the statement run again,
 *   when that statement is a read or the `BEGIN` of a transaction, so nothing ran twice;
 * - every failure that means "unavailable for now" (no connection within the connect timeout, a
 *   lost connection, the statement timeout, a server shutting down) becomes 503
 *   `ServiceUnavailable`, answered with `Retry-After`, never 500;
 * - no statement waits forever: PostgreSQL cancels it at the statement timeout, and a server that
 *   does not answer at all loses its connection a little later;
 * - a connection lost while checked out (between two statements of a transaction) is an error for
 *   its holder, never an unhandled `error` event that would stop the process.
 *
 * The pool reconnects by itself when the database is back: each checkout opens what it needs.
 */
export class ResilientPool implements PostgresPool {
  readonly pool: pg.Pool
  readonly unansweredAfterMs: number

  constructor(
    url: string,
    readonly options: PostgresOptions,
    types: pg.CustomTypesConfig,
  ) {
    const limited = options.statementTimeoutMs > 0
    this.unansweredAfterMs = limited ? options.statementTimeoutMs + UNANSWERED_GRACE_MS : 0
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize,
      types,
      connectionTimeoutMillis: options.connectTimeoutMs,
      keepAlive: true,
      ...(limited ? { statement_timeout: options.statementTimeoutMs } : {}),
      // A node that stalls inside a transaction must not hold the audit chain's row lock for good.
      idle_in_transaction_session_timeout: Math.max(60_000, 2 * options.statementTimeoutMs),
    })
    // An idle client that loses its connection must not crash the process; the next checkout opens another.
    this.pool.on('error', () => {})
  }

  async connect(): Promise<PostgresPoolClient> {
    return new Checkout(this, await this.checkout())
  }

  async checkout(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect()
    } catch (err) {
      // A wrong password or a database that does not exist is no outage to wait out: say which.
      const code = (err as { code?: unknown }).code
      if (typeof code === 'string' && REFUSED_CONNECTION.has(code)) {
        throw new DatabaseUnavailable(`the database refused the connection: ${(err as Error).message}`, err)
      }
      throw new DatabaseUnavailable('the database cannot be reached; retry later', err)
    }
  }

  end(): Promise<void> {
    return this.pool.end()
  }
}

/** One checkout of a connection, as Kysely holds it for a query or a transaction. */
class Checkout implements PostgresPoolClient {
  private first = true
  private released = false
  /** Set when the connection failed underneath: it is given back as broken, and used no more. */
  private broken: unknown = null
  private readonly onError = (err: Error) => {
    this.broken ??= err
  }

  /** Null once a dead connection was given back and no other could be had. */
  private client: pg.PoolClient | null

  constructor(
    private readonly owner: ResilientPool,
    client: pg.PoolClient,
  ) {
    this.client = client
    client.on('error', this.onError)
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>
  query<R>(
    sql: string | PostgresCursor<R>,
    parameters?: ReadonlyArray<unknown>,
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sql !== 'string') throw new TypeError('cursors are not supported')
    return this.run<R>(sql, parameters ?? [])
  }

  release(): void {
    if (this.released) return
    this.released = true
    const client = this.client
    this.client = null
    client?.removeListener('error', this.onError)
    client?.release(this.broken === null ? undefined : (this.broken as Error))
  }

  private async run<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    const first = this.first
    this.first = false
    const retryable = first && RETRYABLE.test(sql)
    if (this.client === null) throw unavailable(this.broken)
    if (this.broken !== null && !retryable) throw unavailable(this.broken)
    if (this.broken === null) {
      try {
        return await this.attempt<R>(sql, parameters)
      } catch (err) {
        if (!(retryable && this.lost(err) && !(err instanceof Unanswered))) throw this.translate(err)
      }
    }
    // The connection died while it sat in the pool: nothing ran on it. Once more, on a fresh one.
    this.replace()
    const fresh = await this.owner.checkout()
    this.client = fresh
    this.broken = null
    fresh.on('error', this.onError)
    try {
      return await this.attempt<R>(sql, parameters)
    } catch (err) {
      throw this.translate(err)
    }
  }

  private async attempt<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    let timer: NodeJS.Timeout | undefined
    const limit = this.owner.unansweredAfterMs
    const unanswered = new Promise<never>((_, reject) => {
      if (limit > 0) timer = setTimeout(() => reject(new Unanswered(limit)), limit)
    })
    try {
      const client = this.client
      if (client === null) throw unavailable(this.broken)
      const result = await Promise.race([client.query(sql, [...parameters]), unanswered])
      return result as unknown as PostgresQueryResult<R>
    } finally {
      clearTimeout(timer)
    }
  }

  /** Gives the current connection back as broken (the pool closes it). */
  private replace(): void {
    const client = this.client
    this.client = null
    client?.removeListener('error', this.onError)
    client?.release(new Error('connection lost'))
  }

  /**
   * Whether the connection is gone: the error says so, or the client reported an error of its own
   * (pg emits it, when the socket ends under a query, before the query's promise is rejected).
   */
  private lost(err: unknown): boolean {
    return this.broken !== null || connectionLostError(err)
  }

  private translate(err: unknown): unknown {
    const lost = err instanceof Unanswered || this.lost(err)
    if (lost) this.broken ??= err
    return lost || isDatabaseUnavailable(err) ? unavailable(err) : err
  }
}
