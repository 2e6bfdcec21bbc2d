import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { startAuditKeyIndexer } from './audit/key-index.js'
import {
  type BootstrapResult,
  bootstrap,
  DEMO_SECRET_ENV,
  DEMO_SECRET_FILE,
  replacePrivateFile,
  writeDemoClientConfig,
} from './bootstrap.js'
import { completeDemo } from './bootstrap-demo.js'
import { type Config, DEFAULT_DATA_DIR } from './config/config.js'
import { Keyring } from './crypto/keyring.js'
import { loadRootKey, peekRootKeyFile, type RootKeySource, rootKeyId } from './crypto/root-key.js'
import { ConfigError } from './errors.js'
import { buildApp } from './http/app.js'
import { LogDestination } from './http/log-destination.js'
import { isLoopbackHost } from './http/loopback-host.js'
import { pathOf } from './http/request-log.js'
import { startMetricsListener } from './metrics/metrics-listener.js'
import { ServerMetrics } from './metrics/server-metrics.js'
import { SigningKeys } from './oauth/signing-keys.js'
import { SILENT_LOG } from './services/best-effort.js'
import { AssumedRoles } from './services/cloud-accounts/assumed-roles.js'
import { ProviderRuntime } from './services/providers/provider-runtime.js'
import type { Services } from './services.js'
import { ChangeFeed } from './store/changes.js'
import { Committer, type WriteLock } from './store/committer.js'
import { openStore, SERVING_BUSY_TIMEOUT_MS, type Store, shownDatabaseUrl } from './store/connect.js'
import { startHousekeeping } from './store/housekeeping.js'
import { migrate, withStartupLock } from './store/migrations.js'
import { DEFAULT_POSTGRES_OPTIONS } from './store/postgres-pool.js'
import type { StsClient } from './sts/assume-role.js'
import { createStsClient } from './sts/sts-clients.js'

export const VERSION = '0.1.0'

/** How long a graceful shutdown waits for requests in flight before closing their connections. */
const DRAIN_TIMEOUT_MS = 10_000

export interface RunningServer {
  readonly url: string
  readonly app: FastifyInstance
  readonly services: Services
  /** Where the log and the banner go; its `health()` counts the lines that could not be written. */
  readonly log: LogDestination
  /** The metrics listener's `…/metrics` URL, when `metricsListen` is configured. */
  readonly metricsUrl: string | null
  /** Stops accepting, drains requests in flight, flushes the group committer, closes the database. */
  close(): Promise<void>
}

export interface StartOptions {
  now?: () => number
  /** Where the human-readable start-up banner goes; default stdout, through the log's queue. */
  print?: (text: string) => void
  /** Where the log goes; default a `LogDestination` on stdout. */
  log?: LogDestination
  /** Set in a worker process of `serve --workers N` (cluster/worker.ts). */
  worker?: WorkerRole
}

/**
 * What a worker of `serve --workers N` does differently from a server alone: the primary has
 * bootstrapped, prints the banner, writes the data folder's files and serves the metrics
 * listener; only the leader (slot 0) runs housekeeping and the audit key indexer; and the
 * database has other writers, so the change sequence is read and SQLite writes take turns.
 */
export interface WorkerRole {
  readonly slot: number
  /** SQLite: the lock the workers' batches take turns through (cluster/write-lock.ts). */
  readonly writeLock: WriteLock | null
  /** Every worker's metrics, merged by the primary. */
  readonly gatherMetrics: () => Promise<string>
  /** See `Sharing.syncFailures`. */
  readonly syncFailures?: SyncFailures | undefined
}

/**
 * SQLite with other writers: a failed sync is final for every process writing the file, as for
 * one process (store/connect.ts, `failShared`).
 */
export interface SyncFailures {
  /** The code of a sync that already failed in another process, or null. */
  readonly before: string | null
  /** This process's sync failed with `code`: the others must hear of it. */
  report(code: string): void
}

/** How this node shares its database (`openServices`). */
export interface Sharing {
  /**
   * Other processes of this server write the database too (the workers of `serve --workers N`):
   * an SQLite node then reads the change sequence as PostgreSQL nodes always do.
   */
  readonly otherWriters?: boolean
  /** See `CommitterOptions.writeLock`. */
  readonly writeLock?: WriteLock | null
  readonly syncFailures?: SyncFailures | undefined
}

export interface OpenedServices {
  services: Services
  boot: BootstrapResult
}

