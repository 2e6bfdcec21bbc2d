import { existsSync, linkSync, mkdirSync, realpathSync, renameSync, rmSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import SQLite from 'better-sqlite3'
import { ConfigError } from '../errors.js'
import { type CopyCheck, checkCopy } from './check-copy.js'
import { assertDatabaseFile, type DatabaseLocation, sqliteFile } from './database-file.js'
import { createPrivateEmptyFile, fsyncPath, removeStaleTemps, tempPathBeside } from './durable-file.js'

export interface BackupOptions extends DatabaseLocation {
  /** The file to write. */
  out: string
  /** Replace `out` if it exists. */
  force?: boolean
}

export interface BackupResult extends CopyCheck {
  /** The database copied. */
  source: string
  /** The backup written (absolute path). */
  path: string
}

/**
 * Writes a consistent copy of a SQLite database to `out`, while a server may be writing to it.
 *
 * Copying `strongroom.db` with `cp` loses whatever is still in the write-ahead log beside it.
 * `VACUUM INTO` on a connection of our own runs in one read transaction: in WAL mode that is a
 * snapshot of every commit that had returned when it began, and the server's writers are not
 * blocked meanwhile. (The backup API, by contrast, starts over whenever another process writes,
 * and may never finish under steady load.) The copy goes to a private temporary file beside
 * `out`, is fsynced and checked (audit chains recomputed), and only then takes the name `out`:
 * a crash leaves either no backup or a whole one. The root key is not in it.
 *
 * @example
 * const result = await backupDatabase({ dataDir: '.strongroom', out: 'backups/strongroom-2026-12-03.db' })
 * result.chains.every((c) => c.ok) // the copy's audit chains are intact
 */
export async function backupDatabase(options: BackupOptions): Promise<BackupResult> {
  const source = sqliteFile(options, 'backup')
  const path = resolve(options.out)
  assertDatabaseFile(
    source,
    options.db !== undefined ? `--db ${options.db}` : `--data-dir ${dirname(source)}`,
  )
  if (['', '-wal', '-shm', '-journal'].some((suffix) => path === `${source}${suffix}`)) {
    throw new ConfigError(`--out ${path} is the database itself (or one of its files): give another path`)
  }
  // The database's folder holds the server's own files: the root key (and a rotation's
  // root.key.new), admin-token, client-secret, client-config.json, url, the database's journals
  // and the copies a restore keeps aside. A backup among them could replace one (--force), and
  // would sit beside the root key that opens it.
  const folder = dirname(source)
  if (sameFolder(dirname(path), folder)) {
    throw new ConfigError(
      `--out ${path} is in the database's folder ${folder}, among the server's own files (root.key, admin-token…): write backups to a folder of their own, such as /var/backups/strongroom/`,
    )
  }
  if (!options.force && existsSync(path)) {
    throw new ConfigError(`${path} already exists: give another --out, or --force to replace it`)
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  removeStaleTemps(path)
  const temp = tempPathBeside(path)
  try {
    createPrivateEmptyFile(temp)
    copySnapshot(source, temp)
    fsyncPath(temp)
    const check = await checkCopy(temp, null, `the copy of ${source}`)
    place(temp, path, options.force ?? false)
    fsyncPath(dirname(path))
    return { source, path, ...check }
  } finally {
    rmSync(temp, { force: true })
  }
}

/** Whether two folders are one, through links too when they exist. */
function sameFolder(a: string, b: string): boolean {
  const real = (path: string) => {
    try {
      return realpathSync(path)
    } catch {
      return resolve(path)
    }
  }
  return resolve(a) === resolve(b) || real(a) === real(b)
}

function copySnapshot(source: string, target: string): void {
  let sqlite: SQLite.Database | undefined
  try {
    // Read-write like the server's own connections (a read-only one cannot join a WAL database
    // that no process has open); it writes nothing to the source.
    sqlite = new SQLite(source, { fileMustExist: true })
    sqlite.pragma('busy_timeout = 5000')
    sqlite.prepare('VACUUM INTO ?').run(target)
  } catch (cause) {
    throw new ConfigError(`cannot copy ${source}: ${(cause as Error).message}`, { cause })
  } finally {
    sqlite?.close()
  }
}

/** Gives the checked copy its name. Without --force a link, which fails rather than replace a file made meanwhile. */
function place(temp: string, path: string, force: boolean): void {
  if (force) {
    renameSync(temp, path)
    return
  }
  try {
    linkSync(temp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConfigError(`${path} already exists: give another --out, or --force to replace it`)
    }
    throw err
  }
}
