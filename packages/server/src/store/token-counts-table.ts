import { type Kysely, type QueryExecutorProvider, sql } from 'kysely'
import type { Database } from './schema.js'

/**
 * The shape of `authentication_token_counts` (services/authentication-tokens/token-counts.ts
 * maintains and reads it): per instance, provider, consumer and revoked flag, the number of
 * tokens (`width` 0), and the numbers by hour and by minute of expiry (`bucket` = `expires_at`
 * ÷ `width`). Here because the migration that made the table fills it too.
 */
export const HOUR_MS = 3_600_000
export const MINUTE_MS = 60_000
export const WIDTHS = [0, HOUR_MS, MINUTE_MS] as const
/** The consumer id of the rows that count every consumer of a provider. */
export const EVERY_CONSUMER = ''

/**
 * Counts every token again from `authentication_tokens`: what the migration that made the counts
 * ran, and what a tool that inserted tokens directly (the benchmark's seeder) must run after.
 */
export async function recountTokens(db: QueryExecutorProvider): Promise<void> {
  await sql`delete from authentication_token_counts`.execute(db)
  for (const every of [false, true]) {
    for (const width of WIDTHS) {
      // Constants stay out of GROUP BY: there a number names a column, and PostgreSQL refuses text.
      const consumer = every ? sql.lit(EVERY_CONSUMER) : sql.ref('consumer_id')
      const bucket = width === 0 ? sql.lit(0) : sql`expires_at / ${sql.lit(width)}`
      const groups = [sql.ref('instance_id'), sql.ref('provider_id'), sql.ref('revoked')]
      if (!every) groups.push(sql.ref('consumer_id'))
      if (width !== 0) groups.push(bucket)
      await sql`
        insert into authentication_token_counts
          (instance_id, provider_id, consumer_id, revoked, width, bucket, n)
        select instance_id, provider_id, ${consumer}, revoked, ${sql.lit(width)}, ${bucket}, count(*)
        from authentication_tokens
        group by ${sql.join(groups)}`.execute(db)
    }
  }
}

/**
 * Deletes the count rows of hours and minutes that ended more than `graceMs` ago: a count is only
 * read for the hours and minutes to come. Returns how many went.
 */
export async function pruneTokenCounts(db: Kysely<Database>, now: number, graceMs: number): Promise<number> {
  const before = now - graceMs
  const result = await db
    .deleteFrom('authentication_token_counts')
    .where((eb) =>
      eb.or([
        eb.and([eb('width', '=', HOUR_MS), eb('bucket', '<', Math.floor(before / HOUR_MS))]),
        eb.and([eb('width', '=', MINUTE_MS), eb('bucket', '<', Math.floor(before / MINUTE_MS))]),
      ]),
    )
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