/** Runs `fn` holding `lock`, if there is one. */
async function holding<T>(lock: WriteLock | null | undefined, fn: () => Promise<T>): Promise<T> {
  if (!lock) return fn()
  await lock.acquire()
  try {
    return await fn()
  } finally {
    lock.release()
  }
}

/** Makes the data folder (0700) if it is missing, and refuses one that others may write. */
export function prepareDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  refuseOpenDataDir(dataDir)
}

/**
 * A data folder anyone may write to (without the sticky bit), or that another user owns, is
 * refused: whoever can write there can put their own root key and database in place, and the
 * server would seal new secrets under a key they know.
 */
function refuseOpenDataDir(dataDir: string): void {
  const stat = statSync(dataDir)
  if (!stat.isDirectory()) throw new ConfigError(`data folder ${dataDir} is not a folder`)
  if ((stat.mode & 0o002) !== 0 && (stat.mode & 0o1000) === 0) {
    throw new ConfigError(
      `data folder ${dataDir} is writable by everyone (mode ${(stat.mode & 0o777).toString(8)}); run: chmod 700 ${dataDir}`,
    )
  }
  const uid = process.getuid?.()
  if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) {
    throw new ConfigError(
      `data folder ${dataDir} belongs to another user (uid ${stat.uid}): it must be this user's (uid ${uid}) or root's`,
    )
  }
}

/**
 * A data folder that once held a database and lost it is not a first start. An interrupted restore
 * leaves `strongroom.db.before-restore-…` (or its `.strongroom.db.tmp-…` copy) without
 * `strongroom.db`, and a database moved or deleted by hand leaves `admin-token`: a start there
 * would create an empty database and write a new admin token over the file of the real one's.
 */
function refuseMissingDatabase(dataDir: string, db: string): void {
  if (!db.startsWith('sqlite:')) return
  const file = resolve(db.slice('sqlite:'.length))
  if (existsSync(file)) return
  // Where the file lives: the data folder, or the folder of a `--db sqlite:PATH` elsewhere, where
  // an interrupted restore leaves its traces beside the file too (found by a review: the server
  // looked in the data folder only, and made an empty database beside the real one kept aside).
  const folder = dirname(file)
  const inDataDir = folder === resolve(dataDir)
  let names: string[]
  try {
    names = readdirSync(folder)
  } catch {
    return
  }
  const traces = names.filter(
    (name) =>
      (inDataDir && name === 'admin-token') ||
      name.startsWith(`${basename(file)}.before-restore-`) ||
      name.startsWith(`.${basename(file)}.tmp-`),
  )
  if (traces.length === 0) return
  throw new ConfigError(
    `${file} is missing, but ${folder} held a database (${traces.sort().join(', ')}): this is not a first start. Put the database back (strongroom restore --from FILE, or the file kept aside by an interrupted restore); to start afresh instead, move those files away`,
  )
}

/**
 * Opens storage, migrates, checks the root key and bootstraps on first start, then makes what the
 * bootstrap left owed (the demo's resources, through the services): everything but
 * the listener. Tests build their in-memory apps on exactly this path.
 */
