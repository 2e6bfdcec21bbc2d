// A throwaway PostgreSQL server for the storage tests: `initdb` into a temporary folder, `pg_ctl start`
// on a free port, `pg_ctl stop -m immediate` and delete the folder at the end. Nothing here touches a
// system cluster. When the caller is root the server runs as `postgres`, which PostgreSQL requires.
import { execFile, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { accessSync, constants, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import pg from 'pg'

export interface PostgresBinaries {
  /** The folder holding `initdb`, `pg_ctl` and `postgres`. */
  readonly binDir: string
  readonly initdb: string
  readonly pgCtl: string
}

export interface PostgresServer {
  readonly port: number
  /** `postgres://postgres@127.0.0.1:PORT/postgres`: the maintenance database, for `createTestDatabase`. */
  readonly url: string
  /** The temporary folder holding the cluster (`data/`), the socket folder (`sock/`) and the log. */
  readonly baseDir: string
  /** Stops the server (`-m immediate`: its data is thrown away) and removes its folder. Idempotent. */
  stop(): Promise<void>
  /**
   * Shuts the server down as an operator would (`pg_ctl stop -m fast`: sessions are terminated,
   * what was committed is kept) and leaves it down until `resume()`. For outage tests.
   */
  halt(): Promise<void>
  /** Starts a halted server again, on the same port and folder. */
  resume(): Promise<void>
}

export class PostgresNotInstalled extends Error {
  readonly code = 'POSTGRES_NOT_INSTALLED'
  constructor() {
    super(
      'PostgreSQL is not installed: the storage tests need a real server (initdb and pg_ctl were found ' +
        'neither on PATH nor under /usr/lib/postgresql/*/bin). Install it with ' +
        '`apt-get install postgresql` (or run .ci/run, which does), then run the tests again.',
    )
    this.name = 'PostgresNotInstalled'
  }
}

const SERVER_USER = 'postgres'
const COMMAND_TIMEOUT_MS = 60_000

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function binariesIn(binDir: string): PostgresBinaries | undefined {
  const initdb = join(binDir, 'initdb')
  const pgCtl = join(binDir, 'pg_ctl')
  return isExecutable(initdb) && isExecutable(pgCtl) ? { binDir, initdb, pgCtl } : undefined
}

/**
 * Finds `initdb` and `pg_ctl`: first on `PATH`, then in Debian's versioned folders
 * (`/usr/lib/postgresql/<version>/bin`, highest version first), which are not on `PATH`.
 */
export function findPostgresBinaries(): PostgresBinaries | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const found = dir === '' ? undefined : binariesIn(dir)
    if (found) return found
  }
  let versions: string[] = []
  try {
    versions = readdirSync('/usr/lib/postgresql')
  } catch {
    return undefined
  }
  versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a) || b.localeCompare(a))
  for (const version of versions) {
    const found = binariesIn(join('/usr/lib/postgresql', version, 'bin'))
    if (found) return found
  }
  return undefined
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}

function runningAsRoot(): boolean {
  return process.getuid?.() === 0
}

interface CommandResult {
  readonly stdout: string
  readonly stderr: string
}

/** Runs a PostgreSQL program, through `su postgres` when we are root. */
function runAsServerUser(program: string, args: readonly string[]): Promise<CommandResult> {
  const [file, argv] = runningAsRoot()
    ? ['su', [SERVER_USER, '-s', '/bin/sh', '-c', [program, ...args].map(shellQuote).join(' ')]]
    : [program, [...args]]
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: COMMAND_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const output = `${stdout}${stderr}`.trim()
        reject(
          new Error(`${[program, ...args].join(' ')} failed: ${error.message}\n${output}`, { cause: error }),
        )
      } else {
        resolve({ stdout, stderr })
      }
    })
  })
}

/** Gives a folder to the server user, as PostgreSQL insists on owning its data folder (mode 700). */
async function handToServerUser(dir: string): Promise<void> {
  await chmod(dir, 0o700)
  if (!runningAsRoot()) return
  const result = spawnSync('chown', ['-R', `${SERVER_USER}:`, dir], { encoding: 'utf8' })
  if (result.status !== 0) {
    throw new Error(`chown ${SERVER_USER} ${dir} failed: ${result.error?.message ?? result.stderr.trim()}`)
  }
}

/** A TCP port that was free a moment ago (bind to port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))))
    })
  })
}

async function logTail(logFile: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '')
  return text.trim().split('\n').slice(-20).join('\n')
}

const TEMP_PREFIX = 'strongroom-pg-'
const OWNER_FILE = 'owner-pid'

function stopClusterSync(binaries: PostgresBinaries, dataDir: string): void {
  const args = ['-D', dataDir, '-m', 'immediate', '-w', 'stop']
  const [file, argv] = runningAsRoot()
    ? ['su', [SERVER_USER, '-s', '/bin/sh', '-c', [binaries.pgCtl, ...args].map(shellQuote).join(' ')]]
    : [binaries.pgCtl, args]
  spawnSync(file, argv, { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS })
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Stops and removes the servers of earlier runs that died without teardown (SIGKILL, SIGHUP): their
 * folder names the process that started them, and that process is gone. Only folders owned by the
 * user the servers run as are touched.
 */
