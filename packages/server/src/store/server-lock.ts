import { closeSync, constants, lstatSync, mkdirSync, openSync } from 'node:fs'
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
 * so a server killed with -9 leaves nothing to clean up. Answers the release.
 */
export function holdServerLock(file: string): () => void {
  const lockFile = `${file}.serve-lock`
  mkdirSync(dirname(lockFile), { recursive: true, mode: 0o700 })
  // Made here, private and never through a link, before SQLite opens it: a link planted in its
  // place would have SQLite create a file elsewhere, and a file others may read lets anyone who
  // opens it hold a shared lock that keeps the server from starting.
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
  const lock = new SQLite(lockFile)
  try {
    lock.pragma('busy_timeout = 0')
    lock.exec('BEGIN EXCLUSIVE')
  } catch (err) {
    lock.close()
    const code = (err as { code?: unknown }).code
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new ConfigError(
        `another strongroom server is running on ${file} (it holds ${lockFile}): stop it first, or give this one another --data-dir; for more processes on one database use --workers`,
        { cause: err },
      )
    }
    throw err
  }
  return () => {
    if (!lock.open) return
    lock.exec('ROLLBACK')
    lock.close()
  }
}