export async function openServices(
  config: Pick<Config, 'db' | 'rootKey' | 'dataDir'> & {
    publicUrl?: string | null
    postgres?: Config['postgres'] | undefined
  },
  now: () => number = Date.now,
  outside: { sts?: StsClient } = {},
  sharing: Sharing = {},
): Promise<OpenedServices> {
  if (config.dataDir !== null) {
    prepareDataDir(config.dataDir)
    refuseMissingDatabase(config.dataDir, config.db)
  }
  const lock = sharing.writeLock
  const failures = sharing.syncFailures
  const store = openStore(config.db, {
    postgres: config.postgres,
    busyTimeoutMs: SERVING_BUSY_TIMEOUT_MS,
    ...(lock ? { writeGuard: () => lock.holds() } : {}),
    ...(failures ? { onSyncFailure: (code: string) => failures.report(code) } : {}),
  })
  let opened: Services | null = null
  try {
    // A worker of an SQLite server starts while the others may be writing (it was started again,
    // say): its start-up statements take the write lock as its batches will. The primary has
    // migrated and bootstrapped already, so they find nothing to do.
    const boot = await holding(lock, async () => {
      await migrateWithoutTimeout(store, config)
      const rootKey = await resolveRootKey(store, config.rootKey)
      return withStartupLock(store, async (trx) => {
        const keyring = await Keyring.open(trx, rootKey, now(), {
          now,
          // A new data key version is written in a unit of its own, through the committer made
          // below (the keyring makes none before the first seal, after start-up).
          writer: { dialect: store.dialect, run: (work) => committer.run((unit) => work(unit.trx)) },
        })
        return { keyring, ...(await bootstrap(trx, store.dialect, keyring, now, config.dataDir)) }
      })
    })
    // Another worker's sync failed before this one started: it serves, and refuses every write
    // (after its start-up transaction, which wrote nothing: the primary had bootstrapped).
    if (failures?.before) store.deferredSync?.failShared(failures.before)
    const metrics = new ServerMetrics()
    // Unless it has workers, one process writes an SQLite file: what changes there, this node did
    // (and already applied).
    const changes = new ChangeFeed(store, now, {
      solitary: store.dialect === 'sqlite' && sharing.otherWriters !== true,
    })
    await changes.start()
    const committer = new Committer(store, {
      now,
      observer: metrics.commits,
      onChanges: (recorded) => changes.committed(recorded),
      ...(sharing.writeLock ? { writeLock: sharing.writeLock } : {}),
    })
    const { keyring, ...result } = boot
    const signingKeys = new SigningKeys({ store, keyring, now, committer, changes })
    const services: Services = {
      store,
      committer,
      changes,
      keyring,
      now,
      defaultInstanceId: boot.defaultInstanceId,
      signingKeys,
      providers: new ProviderRuntime(keyring, now, { store, committer }),
      assumedRoles: new AssumedRoles(outside.sts ?? createStsClient({ now }), now),
      publicUrl: config.publicUrl ?? 'http://127.0.0.1',
      metrics,
      log: SILENT_LOG,
    }
    metrics.readFrom(services)
    opened = services
    await completeDemo(services)
    return { services, boot: result }
  } catch (err) {
    await (opened ? closeServices(opened) : store.close()).catch(() => {})
    throw err
  }
}

/**
 * Migrates. A migration may run longer than any request's statement should (an index on a big
 * table), and nodes starting together wait for the one migrating: on PostgreSQL migrations get a
 * small pool of their own, without the statement timeout.
 */
async function migrateWithoutTimeout(
  store: Store,
  config: { db: string; postgres?: Config['postgres'] | undefined },
): Promise<void> {
  if (store.dialect !== 'postgres') {
    await migrate(store)
    return
  }
  const options = config.postgres ?? DEFAULT_POSTGRES_OPTIONS
  const own = openStore(config.db, { postgres: { ...options, poolSize: 2, statementTimeoutMs: 0 } })
  try {
    await migrate(own)
  } finally {
    await own.close()
  }
}

/** Closes what `openServices` opened: the committer first (it flushes), then the database. */
export async function closeServices(services: Services): Promise<void> {
  await services.committer.close()
  await services.store.close()
  services.metrics.close()
}

