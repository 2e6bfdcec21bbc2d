import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import pg from 'pg'
import { ConfigError } from '../errors.js'
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
  /** PostgreSQL: the connection pool's counts now, for the metrics. */
  poolStats?(): PoolStats
  /** SQLite: hits and misses of the prepared-statement caches, for the metrics. */
  readonly statementCache?: CacheStats
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
 * Opens `sqlite:PATH` (or a bare path) or `postgres://…`. SQLite runs in WAL mode with
 * `synchronous=FULL`: a commit that returned is on disk, and readers never block the writer.
 */
export function openStore(
  url: string,
  options: { readonly?: boolean; postgres?: PostgresOptions | undefined } = {},
): Store {
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, options.postgres ?? DEFAULT_POSTGRES_OPTIONS)
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url
  if (path === '' || path.includes('\0')) throw new ConfigError(`database URL "${url}" has no file path`)
  return openSqlite(path, options.readonly ?? false)
}

function openSqlite(path: string, readonly: boolean): Store {
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
  if (!readonly) {
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = FULL')
  }
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  const statementCache = new CacheStats()
  const writer = withStatementCache(sqlite, statementCache)
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: writer }) })
  // Opened on first use, once migrations have run. A `:memory:` database is private to its one
  // connection, and a read-only store has no batch to avoid: both read through Kysely.
  let reader: ReturnType<typeof withStatementCache> | null | undefined =
    file === ':memory:' || readonly ? null : undefined
  const openReader = () => {
    try {
      const connection = new SQLite(file, { fileMustExist: true })
      connection.pragma('query_only = ON')
      connection.pragma('busy_timeout = 5000')
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
    close: async () => {
      reader?.close()
      reader = null
      await db.destroy()
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
function withStatementCache(sqlite: SQLite.Database, stats: CacheStats) {
  const cache = new Map<string, SQLite.Statement>()
  return {
    close: () => sqlite.close(),
    prepare: (text: string) => {
      let statement = cache.get(text)
      if (statement) {
        stats.hits++
        cache.delete(text)
      } else {
        stats.misses++
        statement = sqlite.prepare(text)
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!)
      }
      cache.set(text, statement)
      return statement
    },
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

function openPostgres(url: string, options: PostgresOptions): Store {
  // Survives an outage: see ResilientPool (timeouts, 503 for what is unavailable, reconnection).
  const resilient = new ResilientPool(url, options, pgTypes)
  const { pool } = resilient
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: resilient }) })
  const redacted = new URL(url)
  if (redacted.password) redacted.password = '***'
  return {
    db,
    dialect: 'postgres',
    location: redacted.toString(),
    close: () => db.destroy(),
    poolStats: () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      max: options.poolSize,
    }),
  }
}
