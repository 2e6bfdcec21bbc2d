import { closeSync, constants, fstatSync, openSync, readFileSync, statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { createSecureContext } from 'node:tls'
import type { RootKeySource } from '../crypto/root-key.js'
import { ConfigError } from '../errors.js'
import { findDuplicateKey } from '../http/duplicate-keys.js'
import { DEFAULT_POSTGRES_OPTIONS, type PostgresOptions } from '../store/postgres-pool.js'

/** Flags of `strongroom serve`; each also comes from the environment or a JSON config file. */
export interface ServeFlags {
  db?: string
  listen?: string
  rootKeyFile?: string
  tlsCert?: string
  tlsKey?: string
  dataDir?: string
  config?: string
  logLevel?: string
  publicUrl?: string
  requestTimeoutMs?: string
  headersTimeoutMs?: string
  keepAliveTimeoutMs?: string
  maxConnections?: string
  maxConnectionsPerAddress?: string
  metricsListen?: string
  dbPoolSize?: string
  dbStatementTimeoutMs?: string
  dbConnectTimeoutMs?: string
  auditRetentionDays?: string
  auditArchiveDir?: string
  workers?: string
  workerStartTimeoutMs?: string
  workerWatchdogMs?: string
}

/** Bounds on what one client can hold of the server (connections, time to send a request). */
export interface ConnectionLimits {
  /** Time to receive a whole request, body included, from its first byte; then 408 and close. */
  requestTimeoutMs: number
  /** Time to receive a request's headers (no more than `requestTimeoutMs`). */
  headersTimeoutMs: number
  /** How long an idle keep-alive connection is kept open. */
  keepAliveTimeoutMs: number
  /** Open connections at most; past it new connections are closed at once. */
  maxConnections: number
  /**
   * Open connections one address (an IPv6 address's /64) may hold at most, so that one client
   * cannot take every slot; not applied behind a proxy (`trustProxy`), where every connection is
   * the proxy's.
   */
  maxConnectionsPerAddress: number
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 10_000,
  maxConnections: 4_096,
  maxConnectionsPerAddress: 1_024,
}

export interface Config {
  db: string
  listen: { host: string; port: number }
  /** Where the embedded default keeps its files (database, root key, admin token, url); null when none. */
  dataDir: string | null
  rootKey: RootKeySource
  tls: { certFile: string; keyFile: string } | null
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  trustProxy: boolean
  /** The external base URL issuers are built on; null: the listening address. */
  publicUrl: string | null
  limits: ConnectionLimits
  /** A second listener serving `GET /metrics` without a token; null (the default) for none. */
  metricsListen: { host: string; port: number } | null
  /** PostgreSQL: pool size, statement and connect timeouts (unused with SQLite). */
  postgres: PostgresOptions
  /**
   * Audit events older than `days` go to archive files in `archiveDir` and leave the database
   * (audit/archive.ts), day by day; null (the default) keeps every event in the database.
   */
  auditRetention: AuditRetention | null
  /**
   * Server processes sharing the listener and the database (server/cluster/): 1 (the default)
   * serves from this process alone.
   */
  workers: number
  /**
   * With workers: how long one has, from its fork, to listen; a worker that has not is killed and
   * counted as one that failed to start.
   */
  workerStartTimeoutMs: number
  /**
   * With workers: a serving worker that has not answered the primary's ping for this long (its
   * event loop blocked, or the process stopped), or that has held the SQLite write lock this long,
   * is killed and started again.
   */
  workerWatchdogMs: number
}

export interface AuditRetention {
  days: number
  archiveDir: string
}

export const DEFAULT_DATA_DIR = '.strongroom'
export const DEFAULT_LISTEN = '127.0.0.1:8080'
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const ENV: Record<keyof ServeFlags, string> = {
  db: 'STRONGROOM_DB',
  listen: 'STRONGROOM_LISTEN',
  rootKeyFile: 'STRONGROOM_ROOT_KEY_FILE',
  tlsCert: 'STRONGROOM_TLS_CERT',
  tlsKey: 'STRONGROOM_TLS_KEY',
  dataDir: 'STRONGROOM_DATA_DIR',
  config: 'STRONGROOM_CONFIG',
  logLevel: 'STRONGROOM_LOG_LEVEL',
  publicUrl: 'STRONGROOM_PUBLIC_URL',
  requestTimeoutMs: 'STRONGROOM_REQUEST_TIMEOUT_MS',
  headersTimeoutMs: 'STRONGROOM_HEADERS_TIMEOUT_MS',
  keepAliveTimeoutMs: 'STRONGROOM_KEEP_ALIVE_TIMEOUT_MS',
  maxConnections: 'STRONGROOM_MAX_CONNECTIONS',
  maxConnectionsPerAddress: 'STRONGROOM_MAX_CONNECTIONS_PER_ADDRESS',
  metricsListen: 'STRONGROOM_METRICS_LISTEN',
  dbPoolSize: 'STRONGROOM_DB_POOL_SIZE',
  dbStatementTimeoutMs: 'STRONGROOM_DB_STATEMENT_TIMEOUT_MS',
  dbConnectTimeoutMs: 'STRONGROOM_DB_CONNECT_TIMEOUT_MS',
  auditRetentionDays: 'STRONGROOM_AUDIT_RETENTION_DAYS',
  auditArchiveDir: 'STRONGROOM_AUDIT_ARCHIVE_DIR',
  workers: 'STRONGROOM_WORKERS',
  workerStartTimeoutMs: 'STRONGROOM_WORKER_START_TIMEOUT_MS',
  workerWatchdogMs: 'STRONGROOM_WORKER_WATCHDOG_MS',
}

/**
 * Resolves the configuration: flags, then environment variables, then the config file, then
 * defaults. Every mistake is a `ConfigError` naming the setting and where it came from.
 */
export function loadConfig(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Config {
  const configPath = flags.config ?? env[ENV.config]
  const file = configPath ? readConfigFile(resolve(cwd, configPath)) : {}
  const pick = (key: keyof ServeFlags): { value: string; from: string } | undefined => {
    if (flags[key] !== undefined) {
      // `--data-dir "$UNSET"` is a mistake, not the working folder.
      if (flags[key]!.trim() === '')
        throw new ConfigError(`--${kebab(key)} is empty: give a value, or leave it out`)
      return { value: flags[key]!, from: `--${kebab(key)}` }
    }
    const fromEnv = env[ENV[key]]
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, from: ENV[key] }
    const fromFile = file[key]
    if (fromFile === undefined) return undefined
    const from = `${configPath} (${key})`
    if (typeof fromFile === 'number' || (typeof fromFile === 'string' && fromFile.trim() !== '')) {
      return { value: String(fromFile), from }
    }
    throw new ConfigError(
      `${from} must be a non-empty string${typeof fromFile === 'number' ? '' : ' or a number'}`,
    )
  }

  const db = pick('db')
  const explicitDataDir = pick('dataDir')
  // The embedded default: everything under ./.strongroom unless a database URL says otherwise.
  const dataDir = explicitDataDir
    ? resolve(cwd, explicitDataDir.value)
    : db === undefined
      ? resolve(cwd, DEFAULT_DATA_DIR)
      : null
  const dbUrl = db ? normaliseDb(db.value, db.from, cwd) : `sqlite:${join(dataDir!, 'strongroom.db')}`

  const listenSetting = pick('listen') ?? { value: DEFAULT_LISTEN, from: 'default' }
  const listen = parseListen(listenSetting.value, listenSetting.from)

  const envKey = env.STRONGROOM_ROOT_KEY
  const keyFile = pick('rootKeyFile')
  let rootKey: RootKeySource
  if (keyFile) {
    rootKey = { kind: 'file', path: resolve(cwd, keyFile.value), create: false }
  } else if (envKey !== undefined && envKey !== '') {
    rootKey = { kind: 'env', base64: envKey }
  } else if (dataDir !== null) {
    rootKey = { kind: 'file', path: join(dataDir, 'root.key'), create: true }
  } else {
    throw new ConfigError(
      'no root key: set STRONGROOM_ROOT_KEY (32 bytes, base64) or --root-key-file / STRONGROOM_ROOT_KEY_FILE (create one with: openssl rand -base64 32 > root.key && chmod 600 root.key)',
    )
  }

  const cert = pick('tlsCert')
  const key = pick('tlsKey')
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError('--tls-cert and --tls-key go together: give both for HTTPS, or neither')
  }

  const level = pick('logLevel') ?? { value: 'info', from: 'default' }
  if (!(LOG_LEVELS as readonly string[]).includes(level.value)) {
    throw new ConfigError(
      `log level "${level.value}" from ${level.from} must be one of ${LOG_LEVELS.join(', ')}`,
    )
  }
  const trustProxy = trustProxyOf(env.STRONGROOM_TRUST_PROXY, file.trustProxy, configPath)
  const publicUrlSetting = pick('publicUrl')
  const publicUrl = publicUrlSetting ? baseUrl(publicUrlSetting.value, publicUrlSetting.from) : null
  const wholeNumber = (key: keyof ServeFlags, fallback: number, min: number, max: number): number => {
    const setting = pick(key)
    if (setting === undefined) return fallback
    const value = /^[0-9]+$/.test(setting.value) ? Number(setting.value) : Number.NaN
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(
        `${kebab(key)} "${setting.value}" from ${setting.from} must be a whole number from ${min} to ${max}`,
      )
    }
    return value
  }
  const limit = (key: keyof ConnectionLimits & keyof ServeFlags, min: number, max: number): number =>
    wholeNumber(key, DEFAULT_CONNECTION_LIMITS[key], min, max)
  const limits: ConnectionLimits = {
    requestTimeoutMs: limit('requestTimeoutMs', 1_000, 3_600_000),
    headersTimeoutMs: limit('headersTimeoutMs', 1_000, 3_600_000),
    keepAliveTimeoutMs: limit('keepAliveTimeoutMs', 1_000, 3_600_000),
    maxConnections: limit('maxConnections', 16, 1_000_000),
    maxConnectionsPerAddress: limit('maxConnectionsPerAddress', 1, 1_000_000),
  }
  const postgres: PostgresOptions = {
    poolSize: wholeNumber('dbPoolSize', DEFAULT_POSTGRES_OPTIONS.poolSize, 1, 1_000),
    statementTimeoutMs: wholeNumber(
      'dbStatementTimeoutMs',
      DEFAULT_POSTGRES_OPTIONS.statementTimeoutMs,
      100,
      3_600_000,
    ),
    connectTimeoutMs: wholeNumber(
      'dbConnectTimeoutMs',
      DEFAULT_POSTGRES_OPTIONS.connectTimeoutMs,
      100,
      600_000,
    ),
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigError(
      `headers-timeout-ms (${limits.headersTimeoutMs}) must not exceed request-timeout-ms (${limits.requestTimeoutMs})`,
    )
  }
  const metricsListen = pick('metricsListen')
  const auditRetention = retention(
    wholeNumber('auditRetentionDays', 0, 1, 36_500),
    pick('auditArchiveDir'),
    dataDir,
    dbUrl,
    cwd,
  )
  const workers = workerCount(pick('workers'), dbUrl)
  const workerStartTimeoutMs = wholeNumber('workerStartTimeoutMs', WORKER_START_TIMEOUT_MS, 1_000, 3_600_000)
  const workerWatchdogMs = wholeNumber('workerWatchdogMs', WORKER_WATCHDOG_MS, 1_000, 3_600_000)
  return {
    db: dbUrl,
    listen,
    dataDir,
    rootKey,
    tls:
      cert && key ? checkedTls(resolve(cwd, cert.value), cert.from, resolve(cwd, key.value), key.from) : null,
    logLevel: level.value as Config['logLevel'],
    trustProxy,
    publicUrl,
    limits,
    metricsListen: metricsListen ? parseListen(metricsListen.value, metricsListen.from) : null,
    postgres,
    auditRetention,
    workers,
    workerStartTimeoutMs,
    workerWatchdogMs,
  }
}