/** Opens the services and listens. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  // stdout may be unwritable (a full disk, a file-size limit, /dev/full): the banner goes through
  // the log's queue, which never throws, rather than `process.stdout`, which would.
  const log = options.log ?? new LogDestination()
  const print = options.print ?? ((text: string) => log.write(text))
  const worker = options.worker
  const { services, boot } = await openServices(
    config,
    options.now,
    {},
    worker ? { otherWriters: true, writeLock: worker.writeLock, syncFailures: worker.syncFailures } : {},
  )
  if (worker) services.metrics.gatherWith(worker.gatherMetrics)
  try {
    let shuttingDown = false
    const app = buildApp(services, {
      logger: loggerOptions(config.logLevel, log),
      logHealth: () => log.health(),
      trustProxy: config.trustProxy,
      limits: config.limits,
      https: config.tls ? { cert: readTls(config.tls.certFile), key: readTls(config.tls.keyFile) } : null,
      version: VERSION,
      isShuttingDown: () => shuttingDown,
    })
    await app.listen({ host: config.listen.host, port: config.listen.port })
    // A worker's primary serves the metrics listener, with every worker's metrics.
    const metricsListener =
      config.metricsListen && !worker
        ? await startMetricsListener(() => services.metrics.exposeServer(), config.metricsListen).catch(
            async (err: unknown) => {
              await app.close()
              throw err
            },
          )
        : null
    const url = baseUrl(app, config)
    services.publicUrl = config.publicUrl ?? url
    let demoConfig: string | null = null
    if (config.dataDir !== null && !worker) {
      replacePrivateFile(`${config.dataDir}/url`, `${url}\n`)
      demoConfig = await writeDemoClientConfig(
        services.store.db,
        config.dataDir,
        boot.defaultInstanceId,
        services.publicUrl,
      )
    }
    if (!worker) print(banner(url, config, boot.adminToken, boot.adminTokenFile, demoConfig))
    app.log.info(
      {
        url,
        db: services.store.location,
        defaultInstanceId: boot.defaultInstanceId,
        ...(worker ? { worker: worker.slot } : {}),
      },
      'strongroom listening',
    )
    if (metricsListener) app.log.info({ url: metricsListener.url }, 'serving metrics')
    // Housekeeping and the key indexer once per server: in its leader worker when it has workers.
    const leads = !worker || worker.slot === 0
    const stopHousekeeping = leads
      ? startHousekeeping(services, app.log, undefined, config.auditRetention)
      : () => {}
    const stopAuditKeyIndexer = leads ? startAuditKeyIndexer(services, app.log) : async () => {}
    let closing: Promise<void> | null = null
    return {
      url,
      app,
      services,
      log,
      metricsUrl: metricsListener?.url ?? null,
      close: () => {
        closing ??= (async () => {
          shuttingDown = true
          stopHousekeeping()
          await stopAuditKeyIndexer()
          await metricsListener?.close()
          // A keep-alive connection that was busy when the drain began turns idle afterwards and
          // would hold the close open until its timeout: sweep idle sockets while draining, and
          // cut whatever is left at the deadline.
          const sweep = setInterval(() => app.server.closeIdleConnections(), 50)
          const deadline = setTimeout(() => app.server.closeAllConnections(), DRAIN_TIMEOUT_MS)
          try {
            await app.close()
          } finally {
            clearInterval(sweep)
            clearTimeout(deadline)
          }
          await closeServices(services)
        })()
        return closing
      },
    }
  } catch (err) {
    await closeServices(services).catch(() => {})
    throw err
  }
}

/**
 * `strongroom serve` of one process: starts, then runs until SIGTERM, SIGINT or SIGHUP and shuts down
 * gracefully (serve.ts chooses between this and a primary with workers).
 */
export async function serveAlone(config: Config): Promise<void> {
  await untilStopped(await startServer(config))
}

/**
 * The signals that drain and stop a server. SIGHUP (a closed terminal; a `kill -HUP` meant as a
 * reload, which there is none of) would otherwise end the process on the spot, requests in flight.
 */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const

/**
 * Runs `server` until SIGTERM, SIGINT or SIGHUP, or until `onStopRequest` hands over a reason (a worker's
 * primary asks it to stop), then shuts it down gracefully. A second signal during the drain exits
 * at once.
 */
export function untilStopped(
  server: RunningServer,
  onStopRequest?: (stop: (reason: string) => void) => void,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false
    const stop = (reason: string, signal?: NodeJS.Signals) => {
      for (const name of STOP_SIGNALS) process.off(name, onSignal)
      if (signal) process.once(signal, () => process.exit(130))
      if (stopping) return
      stopping = true
      server.app.log.info({ reason }, 'shutting down: draining requests and the audit queue')
      server.close().then(
        () => resolve(),
        (err: unknown) => {
          server.app.log.error({ err }, 'shutdown did not finish cleanly')
          process.exitCode = 1
          resolve()
        },
      )
    }
    const onSignal = (signal: NodeJS.Signals) => stop(signal, signal)
    for (const name of STOP_SIGNALS) process.on(name, onSignal)
    onStopRequest?.((reason) => stop(reason))
  })
}

/**
 * The root key is created only for a new embedded database. An interrupted rotation (new key
 * committed, file not yet renamed) is finished here: `root.key.new` is the key that matches. A
 * `root.key.new` that is not this database's key (a rotation that did not commit, a stray copy)
 * is left alone with a warning on stderr; only the matching one is adopted, and then it must be
 * private like any key file.
 */
