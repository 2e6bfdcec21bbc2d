import { type Expression, type SqlBool, sql } from 'kysely'

/**
 * `column` starts with `prefix`, as a condition. `substr`, not LIKE: no wildcard escaping, and
 * byte-exact on both engines whatever the collation.
 */
export function startsWith(column: string, prefix: string): Expression<SqlBool> {
  return sql<SqlBool>`substr(${sql.ref(column)}, 1, ${prefix.length}) = ${prefix}`
}
