import SQLite from 'better-sqlite3'
import { ConfigError } from '../errors.js'

/**
 * Refuses when any process has the SQLite database open, a running server above all. Every
 * connection to a WAL database holds a shared lock for as long as it is open, even while idle,
 * so an exclusive lock taken without waiting fails exactly then. (A file that is not a database
 * at all is no server's, and passes.)
 */
export function assertNotInUse(file: string, doing = 'restoring'): void {
  let sqlite: SQLite.Database | undefined
  try {
    sqlite = new SQLite(file, { fileMustExist: true })
    sqlite.pragma('busy_timeout = 0')
    sqlite.pragma('locking_mode = EXCLUSIVE')
    sqlite.exec('BEGIN EXCLUSIVE')
    sqlite.prepare('select count(*) from sqlite_master').get()
    sqlite.exec('COMMIT')
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new ConfigError(
        `${file} is in use (is a strongroom server running on it?): stop the server before ${doing}`,
        { cause: err },
      )
    }
  } finally {
    sqlite?.close()
  }
}