async function resolveRootKey(
  store: Store,
  source: RootKeySource,
  warn: (text: string) => void = (text) => process.stderr.write(`strongroom: warning: ${text}\n`),
): Promise<Buffer> {
  const stored = await store.db
    .selectFrom('meta')
    .select('value')
    .where('key', '=', 'root_key_id')
    .executeTakeFirst()
  if (source.kind === 'file') {
    const pending = `${source.path}.new`
    if (stored && existsSync(pending)) {
      const candidate = peekRootKeyFile(pending)
      if ('key' in candidate && rootKeyId(candidate.key) === stored.value) {
        // The key this database uses: held to the same rule as root.key (mode 0600) before use.
        const key = loadRootKey({ kind: 'file', path: pending, create: false })
        renameSync(pending, source.path)
        return key
      }
      warn(
        `${pending} was ignored: ${'key' in candidate ? 'it is not the root key this database uses' : candidate.problem} (a rotation that never committed, or a stray file); the server uses ${source.path}`,
      )
    }
    if (stored && !existsSync(source.path)) {
      throw new ConfigError(
        `root key file ${source.path} is missing, and this database was created with a root key`,
      )
    }
    return loadRootKey({ ...source, create: source.create && !stored })
  }
  return loadRootKey(source)
}

function loggerOptions(level: Config['logLevel'], stream: LogDestination): FastifyServerOptions['logger'] {
  return {
    level,
    stream,
    // Nothing secret is logged on purpose; these paths are the belt to those braces.
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-api-key"]',
        'req.query',
        'req.body',
      ],
      censor: '[REDACTED]',
    },
    serializers: {
      // The path without its query string, fragment or user-info: any may carry credentials.
      req: (req: { method: string; url: string; ip: string }) => ({
        method: req.method,
        path: pathOf(req.url),
        remoteAddress: req.ip,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      // Driver errors can carry row values in `detail`: keep name, code, message and stack only.
      err: (err: Error & { code?: unknown }) => ({
        type: err.name,
        code: err.code,
        message: err.message,
        stack: err.stack ?? '',
      }),
    },
  }
}

function baseUrl(app: FastifyInstance, config: Config): string {
  const address = app.server.address()
  return listeningUrl(
    config,
    typeof address === 'object' && address !== null ? address.port : config.listen.port,
  )
}

/** The URL of the listener `config` describes, on `port` (the one bound, when the setting was 0). */
export function listeningUrl(config: Pick<Config, 'listen' | 'tls'>, port: number): string {
  let host = config.listen.host
  // Reachable here through loopback; the banner says it listens on every interface too.
  if (host === '0.0.0.0' || host === '0') host = '127.0.0.1'
  if (host === '::') host = '::1'
  if (host.includes(':')) host = `[${host}]`
  return `${config.tls ? 'https' : 'http'}://${host}:${port}`
}

function readTls(path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    throw new ConfigError(`cannot read TLS file ${path}: ${(err as Error).message}`, { cause: err })
  }
}

/** A path as the user would type it: relative below the working directory, absolute elsewhere. */
function shown(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path)
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel
}

/** `text` as one shell word: as it is when nothing in it is special to a shell, else single-quoted. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`
}

/** The demo application's id, from the client configuration just written (its `clientId`). */
function demoApplicationId(demoConfig: string): string {
  try {
    const id = (JSON.parse(readFileSync(demoConfig, 'utf8')) as { clientId?: unknown }).clientId
    return typeof id === 'string' ? id : 'APP'
  } catch {
    return 'APP'
  }
}

/**
 * What `serve` prints once it listens: where, how to sign in, what to try. It names only the
 * files of the data folder that exist (a database restored into a fresh folder comes without
 * `admin-token` and `client-secret`), and says how the CLI finds the server and a token: by
 * itself only from `./.strongroom/` of the working folder, otherwise through `STRONGROOM_URL` and
 * `STRONGROOM_ADMIN_TOKEN` (packages/cli/src/config.ts).
 */
