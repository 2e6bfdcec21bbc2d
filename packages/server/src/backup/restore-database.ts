import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { loadRootKey } from '../crypto/root-key.js'
import { ConfigError } from '../errors.js'
import { holdServerLock } from '../store/server-lock.js'
import { type CopyCheck, checkCopy } from './check-copy.js'
import { type DatabaseLocation, sqliteFile } from './database-file.js'
import { fsyncPath, removeStaleTemps, tempPathBeside } from './durable-file.js'
import { assertNotInUse } from './not-in-use.js'

export interface RestoreOptions extends DatabaseLocation {
  /** The backup to put back (written by `backupDatabase`). */
  from: string
  /** The root key file to check the backup against; else STRONGROOM_ROOT_KEY, else `<dataDir>/root.key` if present. */
  rootKeyFile?: string
  /** Replace a database already at the target (kept aside as `…before-restore-<time>`). */
  force?: boolean
  /** Environment to read STRONGROOM_ROOT_KEY from; the process's by default. */
  env?: Readonly<Record<string, string | undefined>>
  now?: () => number
}

export interface RestoreResult extends CopyCheck {
  /** The database file now in place. */
  path: string
  /** Where the database that was there before now is; null when there was none. */
  previous: string | null
  /** Where the root key checked came from; null when none was available (then keysChecked is null). */
  rootKey: string | null
}

const DATABASE_FILES = ['', '-wal', '-shm', '-journal']

/**
 * Puts a backup in place as the database of a stopped server. Nothing at the target changes
 * until a copy of the backup, beside the target, has passed every check: a strongroom database,
 * structurally sound, every audit chain intact, and (given a root key) every wrapped key opening
 * with it. A database already there is kept aside, never deleted.
 *
 * @example
 * await restoreDatabase({ from: 'backups/strongroom-2026-12-03.db', dataDir: '/var/lib/strongroom' })
 */
export async function restoreDatabase(options: RestoreOptions): Promise<RestoreResult> {
  const path = sqliteFile(options, 'restore')
  const from = resolve(options.from)
  if (!existsSync(from) || !statSync(from).isFile()) throw new ConfigError(`no backup file at ${from}`)
  if (from === path) throw new ConfigError(`--from ${from} is the target database itself`)
  if (existsSync(`${from}-wal`) && statSync(`${from}-wal`).size > 0) {
    throw new ConfigError(
      `${from} has a write-ahead log beside it (${from}-wal): it is a live database, not a backup, and a copy of it alone would miss recent writes; take one with strongroom backup`,
    )
  }
  const { key, source: rootKey } = findRootKey(options)
  refuseIfOccupied(path, options.force ?? false)

  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  removeStaleTemps(path)
  const temp = tempPathBeside(path)
  let releaseLock: (() => void) | undefined
  try {
    copyFileSync(from, temp)
    chmodSync(temp, 0o600)
    fsyncPath(temp)
    // Checked as a copy beside the target, and named as the operator gave it.
    const check = await checkCopy(temp, key, from)
    const broken = check.chains.find((c) => !c.ok)
    if (broken) {
      throw new ConfigError(
        `${from} was not restored: the audit chain of ${broken.instanceId} is broken at seq ${broken.firstBrokenSeq ?? '?'}: ${broken.problem ?? 'unknown problem'}`,
      )
    }
    // The server's own lock, held until the copy is in place: a server that runs refuses it (a
    // `--workers` primary between two workers, with no connection to the file, included; asking
    // the file alone let a restore through then), and none starts meanwhile. Then the file is
    // checked again: a server may have been started and stopped while the copy was checked.
    releaseLock = holdServerLock(path, 'restoring')
    refuseIfOccupied(path, options.force ?? false)
    const leftovers = DATABASE_FILES.some((suffix) => existsSync(`${path}${suffix}`))
    const previous = leftovers ? setAside(path, options.now ?? Date.now) : null
    renameSync(temp, path)
    fsyncPath(dirname(path))
    return { path, previous, rootKey, ...check }
  } finally {
    rmSync(temp, { force: true })
    releaseLock?.()
  }
}

function refuseIfOccupied(path: string, force: boolean): void {
  if (!existsSync(path)) return
  // Opening a FIFO would wait for a writer forever; a folder or device is no database to set aside.
  if (!statSync(path).isFile()) {
    throw new ConfigError(
      `${path} is not a regular file (a FIFO, a device or a folder): move it away before restoring`,
    )
  }
  assertNotInUse(path)
  if (!force) {
    throw new ConfigError(
      `${path} already exists: give --force to replace it (it is kept aside as ${path}.before-restore-<time>)`,
    )
  }
}

/**
 * Moves the database and any journal files beside it, under one name, so they still belong
 * together: a write-ahead log left beside the restored file would be replayed into it.
 */
function setAside(path: string, now: () => number): string {
  const stamp = new Date(now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')
  const aside = `${path}.before-restore-${stamp}`
  if (existsSync(aside)) throw new ConfigError(`${aside} already exists; try again in a second`)
  for (const suffix of DATABASE_FILES) {
    if (existsSync(`${path}${suffix}`)) renameSync(`${path}${suffix}`, `${aside}${suffix}`)
  }
  return aside
}

/** The root key the way `strongroom serve` finds it, except that none is created. */
function findRootKey(options: RestoreOptions): { key: Buffer | null; source: string | null } {
  if (options.rootKeyFile !== undefined) {
    const file = resolve(options.rootKeyFile)
    return { key: loadRootKey({ kind: 'file', path: file, create: false }), source: file }
  }
  const envKey = (options.env ?? process.env).STRONGROOM_ROOT_KEY
  if (envKey !== undefined && envKey !== '') {
    return { key: loadRootKey({ kind: 'env', base64: envKey }), source: 'STRONGROOM_ROOT_KEY' }
  }
  if (options.db === undefined) {
    const file = join(dirname(sqliteFile(options, 'restore')), 'root.key')
    if (existsSync(file))
      return { key: loadRootKey({ kind: 'file', path: file, create: false }), source: file }
  }
  return { key: null, source: null }
}
