import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import SQLite from 'better-sqlite3'
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  Kysely,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely'
import pg from 'pg'
import { ConfigError, ServiceUnavailable } from '../errors.js'
import { CacheStats } from '../metrics/cache-stats.js'
import { DEFAULT_POSTGRES_OPTIONS, type PostgresOptions, ResilientPool } from './postgres-pool.js'
import type { Database } from './schema.js'

export type Dialect = 'sqlite' | 'postgres'

export interface Store {
  readonly db: Kysely<Database>
  readonly dialect: Dialect
  /** A description of where the data lives, with any password removed. */
  readonly location: string
  close(): Promise<void>
  /**
   * SQLite only: runs compiled SQL straight on a connection, without Kysely's executor (its
   * connection mutex and promise hops cost more than the statement itself). `db` says which: a
   * transaction the caller is inside runs on the one read-write connection the transaction holds;
   * the pool (`store.db`) runs on that connection too when no transaction is open on it, and on a
   * separate read-only connection when one is (the group-commit batch): in WAL mode that one sees
   * exactly what is committed, never the open batch, and need not wait for the batch. Returns
   * undefined when it cannot run the query that way; the caller then goes through Kysely.
   * Used by `PreparedQuery`.
   */
  runCompiled?(db: Kysely<Database>, sql: string, parameters: readonly unknown[]): unknown[] | undefined
  /**
   * SQLite only: the WAL's sync, done by the store itself (in place while the disk is fast, off
   * the event loop once it is slow; `CommitSyncPolicy`). Absent on PostgreSQL (its server flushes its WAL before a commit
   * returns, without blocking this process) and for `:memory:` or read-only stores. See `WalSync`.
   */
  readonly deferredSync?: DeferredSync
  /** PostgreSQL: the connection pool's counts now, for the metrics. */
  poolStats?(): PoolStats
  /** SQLite: hits and misses of the prepared-statement caches, for the metrics. */
  readonly statementCache?: CacheStats
}

export interface DeferredSync {
  /**
   * Whether the group committer's next COMMIT should wait for the disk off the event loop
   * (`commitUnsynced`, then `syncCommitted`), or be synced before it returns, like any other write.
   * See `CommitSyncPolicy`.
   */
  readonly deferring: boolean
  /**
   * Runs `commit` (the group committer's `COMMIT`, and nothing else may run on the read-write
   * connection meanwhile: the committer's transaction holds it) without waiting for the disk. The
   * caller must then await `syncCommitted()` before it answers anyone.
   */
  commitUnsynced(commit: () => Promise<void>): Promise<void>
  /**
   * Runs the group committer's `COMMIT`, synced before it returns, and times that sync: what
   * `deferring` is decided on. Other writes' syncs (migrations, start-up) are not timed.
   */
  commitInPlace(commit: () => Promise<void>): Promise<void>
  /**
   * Syncs now, on this thread, what `commitUnsynced` committed, and times it as `commitInPlace`
   * does. For a committer that shares the database with other processes: it gives up the write
   * lock between its COMMIT and this sync, so the others write while its disk works. Throws, now
   * and for good, once any sync has failed.
   */
  syncInPlace(): void
  /**
   * Resolves once every commit made before the call is on disk: one `fdatasync` of the WAL on
   * libuv's thread pool, shared by the callers that arrive while it runs (one more follows for
   * those, as their commits may have come after it started). Rejects, now and for good, once any
   * sync has failed.
   */
  syncCommitted(): Promise<void>
  /** Why a sync failed, once one has: from then on every write fails. */
  readonly failure: Error | null
  /**
   * Another process writing the same file (a worker of `serve --workers N`) had a sync fail with
   * `code`: this store fails for good too, as if its own had. Its next writes could otherwise
   * build on frames that never reached the disk, and be answered once its own sync, finding
   * nothing left to write, succeeded.
   */
  failShared(code: string): void
}