/**
 * How long a worker has to listen by default. A start takes about a second here; on PostgreSQL it
 * may wait out a connect timeout (5 s by default) or two, or the SQLite write lock (30 s at most).
 */
export const WORKER_START_TIMEOUT_MS = 60_000

/**
 * How long a serving worker may go without answering the primary, or hold the SQLite write lock,
 * before it is killed and started again. Below the 30 s a batch waits for the lock
 * (cluster/write-lock.ts), so the other workers' writes get it before they are refused.
 */
export const WORKER_WATCHDOG_MS = 20_000

/** Most worker processes one server runs: far past any core count that serves one database well. */
export const MAX_WORKERS = 64

/**
 * `workers`: a whole number from 1 to MAX_WORKERS, or `auto` for one per core the process may use
 * (at most MAX_WORKERS). Several processes must share the database, so an in-memory SQLite
 * database (private to its one connection) is refused.
 */
function workerCount(setting: { value: string; from: string } | undefined, dbUrl: string): number {
  if (setting === undefined) return 1
  const value =
    setting.value === 'auto'
      ? Math.min(availableParallelism(), MAX_WORKERS)
      : /^[0-9]+$/.test(setting.value)
        ? Number(setting.value)
        : Number.NaN
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_WORKERS) {
    throw new ConfigError(
      `workers "${setting.value}" from ${setting.from} must be a whole number from 1 to ${MAX_WORKERS}, or auto (one per core)`,
    )
  }
  if (value > 1 && dbUrl === 'sqlite::memory:') {
    throw new ConfigError(
      `workers ${value} from ${setting.from} needs a database the processes can share: an in-memory SQLite database belongs to one process`,
    )
  }
  return value
}