function reapOrphans(binaries: PostgresBinaries): void {
  const dir = tmpdir()
  let names: string[]
  try {
    names = readdirSync(dir).filter((name) => name.startsWith(TEMP_PREFIX))
  } catch {
    return
  }
  if (names.length === 0) return
  const serverUid = runningAsRoot()
    ? Number(spawnSync('id', ['-u', SERVER_USER], { encoding: 'utf8' }).stdout.trim())
    : process.getuid?.()
  for (const name of names) {
    const baseDir = join(dir, name)
    try {
      if (statSync(baseDir).uid !== serverUid) continue
      const owner = Number.parseInt(readFileSync(join(baseDir, OWNER_FILE), 'utf8'), 10)
      if (!Number.isInteger(owner) || processAlive(owner)) continue
    } catch {
      continue // not ours, or still being set up
    }
    if (existsSync(join(baseDir, 'data', 'postmaster.pid'))) stopClusterSync(binaries, join(baseDir, 'data'))
    rmSync(baseDir, { recursive: true, force: true })
  }
}

/**
 * Starts a private PostgreSQL server on 127.0.0.1 with trust authentication for user `postgres`.
 * Throws {@link PostgresNotInstalled} when PostgreSQL is missing.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const binaries = findPostgresBinaries()
  if (!binaries) throw new PostgresNotInstalled()

  reapOrphans(binaries)
  const baseDir = await mkdtemp(join(tmpdir(), TEMP_PREFIX))
  await writeFile(join(baseDir, OWNER_FILE), `${process.pid}\n`)
  const dataDir = join(baseDir, 'data')
  const socketDir = join(baseDir, 'sock')
  const logFile = join(baseDir, 'postgres.log')
  let started = false
  // Synchronous, so that it also works from a process 'exit' handler (vitest exits that way on
  // SIGINT and SIGTERM, skipping the teardown).
  const stopNow = (): void => {
    if (started) stopClusterSync(binaries, dataDir)
    started = false
    rmSync(baseDir, { recursive: true, force: true })
  }
  process.once('exit', stopNow)
  const stop = async (): Promise<void> => {
    process.removeListener('exit', stopNow)
    stopNow()
  }

  try {
    await mkdir(socketDir)
    await handToServerUser(baseDir)
    await runAsServerUser(binaries.initdb, [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
    ])
    // The port may be taken between freePort() and the bind; try a few.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort()
      const options = [
        `-p ${port}`,
        `-k ${socketDir}`,
        '-c listen_addresses=127.0.0.1',
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
      ].join(' ')
      // -l matters: without it the postmaster inherits our stdout pipe and execFile never returns.
      const start = () =>
        runAsServerUser(binaries.pgCtl, ['-D', dataDir, '-l', logFile, '-o', options, '-w', 'start'])
      try {
        // Set first: if pg_ctl gives up waiting, a postmaster may still be running.
        started = true
        await start()
        const halt = async () => {
          await runAsServerUser(binaries.pgCtl, ['-D', dataDir, '-m', 'fast', '-w', 'stop'])
          started = false
        }
        const resume = async () => {
          started = true
          await start()
        }
        return { port, url: `postgres://postgres@127.0.0.1:${port}/postgres`, baseDir, stop, halt, resume }
      } catch (error) {
        const log = await logTail(logFile)
        if (attempt < 3 && /could not bind|already in use/i.test(log)) continue
        throw new Error(`PostgreSQL did not start:\n${log}`, { cause: error })
      }
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/** Double-quotes an SQL identifier. */
function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const result = new URL(url)
  result.pathname = `/${encodeURIComponent(database)}`
  return result.toString()
}

/**
 * Creates an empty database on the server of `baseUrl` and returns its URL, so that each test file
 * works in isolation. `name` defaults to a unique `t_<random>`.
 *
 * @example
 * const url = await createTestDatabase(inject('postgresUrl'))
 */
export async function createTestDatabase(baseUrl: string, name?: string): Promise<string> {
  const database = name ?? `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
  if (database.length > 63) throw new TypeError(`database name longer than 63 bytes: ${database}`)
  const client = new pg.Client({ connectionString: baseUrl })
  await client.connect()
  try {
    await client.query(`create database ${quoteIdentifier(database)}`)
  } finally {
    await client.end()
  }
  return withDatabase(baseUrl, database)
}
