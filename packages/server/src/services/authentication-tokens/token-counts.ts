import type { Kysely } from 'kysely'
import type { Unit } from '../../store/committer.js'
import type { AuthenticationTokenCountTable, AuthenticationTokenTable, Database } from '../../store/schema.js'
import { EVERY_CONSUMER, HOUR_MS, MINUTE_MS, WIDTHS } from '../../store/token-counts-table.js'

/**
 * How many tokens match a ListAuthenticationTokens filter, without counting them.
 *
 * Tokens are never pruned, so `count(*)` over a provider's or a consumer's tokens grows with
 * every token ever minted (70–670 ms at 1M tokens, run on SQLite inside the group commit, where
 * it stalls every request). Instead `authentication_token_counts` holds, per instance, provider,
 * consumer (`''`: every consumer of the provider) and revoked flag:
 *
 * - the number of tokens (`width` 0, `bucket` 0);
 * - the number by hour of expiry (`width` one hour, `bucket` = `expires_at` ÷ one hour);
 * - the number by minute of expiry (`width` one minute).
 *
 * So the tokens still valid at `now` are those of the hours after this one, of the minutes after
 * this one within this hour, and those of this minute counted exactly (an index range of the
 * tokens expiring within one minute): at most ~800 count rows and one minute's tokens, whatever
 * the number of tokens. Expired = all − valid.
 *
 * Every write to `authentication_tokens` goes through this module (a test holds the code to it),
 * in the same unit of work as its counts. The counts of an instance are only written by a unit
 * holding that instance's audit head (row-locked on PostgreSQL until the batch commits), so two
 * batches never hold count rows the other waits for: no deadlock between nodes.
 */

/** Rows per upsert statement: 7 parameters each, far under SQLite's 32766. */
const UPSERT_ROWS = 500

type TokenKey = Pick<AuthenticationTokenTable, 'instance_id' | 'provider_id' | 'consumer_id' | 'expires_at'>

/** Changes to the counts, merged by row key (one upsert may not touch a row twice on PostgreSQL). */
class CountDeltas {
  private readonly rows = new Map<string, { key: CountRowKey; n: number }>()

  /** Counts `token` (with revoked flag `revoked`) `delta` times: +1 when it appears, −1 when it goes. */
  add(token: TokenKey, revoked: number, delta: number): void {
    const expiresAt = Number(token.expires_at)
    for (const consumer of [token.consumer_id, EVERY_CONSUMER]) {
      for (const width of WIDTHS) {
        const key: CountRowKey = {
          instance_id: token.instance_id,
          provider_id: token.provider_id,
          consumer_id: consumer,
          revoked,
          width,
          bucket: width === 0 ? 0 : Math.floor(expiresAt / width),
        }
        const id = `${key.instance_id}\0${key.provider_id}\0${consumer}\0${width}\0${key.bucket}\0${revoked}`
        const row = this.rows.get(id)
        if (row) row.n += delta
        else this.rows.set(id, { key, n: delta })
      }
    }
  }

  /** The changed rows in key order, so every writer takes the rows' locks in the same order. */
  sorted(): { key: CountRowKey; n: number }[] {
    return [...this.rows.entries()]
      .filter(([, row]) => row.n !== 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, row]) => row)
  }
}

type CountRowKey = Omit<AuthenticationTokenCountTable, 'n'>

async function applyDeltas(unit: Pick<Unit, 'trx' | 'audit'>, deltas: CountDeltas): Promise<void> {
  const rows = deltas.sorted()
  if (rows.length === 0) return
  for (const instanceId of new Set(rows.map((r) => r.key.instance_id))) await unit.audit.hold(instanceId)
  for (let i = 0; i < rows.length; i += UPSERT_ROWS) {
    await unit.trx
      .insertInto('authentication_token_counts')
      .values(rows.slice(i, i + UPSERT_ROWS).map((r) => ({ ...r.key, n: r.n })))
      .onConflict((oc) =>
        oc
          .columns(['instance_id', 'provider_id', 'consumer_id', 'width', 'bucket', 'revoked'])
          .doUpdateSet((eb) => ({ n: eb('authentication_token_counts.n', '+', eb.ref('excluded.n')) })),
      )
      .execute()
  }
}