export function banner(
  url: string,
  config: Config,
  token: string | null,
  tokenFile: string | null,
  demoConfig: string | null,
  cwd: string = process.cwd(),
): string {
  const dataDir = config.dataDir === null ? null : resolve(cwd, config.dataDir)
  const savedToken =
    tokenFile !== null && existsSync(resolve(cwd, tokenFile))
      ? resolve(cwd, tokenFile)
      : dataDir !== null && existsSync(join(dataDir, 'admin-token'))
        ? join(dataDir, 'admin-token')
        : null
  // The CLI reads `./.strongroom/url` only together with `./.strongroom/admin-token`.
  const cliReadsFolder = savedToken !== null && dataDir === resolve(cwd, DEFAULT_DATA_DIR)
  const lines = [
    `strongroom ${VERSION} is running at ${url}`,
    `  database: ${shownDatabaseUrl(config.db)}`,
    `  console:  ${url}/console/ (sign in with the admin token)`,
  ]
  if (['0.0.0.0', '0', '::'].includes(config.listen.host)) {
    lines.push(`  listening on every network interface (${config.listen.host}), not only this machine's`)
  }
  if (!config.tls && !isLoopbackHost(config.listen.host)) {
    lines.push(
      '  warning: no TLS on a listener other machines can reach: the console sign-in (an admin token)',
      '           and its session cookie travel unencrypted; use --tls-cert and --tls-key, or a TLS proxy',
    )
  }
  if (config.workers > 1)
    lines.push(`  workers:  ${config.workers} processes share this address and the database`)
  const exports = (tokenValue: string) => [
    `    export STRONGROOM_URL=${shellWord(url)}`,
    `    export STRONGROOM_ADMIN_TOKEN=${tokenValue}`,
  ]
  const cliFromFile = (file: string) =>
    cliReadsFolder
      ? [`  The CLI run in ${cwd} reads it, and the server's URL, from ${shown(dataDir!, cwd)}/ by itself.`]
      : [
          `  The CLI reads only ./${DEFAULT_DATA_DIR}/ by itself; to use this server and token, export:`,
          ...exports(`$(cat ${shellWord(file)})`),
        ]
  if (token !== null && savedToken !== null) {
    // Not the token itself: a banner ends up in captured logs. The CLI reads the file on its own.
    lines.push(
      '',
      '  First start: created the default instance and an admin token.',
      `  Admin token: saved to ${shown(savedToken, cwd)} (mode 0600).`,
      ...cliFromFile(savedToken),
    )
  } else if (token !== null) {
    // No data folder to keep it in: this is the only time it can be had.
    lines.push(
      '',
      '  First start: created the default instance and an admin token (shown this once, not saved):',
      `    ${token}`,
      '  For the CLI, export:',
      ...exports('<the token above>'),
    )
  } else if (savedToken !== null) {
    lines.push(`  admin token: ${shown(savedToken, cwd)}`, ...cliFromFile(savedToken))
  } else {
    // A database restored into a fresh folder, or one without a data folder: its tokens work,
    // but none of them is in a file here.
    lines.push(
      dataDir === null
        ? '  admin token: none kept in a file (no data folder). For the CLI, export:'
        : `  admin token: no admin-token file in ${shown(dataDir, cwd)} (the database's tokens still work). For the CLI, export:`,
      ...exports('<an admin token you hold>'),
    )
  }
  if (demoConfig !== null && dataDir !== null) {
    const secretFile = join(dataDir, DEMO_SECRET_FILE)
    lines.push(
      '',
      '  The demo workload for the SDKs: application "demo", allowed the PAM scopes and granted the',
      '  credential demo/api-key, the JWT provider demo-jwt and the account demo-db/admin:',
      `    export CLOUD_IDAAS_CONFIG_PATH=${shellWord(resolve(cwd, demoConfig))}`,
      ...(existsSync(secretFile)
        ? [`    export ${DEMO_SECRET_ENV}=$(cat ${shellWord(shown(secretFile, cwd))})`]
        : [
            `    # no ${shown(secretFile, cwd)} here (a restore does not bring it back): a new client secret`,
            `    export ${DEMO_SECRET_ENV}=$(npx strongroom app secret create ${demoApplicationId(resolve(cwd, demoConfig))})`,
          ]),
      '    npx strongroom get api-key demo/api-key',
      '    npx strongroom get password demo-db/admin --reason "trying strongroom"',
    )
  }
  lines.push(
    '',
    '  Try:',
    '    npx strongroom instance list',
    '    npx strongroom app create --name my-workload',
    "    printf 's3cr3t' | npx strongroom credential create --identifier my/api-key --type api_key",
    '    npx strongroom audit verify',
    `    curl ${url}/openapi.json`,
    '',
    '  Cloud credentials (your cloud key stays here; workloads get short-lived STS credentials):',
    '    npx strongroom cloud-account create --name prod-aws --vendor aws --account-id 123456789012 \\',
    '      --access-key-id AKIA… --access-key-secret-file aws-secret.txt',
    '    npx strongroom cloud-account role add prod-aws --arn arn:aws:iam::123456789012:role/deployer',
    '    npx strongroom grant create --app app_… --type cloud_account_role --resource arn:aws:iam::… --actions obtain',
    '    npx strongroom get cloud-credentials arn:aws:iam::123456789012:role/deployer --format env',
    '',
  )
  return `${lines.join('\n')}\n`
}
