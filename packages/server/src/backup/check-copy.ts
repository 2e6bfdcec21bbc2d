import { statSync } from 'node:fs'
import type { AuditVerifyResult } from '@strongroom/protocol'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { listChains, verifyChain } from '../audit/verify.js'
import { checkRootKey } from '../crypto/keyring.js'
import { ConfigError } from '../errors.js'
import { migrationNames, type SqliteSchema, sqliteSchemaAfter, sqliteSchemaOf } from '../store/migrations.js'
import type { Database } from '../store/schema.js'

/** What checking a copy of the database found. */
export interface CopyCheck {
  /** Size of the file in bytes. */
  bytes: number
  /** The migrations the copy has applied, oldest first. */
  migrations: string[]
  /** One result per audit chain (the system chain and one per instance). */
  chains: AuditVerifyResult[]
  /** Audit events checked, over all chains. */
  events: number
  /** Keys the root key opened (hashing key and data keys); null when no root key was given. */
  keysChecked: number | null
}

/**
 * Checks that `file` is a strongroom SQLite database this version can serve: SQLite's own
 * integrity and foreign key checks, the migrations applied, every audit chain recomputed, and, given the root
 * key, every wrapped key opened. Refuses (ConfigError) what is not such a database; a broken
 * audit chain is reported in `chains`, for the caller to decide. Reads only.
 */
export async function checkCopy(
  file: string,
  rootKey: Buffer | null,
  /** What the messages call the file: the operator's (`--from`), not a temporary copy's name. */
  shownAs: string = file,
): Promise<CopyCheck> {
  let sqlite: SQLite.Database
  try {
    sqlite = new SQLite(file, { fileMustExist: true })
    sqlite.pragma('busy_timeout = 5000')
  } catch (cause) {
    throw new ConfigError(`cannot open ${shownAs}: ${(cause as Error).message}`, { cause })
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
  try {
    const quick = structuralProblem(sqlite, shownAs)
    if (quick !== null) throw new ConfigError(quick)
    const migrations = appliedMigrations(sqlite, shownAs)
    const foreign = await schemaProblem(sqlite, migrations.at(-1)!, shownAs)
    if (foreign !== null) throw new ConfigError(foreign)
    const dangling = foreignKeyProblem(sqlite, shownAs)
    if (dangling !== null) throw new ConfigError(dangling)
    const chains: AuditVerifyResult[] = []
    for (const chain of await listChains(db)) chains.push(await verifyChain(db, chain))
    const keysChecked = rootKey === null ? null : await checkRootKey(db, rootKey)
    const events = chains.reduce((sum, c) => sum + c.checked, 0)
    return { bytes: statSync(file).size, migrations, chains, events, keysChecked }
  } finally {
    await db.destroy()
  }
}

/**
 * SQLite's full `integrity_check`, not `quick_check`: the quick one does not compare indexes with
 * their tables, and a review's bit flips in real backups got through it (a migration name read one
 * way through its index and another in its table, a data key the server finds through its index
 * and the check found by scanning). Slower on a large file (every index is walked), which a
 * backup and a restore can afford.
 */
function structuralProblem(sqlite: SQLite.Database, file: string): string | null {
  let rows: { integrity_check: string }[]
  try {
    rows = sqlite.pragma('integrity_check') as { integrity_check: string }[]
  } catch (err) {
    return `${file} is not a readable SQLite database: ${(err as Error).message}`
  }
  const problems = rows.map((r) => r.integrity_check).filter((text) => text !== 'ok')
  return problems.length === 0 ? null : `${file} is damaged: SQLite's integrity_check says ${problems[0]}`
}

/** A row whose foreign key names no row (SQLite checks them only as rows are written). */
function foreignKeyProblem(sqlite: SQLite.Database, file: string): string | null {
  const row = sqlite.prepare('pragma foreign_key_check').get() as
    | { table: string; rowid: number | null; parent: string }
    | undefined
  if (row === undefined) return null
  return `${file} is damaged: a row of ${row.table} (rowid ${row.rowid ?? '?'}) names a ${row.parent} row that is not there`
}

/**
 * The copy's schema must be exactly what this version's migrations make: an object they do not
 * make is refused, above all a trigger or a view, which would run or answer with the server's
 * authority once it serves the file (a trigger can quietly widen every admin token created
 * after the restore). Checked before anything of the copy is read through its tables.
 */
async function schemaProblem(
  sqlite: SQLite.Database,
  lastMigration: string,
  file: string,
): Promise<string | null> {
  const expected = await sqliteSchemaAfter(lastMigration)
  let actual: SqliteSchema
  try {
    actual = sqliteSchemaOf(sqlite)
  } catch (err) {
    return `${file} is not a database strongroom wrote: ${(err as Error).message}`
  }
  const refuse = (what: string) =>
    `${file} is not a database strongroom wrote: ${what}; restore refuses a tampered or foreign schema`
  for (const [object, text] of actual) {
    if (!expected.has(object)) return refuse(`it has a ${object} that no migration makes`)
    if (expected.get(object) !== text) return refuse(`its ${object} differs from what the migrations make`)
  }
  for (const object of expected.keys()) {
    if (!actual.has(object)) return refuse(`its ${object} is missing`)
  }
  return null
}

function appliedMigrations(sqlite: SQLite.Database, file: string): string[] {
  const table = sqlite
    .prepare("select 1 from sqlite_master where type = 'table' and name = 'kysely_migration'")
    .get()
  if (table === undefined) {
    throw new ConfigError(`${file} is not a strongroom database: it has no migrations table`)
  }
  const applied =
    // Read from the table itself, not through its index (which integrity_check compared with it).
    (
      sqlite.prepare('select name from kysely_migration not indexed order by name').all() as {
        name: string
      }[]
    ).map((r) => r.name)
  const known = new Set(migrationNames())
  const unknown = applied.filter((name) => !known.has(name))
  if (unknown.length > 0) {
    throw new ConfigError(
      `${file} was written by a newer strongroom (it has migration ${unknown[0]}, which this version does not know): restore it with that version`,
    )
  }
  if (!applied.includes(migrationNames()[0] ?? '')) {
    throw new ConfigError(`${file} is not a strongroom database: its first migration was never applied`)
  }
  return applied
}
