import { closeSync, constants, lstatSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import { ConfigError } from '../errors.js'

/**
 * Holds, for as long as this server runs, the lock that says a server runs on the SQLite database
 * `file`; refuses at once when another process holds it. Two `serve` on one data folder both
 * started: each kept its own caches (a key rotated through one was unknown to the other, whose
 * tokens the first then refused), its own failure budgets (twice the attempts), and the one that
 * started last took the folder's `url`; two starting at once broke each other's first migration.
 * (Workers of `serve --workers N` share the database by design: their primary holds the lock.)
 *
 * The lock is an exclusive transaction on a file of its own beside the database, never committed:
 * SQLite's file lock, which the operating system releases when the process ends however it ends,
 * so a server killed with -9 leaves nothing to clean up. Also refuses to start while workers of an
 * earlier `serve --workers N` still run on the file (`refuseLeftoverWorkers`). Answers the release.
 * `doing`: an offline command that must not run beside a server (a restore, a root key
 * rotation) takes the lock too, for as long as it runs, and says so when refused: the primary of
 * `serve --workers N` keeps no connection to the database, so while it replaces a crashed worker
 * nothing has the file open, and asking the file alone let a restore through.
 */
export function holdServerLock(file: string, doing?: string): () => void {
  const lockFile = `${file}.serve-lock`
  privateLockFile(lockFile)
  const lock = new SQLite(lockFile)
  try {
    lock.pragma('busy_timeout = 0')
    lock.exec('BEGIN EXCLUSIVE')
  } catch (err) {
    lock.close()
    if (isBusy(err)) {
      throw new ConfigError(
        doing === undefined
          ? `another strongroom server is running on ${file} (it holds ${lockFile}): stop it first, or give this one another --data-dir; for more processes on one database use --workers`
          : `a strongroom server is running on ${file} (it holds ${lockFile}): stop it before ${doing}`,
        { cause: err },
      )
    }
    throw err
  }
  const release = () => {
    if (!lock.open) return
    lock.exec('ROLLBACK')
    lock.close()
  }
  try {
    refuseLeftoverWorkers(file)
  } catch (err) {
    release()
    throw err
  }
  return release
}

/**
 * A worker of `serve --workers N` holds this, shared, for as long as it runs (`holdWorkerLock`),
 * and a server starting takes it exclusively for a moment: so a worker its primary left behind
 * keeps a new server from starting. The primary's lock goes with the primary; node:cluster then
 * ends its workers, but only those whose event loop runs: one stopped (SIGSTOP, a debugger) or
 * stuck stays, and may hold the database's write lock, so a new server on the same file would
 * start and fail every write.
 */
function workersLockFile(file: string): string {
  return `${file}.workers-lock`
}

/**
 * How long a starting server waits for the workers of one killed a moment ago: a busy worker
 * finishes its batch before it notices its primary is gone, and a process manager restarts a
 * crashed server at once (systemd's `Restart=` in 100 ms, and it gives up after five failed
 * starts in ten seconds).
 */
export const LEFTOVER_WORKERS_WAIT_MS = 15_000

function refuseLeftoverWorkers(file: string): void {
  const lockFile = workersLockFile(file)
  privateLockFile(lockFile)
  const lock = new SQLite(lockFile)
  const take = (waitMs: number) => {
    lock.pragma(`busy_timeout = ${waitMs}`)
    lock.exec('BEGIN EXCLUSIVE')
    lock.exec('ROLLBACK')
  }
  try {
    try {
      take(0)
    } catch (err) {
      if (!isBusy(err)) throw err
      const pids = holdersOf(lockFile)
      process.stderr.write(
        `strongroom: workers of an earlier server still run on ${file}${pids.length > 0 ? ` (process ${pids.join(', ')})` : ''}: waiting up to ${LEFTOVER_WORKERS_WAIT_MS / 1000} s for them to end\n`,
      )
      take(LEFTOVER_WORKERS_WAIT_MS)
    }
  } catch (err) {
    if (!isBusy(err)) throw err
    const pids = holdersOf(lockFile)
    throw new ConfigError(
      `workers of an earlier strongroom server still run on ${file} (they hold ${lockFile}${pids.length > 0 ? `: process ${pids.join(', ')}` : ''}) after ${LEFTOVER_WORKERS_WAIT_MS / 1000} s, left behind when their primary was killed; they end by themselves once they run again (a stopped one needs kill -CONT, or kill -KILL): stop them first`,
      { cause: err },
    )
  } finally {
    lock.close()
  }
}

/**
 * Held by a worker of `serve --workers N` until it exits (the operating system releases it
 * however it ends): a shared lock, which every worker holds at once and a starting server's
 * exclusive one meets (`refuseLeftoverWorkers`).
 */
export function holdWorkerLock(file: string): void {
  const lockFile = workersLockFile(file)
  privateLockFile(lockFile)
  const lock = new SQLite(lockFile)
  lock.exec('BEGIN')
  // A read takes SQLite's shared lock on the file, kept until the transaction ends: never.
  lock.prepare('SELECT count(*) FROM sqlite_master').get()
  // Referenced for good: a connection the garbage collector takes is closed, and its lock freed.
  heldForGood.push(lock)
}

const heldForGood: SQLite.Database[] = []

/**
 * The processes that hold a lock on `file`, from /proc/locks (Linux); none elsewhere, or when it
 * cannot be read.
 */
function holdersOf(file: string): number[] {
  try {
    const inode = statSync(file).ino
    const pids = new Set<number>()
    for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
      // "1: POSIX  ADVISORY  READ 4242 08:01:1234567 1073741826 1073742335"
      const fields = line.trim().split(/\s+/)
      const where = fields[5]?.split(':')
      if (where?.length === 3 && Number(where[2]) === inode) {
        const pid = Number(fields[4])
        if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid) pids.add(pid)
      }
    }
    return [...pids].sort((a, b) => a - b)
  } catch {
    return []
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED'
}

/**
 * Makes a lock file private and never through a link, before SQLite opens it: a link planted in
 * its place would have SQLite create a file elsewhere, and a file others may read lets anyone who
 * opens it hold a shared lock that keeps the server from starting.
 */
function privateLockFile(lockFile: string): void {
  mkdirSync(dirname(lockFile), { recursive: true, mode: 0o700 })
  try {
    closeSync(openSync(lockFile, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600))
    const stat = lstatSync(lockFile)
    if (!stat.isFile() || (stat.mode & 0o077) !== 0) {
      throw new ConfigError(
        `${lockFile} must be a regular file only its owner can read (mode 0600); remove it and start again`,
      )
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(`cannot make the server lock ${lockFile}: ${(err as Error).message}`, {
      cause: err,
    })
  }
}
