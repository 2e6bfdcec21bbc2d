import { statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { DEFAULT_DATA_DIR } from '../config/config.js'
import { ConfigError } from '../errors.js'

/** Where the database is: `--db` (sqlite:PATH, a bare path, or postgres://…) or `--data-dir`. */
export interface DatabaseLocation {
  db?: string
  dataDir?: string
}

const POSTGRES_URL = /^postgres(ql)?:\/\//

/**
 * The SQLite file a backup or restore works on. A PostgreSQL URL is refused with what to run
 * instead: pg_dump and pg_restore already take and put back a consistent snapshot, and running
 * them quietly on the operator's behalf would hide where the dump went and who can read it.
 */
export function sqliteFile(location: DatabaseLocation, command: 'backup' | 'restore'): string {
  const url = location.db
  if (url === undefined) return join(resolve(location.dataDir ?? DEFAULT_DATA_DIR), 'strongroom.db')
  if (isPostgresUrl(url)) throw new ConfigError(postgresGuidance(url, command))
  return sqlitePath(url)
}

export function isPostgresUrl(url: string): boolean {
  return POSTGRES_URL.test(url)
}

/** The absolute path of an SQLite `--db` (`sqlite:PATH` or a bare path); refuses one that names no file. */
export function sqlitePath(url: string): string {
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url
  if (path === '' || path === ':memory:' || path.includes('\0')) {
    throw new ConfigError(`--db "${url}" names no database file`)
  }
  return resolve(path)
}

/**
 * Refuses an SQLite database path that is not an existing regular file, before anything opens it:
 * SQLite would create (and a migration fill) a database at a mistyped path, and opening a FIFO
 * waits for a writer forever. `given` says where the path came from, for the message.
 */
export function assertDatabaseFile(file: string, given: string): void {
  let regular: boolean
  try {
    regular = statSync(file).isFile()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ConfigError(
        `no database at ${file} (${given}): check the path; this command never creates one`,
      )
    }
    throw new ConfigError(`cannot read the database ${file} (${given}): ${code ?? (err as Error).message}`)
  }
  if (!regular) {
    throw new ConfigError(
      `${file} (${given}) is not a regular file (a FIFO, a device or a folder): it cannot be a strongroom database`,
    )
  }
}

function postgresGuidance(url: string, command: 'backup' | 'restore'): string {
  const shown = redacted(url)
  return command === 'backup'
    ? `strongroom backup copies SQLite databases only. For PostgreSQL use pg_dump, which reads one consistent snapshot while the server runs: pg_dump --format=custom --file=strongroom.dump "${shown}". Keep the root key apart from the dump: the dump cannot be decrypted without it.`
    : `strongroom restore puts back SQLite backups only. For PostgreSQL, with the servers stopped, load the pg_dump into an empty database: pg_restore --no-owner --dbname="${shown}" strongroom.dump, then check it with strongroom audit verify --db "${shown}" before starting a server on it.`
}

function redacted(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'postgres://…'
  }
}