/** Records a minted token and counts it. */
export async function insertTokenRecord(
  unit: Pick<Unit, 'trx' | 'audit'>,
  row: AuthenticationTokenTable,
): Promise<void> {
  await unit.trx.insertInto('authentication_tokens').values(row).execute()
  const deltas = new CountDeltas()
  deltas.add(row, Number(row.revoked), 1)
  await applyDeltas(unit, deltas)
}

/** Which tokens of one provider a revoke or reinstate applies to. */
export interface TokenSelection {
  instanceId: string
  providerId: string
  consumerId?: string | undefined
  tokenId?: string | undefined
}

/**
 * Sets the revoked flag of the selected tokens that do not have it yet, and moves them between
 * the counts. Returns how many changed.
 */
export async function setTokensRevoked(
  unit: Pick<Unit, 'trx' | 'audit'>,
  selection: TokenSelection,
  revoked: boolean,
  now: number,
): Promise<number> {
  const changed = await unit.trx
    .updateTable('authentication_tokens')
    .set({ revoked: revoked ? 1 : 0, updated_at: now })
    .where('instance_id', '=', selection.instanceId)
    .where('provider_id', '=', selection.providerId)
    .where('revoked', '=', revoked ? 0 : 1)
    .$if(selection.consumerId !== undefined, (q) => q.where('consumer_id', '=', selection.consumerId!))
    .$if(selection.tokenId !== undefined, (q) => q.where('id', '=', selection.tokenId!))
    .returning(['instance_id', 'provider_id', 'consumer_id', 'expires_at'])
    .execute()
  const deltas = new CountDeltas()
  for (const token of changed) {
    deltas.add(token, revoked ? 0 : 1, -1)
    deltas.add(token, revoked ? 1 : 0, 1)
  }
  await applyDeltas(unit, deltas)
  return changed.length
}

/** A ListAuthenticationTokens filter, as far as counting goes. */
export interface CountFilter {
  providerId: string
  /** Every consumer when absent. */
  consumerId?: string | undefined
  revoked?: boolean | undefined
  expired?: boolean | undefined
}

/** How many of the instance's tokens match `filter` at `now` (ms): at most ~800 rows read. */
export async function countTokens(
  db: Kysely<Database>,
  instanceId: string,
  filter: CountFilter,
  now: number,
): Promise<number> {
  const hour = Math.floor(now / HOUR_MS)
  const minute = Math.floor(now / MINUTE_MS)
  // Each sum is one range of the primary key (instance, provider, consumer, width, bucket), the
  // revoked flag checked on the rows found: a bucket holds two rows at most.
  const sum = (width: number, after: number, before?: number) =>
    db
      .selectFrom('authentication_token_counts')
      .where('instance_id', '=', instanceId)
      .where('provider_id', '=', filter.providerId)
      .where('consumer_id', '=', filter.consumerId ?? EVERY_CONSUMER)
      .where('width', '=', width)
      .where('bucket', width === 0 ? '>=' : '>', after)
      .$if(before !== undefined, (q) => q.where('bucket', '<', before!))
      .$if(filter.revoked !== undefined, (q) => q.where('revoked', '=', filter.revoked ? 1 : 0))
      .select((e) => e.fn.coalesce(e.fn.sum<number>('n'), e.lit(0)).as('n'))
  const row = await db
    .selectNoFrom((eb) => [
      sum(0, 0).as('total'),
      sum(HOUR_MS, hour).as('hours'),
      sum(MINUTE_MS, minute, (hour + 1) * (HOUR_MS / MINUTE_MS)).as('minutes'),
      // This minute's tokens still valid, counted: the expiry index holds them in one range.
      eb
        .selectFrom('authentication_tokens')
        .where('instance_id', '=', instanceId)
        .where('provider_id', '=', filter.providerId)
        .where('expires_at', '>', now)
        .where('expires_at', '<', (minute + 1) * MINUTE_MS)
        .$if(filter.consumerId !== undefined, (q) => q.where('consumer_id', '=', filter.consumerId!))
        .$if(filter.revoked !== undefined, (q) => q.where('revoked', '=', filter.revoked ? 1 : 0))
        .select((e) => e.fn.countAll<number>().as('n'))
        .as('soon'),
    ])
    .executeTakeFirstOrThrow()
  const total = Number(row.total)
  if (filter.expired === undefined) return total
  const valid = Number(row.hours) + Number(row.minutes) + Number(row.soon)
  return filter.expired ? total - valid : valid
}