/**
 * Retention is off unless a number of days is given. Archives go to `--audit-archive-dir`, or
 * `audit-archive` in the data folder, or beside an SQLite database; PostgreSQL without a data
 * folder must say where.
 */
function retention(
  days: number,
  dir: { value: string; from: string } | undefined,
  dataDir: string | null,
  dbUrl: string,
  cwd: string,
): AuditRetention | null {
  if (days === 0) {
    if (dir !== undefined) {
      throw new ConfigError(
        `audit-archive-dir from ${dir.from} is used only with audit-retention-days: give both, or neither`,
      )
    }
    return null
  }
  if (dir !== undefined) return { days, archiveDir: resolve(cwd, dir.value) }
  if (dataDir !== null) return { days, archiveDir: join(dataDir, 'audit-archive') }
  if (dbUrl.startsWith('sqlite:') && dbUrl !== 'sqlite::memory:') {
    return { days, archiveDir: join(dirname(dbUrl.slice('sqlite:'.length)), 'audit-archive') }
  }
  throw new ConfigError(
    'audit-retention-days needs audit-archive-dir (--audit-archive-dir or STRONGROOM_AUDIT_ARCHIVE_DIR) when there is no data folder: where should the archives go?',
  )
}

/**
 * The public URL as every issuer, token endpoint and DPoP `htu` will carry it: scheme and host in
 * lower case, no trailing `/`. Refused: anything but http(s), user-info (the metadata would
 * publish it to anyone), a `?` or `#` even with nothing after it (`https://pam.example/?` made
 * every issuer `…/?/v2/…`), and surrounding whitespace.
 */
