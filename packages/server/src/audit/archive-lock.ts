import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import type { Committer } from '../store/committer.js'
import type { Store } from '../store/connect.js'

/** Arbitrary, fixed, and apart from the start-up lock's key (store/migrations.ts). */
const ARCHIVE_LOCK_KEY = sql.raw('7303012315173')
const LEASE_KEY = 'audit_archive_lease'
/** How long an SQLite lease lasts unless renewed: a holder that crashed blocks archiving this long at most. */
export const LEASE_MS = 15 * 60_000

/** Renews the lock where it can expire (SQLite); a no-op where it cannot (PostgreSQL). */
export type Renew = () => Promise<void>

/**
 * Runs `fn` while this process is the only one archiving audit events of the database; resolves
 * to `null` without running it when another holds the lock. PostgreSQL: a session advisory lock
 * on a connection held for the run (freed by the server if the process dies). SQLite, where the
 * server and an `audit archive` command may be separate processes on one file: a lease row in
 * `meta`, taken through the committer (SQLite serialises writers), renewed as the run goes and
 * released at its end.
 */
export async function withArchiveLock<T>(
  store: Store,
  committer: Committer,
  now: () => number,
  fn: (renew: Renew) => Promise<T>,
): Promise<T | null> {
  if (store.dialect === 'postgres') {
    return store.db.connection().execute(async (conn) => {
      const { rows } = await sql<{
        locked: boolean
      }>`select pg_try_advisory_lock(${ARCHIVE_LOCK_KEY}) as locked`.execute(conn)
      if (rows[0]?.locked !== true) return null
      try {
        return await fn(async () => {})
      } finally {
        // A connection that is gone took the lock with it: nothing to release then.
        await sql`select pg_advisory_unlock(${ARCHIVE_LOCK_KEY})`.execute(conn).catch(() => {})
      }
    })
  }
  const owner = randomBytes(9).toString('hex')
  let written = ''
  const take = () =>
    committer.run(async ({ trx }) => {
      const row = await trx.selectFrom('meta').select('value').where('key', '=', LEASE_KEY).executeTakeFirst()
      const held = row ? parseLease(row.value) : null
      if (held && held.owner !== owner && held.until > now()) return false
      const value = `${now() + LEASE_MS} ${owner}`
      await trx
        .insertInto('meta')
        .values({ key: LEASE_KEY, value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute()
      written = value
      return true
    })
  if (!(await take())) return null
  try {
    return await fn(async () => {
      if (!(await take())) throw new Error('the audit archive lease was taken by another process')
    })
  } finally {
    // A failure here (the server shutting down) must not hide the run's own error: the lease
    // then runs out by itself.
    await committer
      .run(async ({ trx }) => {
        await trx.deleteFrom('meta').where('key', '=', LEASE_KEY).where('value', '=', written).execute()
      })
      .catch(() => {})
  }
}

function parseLease(value: string): { until: number; owner: string } | null {
  const match = /^(\d+) (\S+)$/.exec(value)
  return match ? { until: Number(match[1]), owner: match[2]! } : null
}
