/** A unique index, as the two engines name it in their errors. */
export interface UniqueIndex {
  /** The index's name: PostgreSQL reports it (`constraint`). */
  readonly name: string
  /** Its table and columns: SQLite reports these (`UNIQUE constraint failed: t.a, t.b`). */
  readonly table: string
  readonly columns: readonly string[]
}

/**
 * Whether `error` is the database refusing a row that would duplicate `index` (any unique index or
 * primary key when none is given): PostgreSQL's SQLSTATE 23505 `unique_violation`, or SQLite's
 * `SQLITE_CONSTRAINT_UNIQUE` / `SQLITE_CONSTRAINT_PRIMARYKEY`, as the drivers (pg, better-sqlite3)
 * raise them through Kysely. A check-then-insert races with another node's insert between the two:
 * this turns the loser's error into the conflict the check would have answered.
 *
 * On PostgreSQL the statement's failure aborts the transaction: the caller throws, so that its unit's
 * savepoint is rolled back, rather than querying on.
 */
export function isUniqueViolation(error: unknown, index?: UniqueIndex): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { code, constraint, message } = error as { code?: unknown; constraint?: unknown; message?: unknown }
  if (code === '23505') return index === undefined || constraint === index.name
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    if (index === undefined) return true
    const columns = index.columns.map((column) => `${index.table}.${column}`).join(', ')
    return message === `UNIQUE constraint failed: ${columns}`
  }
  return false
}