export interface PoolStats {
  /** Connections open, idle or in use. */
  total: number
  idle: number
  /** Queries waiting for a connection. */
  waiting: number
  max: number
}

/**
 * Opens `sqlite:PATH` (or a bare path) or `postgres://…`. SQLite runs in WAL mode: a commit that
 * returned is on disk (`WalSync`; the group committer's waits for the disk off the event loop), and
 * readers never block the writer.
 */
export function openStore(
  url: string,
  options: {
    readonly?: boolean
    postgres?: PostgresOptions | undefined
    disk?: DiskSync
    commitSync?: CommitSyncPolicy
    /**
     * SQLite shared with other processes that write (`serve --workers N`): whether this process
     * holds the write lock they take turns through (cluster/write-lock.ts). A statement that
     * writes while it does not is refused: it would meet another process's open batch at the
     * file's lock, where SQLite sleeps on the event loop or fails that batch as a whole.
     */
    writeGuard?: () => boolean
    /** Told once, with the error's code, when a sync of this store fails (and every write after it will). */
    onSyncFailure?: (code: string) => void
    /**
     * SQLite: how long a statement waits for a lock another process holds (`busy_timeout`), 5 s by
     * default. SQLite waits by sleeping on this thread, so a server, whose event loop serves every
     * request, asks for `SERVING_BUSY_TIMEOUT_MS`.
     */
    busyTimeoutMs?: number
  } = {},
): Store {
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, options.postgres ?? DEFAULT_POSTGRES_OPTIONS)
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url
  if (path === '' || path.includes('\0')) throw new ConfigError(`database URL "${url}" has no file path`)
  return openSqlite(
    path,
    options.readonly ?? false,
    options.disk ?? NODE_DISK,
    options.commitSync ?? DEFAULT_COMMIT_SYNC,
    options.writeGuard,
    options.onSyncFailure,
    options.busyTimeoutMs ?? 5_000,
  )
}

/**
 * How long a serving process's statements wait for a lock another process holds on its SQLite
 * file. Within one server nothing else writes (its committer runs one batch at a time, and the
 * workers of `serve --workers N` take turns through the primary's lock), so only an outside
 * process meets it: an offline command's short transaction is waited for; a lock held longer (an
 * `sqlite3` shell left in a transaction) is answered 503 after a quarter of a second, rather than
 * after 5 s during which the process answered nothing at all.
 */
export const SERVING_BUSY_TIMEOUT_MS = 250

/**
 * When the group committer's commits wait for the disk off the event loop. Syncing on the thread
 * pool keeps a slow disk from stalling every request, but costs the event loop more than a fast
 * sync done in place: the batches get smaller (the next one starts while the disk works) and the
 * answers of each go out in a burst of their own. Measured on this project's 2-core machine, whose
 * WAL `fdatasync` takes 0.22 ms at p50 and 1 ms at p99 under load (npm run bench, alternating runs
 * of one build in both modes): ObtainCredential used 70–87 µs of CPU per request in place against
 * 85–100 deferred and served 8–12% more; the token endpoint 141 against 154–169 µs. On a day
 * the sync took ~1 ms at p50, deferring took the event loop's p99 delay under 50 writing loops
 * from 23–47 ms to 8–14 ms. So the committer syncs in place while the disk is fast, and defers for
 * `deferForMs` once the moving average of the syncs done in place exceeds `slowSyncMs`, or one of
 * them takes ten times that (a stall); then it tries in place again. Syncs on the thread pool are
 * not measured: they overlap the next batch's writes and would look slow on any disk.
 * `slowSyncMs: 0` always defers.
 */
export interface CommitSyncPolicy {
  readonly slowSyncMs: number
  readonly deferForMs: number
}

export const DEFAULT_COMMIT_SYNC: CommitSyncPolicy = { slowSyncMs: 2, deferForMs: 10_000 }