function baseUrl(value: string, from: string): string {
  const rule = 'must be an http(s) URL without user-info, query or fragment, e.g. https://pam.example.com'
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`public URL from ${from} ${rule}`)
  }
  if (
    value !== value.trim() ||
    !/^https?:$/.test(url.protocol) ||
    url.username !== '' ||
    url.password !== '' ||
    value.includes('?') ||
    value.includes('#')
  ) {
    throw new ConfigError(`public URL from ${from} ${rule}`)
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '')
}

/**
 * The TLS files, read and tried together before anything else starts: a key that does not match
 * its certificate, or a file that is not PEM, was found only after migrations and the first
 * start's bootstrap, as OpenSSL's words without the setting's name. A key that anyone on the
 * machine may read is refused, as the root key is (its group may read it: `ssl-cert`).
 */
function checkedTls(certFile: string, certFrom: string, keyFile: string, keyFrom: string) {
  const read = (file: string, from: string) => {
    try {
      if (!statSync(file).isFile()) throw new Error('not a regular file')
      return readFileSync(file)
    } catch (err) {
      throw new ConfigError(`cannot read the TLS file ${file} from ${from}: ${(err as Error).message}`, {
        cause: err,
      })
    }
  }
  const cert = read(certFile, certFrom)
  const key = read(keyFile, keyFrom)
  if ((statSync(keyFile).mode & 0o004) !== 0) {
    throw new ConfigError(
      `the TLS key ${keyFile} from ${keyFrom} is readable by everyone on this machine; run: chmod o-r ${keyFile}`,
    )
  }
  try {
    createSecureContext({ cert, key })
  } catch (err) {
    const reason =
      (err as { code?: unknown }).code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH'
        ? "the key is not the certificate's"
        : 'they are not a PEM certificate and its PEM private key'
    throw new ConfigError(
      `the TLS files ${certFile} (${certFrom}) and ${keyFile} (${keyFrom}) do not go together: ${reason}`,
      {
        cause: err,
      },
    )
  }
  return { certFile, keyFile }
}