/** How a file's written data reaches the disk: node:fs, or a test's stand-in for the disk. */
export interface DiskSync {
  /** `fdatasync` on libuv's thread pool. */
  sync(fd: number, done: (err: NodeJS.ErrnoException | null) => void): void
  /** `fdatasync` now, on this thread. */
  syncNow(fd: number): void
}

const NODE_DISK: DiskSync = { sync: fdatasync, syncNow: fdatasyncSync }

function openSqlite(
  path: string,
  readonly: boolean,
  disk: DiskSync,
  policy: CommitSyncPolicy,
  writeGuard: (() => boolean) | undefined,
  onSyncFailure: ((code: string) => void) | undefined,
  busyTimeoutMs: number,
): Store {
  const file = path === ':memory:' ? path : resolve(path)
  if (file !== ':memory:' && !readonly) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    // Private from the start: SQLite gives the WAL and shared-memory files the database's mode.
    closeSync(openSync(file, 'a', 0o600))
  }
  let sqlite: SQLite.Database
  try {
    sqlite = new SQLite(file, { readonly, fileMustExist: readonly })
  } catch (cause) {
    throw new ConfigError(`cannot open SQLite database ${file}: ${(cause as Error).message}`, { cause })
  }
  // With the WAL open to us, commits write their frames (`synchronous=NORMAL`) and `WalSync`
  // syncs them: before the commit returns for every writer but the group committer, which waits
  // for a slow disk off the event loop. Otherwise SQLite syncs every commit itself (`FULL`).
  if (!readonly) sqlite.pragma('journal_mode = WAL')
  const wal =
    readonly || file === ':memory:' ? undefined : WalSync.open(sqlite, file, disk, policy, onSyncFailure)
  if (!readonly) sqlite.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`)
  const statementCache = new CacheStats()
  const writer = withStatementCache(sqlite, statementCache, wal, writeGuard)
  const db = new Kysely<Database>({
    dialect: new TransactionalDdlSqliteDialect({ database: writer }, !readonly),
  })
  // Opened on first use, once migrations have run. A `:memory:` database is private to its one
  // connection, and a read-only store has no batch to avoid: both read through Kysely.
  let reader: ReturnType<typeof withStatementCache> | null | undefined =
    file === ':memory:' || readonly ? null : undefined
  const openReader = () => {
    try {
      const connection = new SQLite(file, { fileMustExist: true })
      connection.pragma('query_only = ON')
      connection.pragma(`busy_timeout = ${busyTimeoutMs}`)
      return withStatementCache(connection, statementCache)
    } catch {
      // Reads then go through Kysely and wait for the batch, as they always could.
      return null
    }
  }
  return {
    db,
    dialect: 'sqlite',
    location: `sqlite:${file}`,
    statementCache,
    ...(wal ? { deferredSync: wal } : {}),
    close: async () => {
      reader?.close()
      reader = null
      await db.destroy()
      wal?.close()
    },
    runCompiled(on, text, parameters) {
      let connection: ReturnType<typeof withStatementCache>
      if (on === db && !sqlite.inTransaction) {
        // No transaction is open on the read-write connection (better-sqlite3 is synchronous, so
        // none can open while this runs): an autocommit read there sees exactly what is
        // committed, and that connection's page cache stays warm, where the read-only one's is
        // emptied by every commit (≈ 5 µs against ≈ 10 µs for a point select).
        connection = writer
      } else if (on === db) {
        if (reader === undefined) reader = openReader()
        if (reader === null) return undefined
        connection = reader
      } else if (on.isTransaction) {
        // Safe only because better-sqlite3 is synchronous and the transaction holds the one
        // read-write connection for its whole life: nothing else runs on it between our calls.
        connection = writer
      } else {
        return undefined
      }
      const statement = connection.prepare(text)
      if (statement.reader) return statement.all(parameters as unknown[])
      statement.run(parameters as unknown[])
      return []
    },
  }
}

const STATEMENT_CACHE_SIZE = 512

/**
 * Kysely's SQLite driver prepares every query anew, and preparing was an eighth of the server's
 * CPU under load. Its queries are parameterised, so their SQL text repeats: keep the prepared
 * statements, least recently used out first. Safe because the driver only calls `all`/`run`
 * (never leaves an iterator open) and runs one query at a time on the connection.
 */
function withStatementCache(
  sqlite: SQLite.Database,
  stats: CacheStats,
  wal?: WalSync,
  writeGuard?: () => boolean,
) {
  const cache = new Map<string, Prepared>()
  return {
    close: () => sqlite.close(),
    prepare: (text: string): Prepared => {
      let statement = cache.get(text)
      if (statement) {
        stats.hits++
        cache.delete(text)
      } else {
        stats.misses++
        const prepared = sqlite.prepare(text)
        // What may end a transaction with a write (COMMIT — which SQLite counts as read-only —
        // or a write outside one): WalSync looks after each run.
        statement =
          wal && (!prepared.readonly || ENDS_TRANSACTION.test(text)) ? wal.watch(prepared) : prepared
        if (writeGuard && !prepared.readonly) statement = guarded(statement, writeGuard)
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!)
      }
      cache.set(text, statement)
      return statement
    },
  }
}

const ENDS_TRANSACTION = /^\s*(commit|end|release)\b/i

/**
 * A statement that writes, refused unless `holds()`: see `writeGuard` of `openStore`. Every write
 * of a worker goes through the group committer, which holds the lock for its whole batch; one that
 * does not is a defect, refused here before it can fail another process's batch.
 */
function guarded(statement: Prepared, holds: () => boolean): Prepared {
  const check = () => {
    if (!holds()) throw new WriteOutsideLock()
  }
  return {
    reader: statement.reader,
    all: (parameters) => {
      check()
      return statement.all(parameters)
    },
    run: (parameters) => {
      check()
      return statement.run(parameters)
    },
    iterate: (parameters) => {
      check()
      return statement.iterate(parameters)
    },
  }
}

/** A write attempted outside the group committer while other processes write the same SQLite file. */
export class WriteOutsideLock extends Error {
  constructor() {
    super(
      'a write outside the group committer while other worker processes share this SQLite database (a defect: it must go through the committer)',
    )
    this.name = 'WriteOutsideLock'
  }
}

/** What the drivers call on a prepared statement. */
interface Prepared {
  readonly reader: boolean
  all(parameters: unknown[]): unknown[]
  run(parameters: unknown[]): SQLite.RunResult
  iterate(parameters: unknown[]): IterableIterator<unknown>
}

/**
 * In WAL mode with `synchronous=FULL`, SQLite's COMMIT writes its frames to the WAL and calls
 * `fdatasync` on it, synchronously, on the event loop: ≈ 0.3 ms per group-commit batch during which
 * no request is served. Here the connection runs with `synchronous=NORMAL` (a commit only writes its
 * frames) and this class calls `fdatasync` on its own descriptor of the same WAL file:
 * - for the group committer's COMMIT, on libuv's thread pool (`syncCommitted`); the committer
 *   answers the batch's units only once it has returned, and meanwhile runs the next batch;
 * - for every other write that ends a transaction (migrations, start-up, bookkeeping), at once,
 *   synchronously, before the statement returns: exactly what FULL did.
 * Either way a commit is acknowledged only once its frames are on disk, which is FULL's guarantee
 * (recovery replays every synced frame); checkpoints still sync the WAL before and the database
 * after copying, as SQLite does in NORMAL mode. While the read-write connection is open SQLite
 * keeps the WAL file (it resets it in place, never deletes it), so the descriptor stays the file's.
 * What differs: a batch's writes are visible to reads on this node from its COMMIT, up to a sync
 * before they are durable (as on any database, a read is not a promise that a write was made).
 *
 * A failed sync is final: Linux reports a write-back error once and may drop the pages, so a later
 * sync that succeeds proves nothing. Every later write then fails and the node stays unready
 * until it is restarted (SQLite's recovery then keeps only what reached the disk).
 */
class WalSync implements DeferredSync {
  private running: Promise<void> | null = null
  private next: Promise<void> | null = null
  private committing = false
  /** The group committer's COMMIT is running, to be synced in place and timed. */
  private timing = false
  /** Until when (performance.now()) the committer defers its syncs: the disk was slow. */
  private deferUntil = 0
  /** Moving average of the syncs done in place, in ms. */
  private averageMs = 0
  failure: Error | null = null

  private constructor(
    private readonly sqlite: SQLite.Database,
    private fd: number | null,
    private readonly disk: DiskSync,
    private readonly policy: CommitSyncPolicy,
    private readonly onFailure: ((code: string) => void) | undefined,
  ) {}

  get deferring(): boolean {
    return this.policy.slowSyncMs === 0 || performance.now() < this.deferUntil
  }

  /** Undefined when the WAL file cannot be opened: SQLite then syncs its commits itself. */
  static open(
    sqlite: SQLite.Database,
    file: string,
    disk: DiskSync,
    policy: CommitSyncPolicy,
    onFailure?: (code: string) => void,
  ): WalSync | undefined {
    try {
      // In WAL mode the first read creates the WAL file.
      sqlite.prepare('select count(*) from sqlite_master').get()
      return new WalSync(sqlite, openSync(`${file}-wal`, 'r'), disk, policy, onFailure)
    } catch {
      return undefined
    }
  }

  /** The statement, with a sync after each run that leaves no transaction open. */
  watch(statement: SQLite.Statement): Prepared {
    const after = <T>(result: T): T => {
      if (!this.sqlite.inTransaction) this.ended()
      return result
    }
    return {
      // `insert … returning` is a reader: it runs through `all`.
      reader: statement.reader,
      all: (parameters) => {
        if (this.failure) throw this.failure
        return after(statement.all(parameters))
      },
      run: (parameters) => {
        if (this.failure) throw this.failure
        return after(statement.run(parameters))
      },
      iterate: () => {
        throw new Error('a statement that writes is not iterated')
      },
    }
  }

  async commitInPlace(commit: () => Promise<void>): Promise<void> {
    this.timing = true
    try {
      await commit()
    } finally {
      this.timing = false
    }
  }

  async commitUnsynced(commit: () => Promise<void>): Promise<void> {
    this.committing = true
    try {
      await commit()
    } finally {
      this.committing = false
    }
  }

  syncInPlace(): void {
    if (this.failure) throw this.failure
    if (this.fd === null) throw new Error('the database is closed')
    const started = performance.now()
    try {
      this.disk.syncNow(this.fd)
    } catch (err) {
      throw this.fail(err)
    }
    this.took(started)
  }

  syncCommitted(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    if (this.running === null) {
      this.running = this.sync().finally(() => {
        this.running = null
      })
      return this.running
    }
    // The sync in flight may have started before this caller's commit: one more after it.
    this.next ??= this.running.then(() => {
      this.next = null
      return this.syncCommitted()
    })
    return this.next
  }

  close(): void {
    if (this.fd === null) return
    closeSync(this.fd)
    this.fd = null
  }

  /** A transaction ended with a write: synced now, unless it is the committer's. */
  private ended(): void {
    if (this.committing) {
      this.committing = false
      return
    }
    if (this.fd === null) return
    const timed = this.timing
    this.timing = false
    const started = performance.now()
    try {
      this.disk.syncNow(this.fd)
    } catch (err) {
      throw this.fail(err)
    }
    if (timed) this.took(started)
  }

  /** Notes how long a sync in place that began at `started` took: a slow disk makes the committer defer. */
  private took(started: number): void {
    const now = performance.now()
    const ms = now - started
    this.averageMs = this.averageMs * 0.9 + ms * 0.1
    if (this.averageMs > this.policy.slowSyncMs || ms > 10 * this.policy.slowSyncMs) {
      this.deferUntil = now + this.policy.deferForMs
      // Measured afresh when it tries in place again.
      this.averageMs = 0
    }
  }

  private sync(): Promise<void> {
    const fd = this.fd
    if (fd === null) return Promise.reject(new Error('the database is closed'))
    return new Promise((resolve, reject) =>
      this.disk.sync(fd, (err) => {
        if (err) return reject(this.fail(err))
        resolve()
      }),
    )
  }

  failShared(code: string): void {
    this.failure ??= new ServiceUnavailable(
      'another worker of this server could not sync the database to disk; restart the server once the disk is healthy',
      Object.assign(new Error(`a sync of the shared database failed (${code})`), { code }),
    )
  }

  private fail(err: unknown): Error {
    if (this.failure) return this.failure
    this.failure = new ServiceUnavailable(
      'the database could not be synced to disk; restart the server once the disk is healthy',
      err,
    )
    const code = (err as { code?: unknown } | null)?.code
    this.onFailure?.(typeof code === 'string' && code !== '' ? code : 'EIO')
    return this.failure
  }
}

// bigint (int8) columns hold epoch milliseconds and sequence numbers: well inside 2^53.
const INT8_OID = 20
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
}

/**
 * A database URL as it may be shown (the banner, logs, `store.location`): a PostgreSQL URL's
 * password as `***`. A URL that does not parse is shown by its scheme alone.
 */
export function shownDatabaseUrl(url: string): string {
  if (url.startsWith('sqlite:')) return url
  try {
    const redacted = new URL(url)
    if (redacted.password) redacted.password = '***'
    return redacted.toString()
  } catch {
    return `${url.split(':', 1)[0]}:…`
  }
}

/**
 * SQLite's DDL is transactional, but Kysely's adapter says it is not, so its Migrator ran each
 * statement of a migration on its own: a server stopped (or killed) while it migrated left tables
 * of a migration it had not recorded, and every later start failed ("table … already exists"). Said
 * true, the Migrator runs the whole run of pending migrations and their records in one
 * transaction: all of it or none.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true
  }
}

/**
 * Transactions that take the write lock as they begin (`BEGIN IMMEDIATE`), where a plain `BEGIN`
 * takes it at the first write. A transaction that has read holds a snapshot, and SQLite then
 * answers a lock another process holds with SQLITE_BUSY at once, without its busy handler (a wait
 * could not help: the snapshot would be stale): a batch that reads before it writes was refused
 * in a millisecond by another process's 100 ms transaction or checkpoint, and refused the writes
 * of the next second with it (found by a review of the committer's cooldown). Taken at BEGIN, the
 * lock is waited for up to the busy timeout. Within one server nothing else writes, so this waits
 * only for other processes.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

class TransactionalDdlSqliteDialect extends SqliteDialect {
  constructor(
    private readonly settings: SqliteDialectConfig,
    /** Whether transactions begin `IMMEDIATE` (a store that writes). */
    private readonly immediate: boolean,
  ) {
    super(settings)
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter()
  }

  override createDriver(): Driver {
    return this.immediate ? new ImmediateSqliteDriver(this.settings) : super.createDriver()
  }
}

function openPostgres(url: string, options: PostgresOptions): Store {
  // Survives an outage: see ResilientPool (timeouts, 503 for what is unavailable, reconnection).
  const resilient = new ResilientPool(url, options, pgTypes)
  const { pool } = resilient
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: resilient }) })
  return {
    db,
    dialect: 'postgres',
    location: shownDatabaseUrl(url),
    close: () => db.destroy(),
    poolStats: () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      max: options.poolSize,
    }),
  }
}