/** `trustProxy`: true or false (also `1`/`0` in the environment); anything else is a mistake, not false. */
function trustProxyOf(
  fromEnv: string | undefined,
  fromFile: unknown,
  configPath: string | undefined,
): boolean {
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv === 'true' || fromEnv === '1') return true
    if (fromEnv === 'false' || fromEnv === '0') return false
    throw new ConfigError('STRONGROOM_TRUST_PROXY must be true or false (or 1 or 0)')
  }
  if (fromFile === undefined) return false
  if (typeof fromFile !== 'boolean') throw new ConfigError(`${configPath} (trustProxy) must be true or false`)
  return fromFile
}

function readConfigFile(path: string): Partial<Record<keyof ServeFlags | 'trustProxy', unknown>> {
  let parsed: unknown
  let text: string
  try {
    text = readPrivateText(path)
    parsed = JSON.parse(text)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`, { cause: err })
  }
  // JSON.parse keeps the last of a repeated key, where a reader sees the first.
  const repeated = findDuplicateKey(text)
  if (repeated !== null) throw new ConfigError(`config file ${path}: "${repeated}" is given twice`)
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`)
  }
  const allowed = new Set([...Object.keys(ENV).filter((k) => k !== 'config'), 'trustProxy'])
  for (const key of Object.keys(parsed)) {
    if (!allowed.has(key))
      throw new ConfigError(
        `config file ${path}: unknown setting "${key}" (known: ${[...allowed].join(', ')})`,
      )
  }
  return parsed as Partial<Record<keyof ServeFlags | 'trustProxy', unknown>>
}

/**
 * A config file's text. It can name the root key file, the database and the listening address:
 * one that others may write is refused (as the root key is), and it is opened without waiting and
 * read only if it is a regular file (a FIFO hung start-up).
 */
function readPrivateText(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) throw new ConfigError(`config file ${path} is not a regular file`)
    if ((stat.mode & 0o022) !== 0) {
      throw new ConfigError(
        `config file ${path} is writable by others (mode ${(stat.mode & 0o777).toString(8)}); run: chmod go-w ${path}`,
      )
    }
    return readFileSync(fd, 'utf8')
  } finally {
    closeSync(fd)
  }
}

function normaliseDb(value: string, from: string, cwd: string): string {
  if (/^postgres(ql)?:\/\//i.test(value)) {
    try {
      new URL(value)
    } catch {
      throw new ConfigError(`database URL from ${from} is not a valid URL`)
    }
    return value
  }
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length)
    if (path === '') throw new ConfigError(`database URL from ${from} has no file path (sqlite:PATH)`)
    return path === ':memory:' ? value : `sqlite:${isAbsolute(path) ? path : resolve(cwd, path)}`
  }
  // Not echoed: it may be a PostgreSQL URL with its password, mistyped.
  throw new ConfigError(`database URL from ${from} must be sqlite:PATH or postgres://…`)
}

export function parseListen(value: string, from = 'listen'): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value.trim())
  const port = match ? Number(match[3]) : Number.NaN
  if (!match || port > 65535)
    throw new ConfigError(`listen address "${value}" from ${from} must be HOST:PORT, e.g. ${DEFAULT_LISTEN}`)
  return { host: match[1] ?? match[2]!, port }
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}
