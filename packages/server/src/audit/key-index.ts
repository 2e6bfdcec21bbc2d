import { type Kysely, sql } from 'kysely'
import type { Services } from '../services.js'
import type { Dialect } from '../store/connect.js'
import type { Database } from '../store/schema.js'

/**
 * Events of one chain indexed per step at most: one unit of the group committer, which blocks the
 * event loop while it runs. Measured under ObtainCredential load (npm run bench, 12k req/s):
 * 5000 events a step, once a second, cost no measurable CPU per request but p99 went 7 -> 19 ms;
 * 1000 every 250 ms costs ≈ 10 µs per request and p99 11-12 ms; 500 every 100 ms no better.
 */
export const DEFAULT_KEY_INDEX_BATCH = 1000
const DEFAULT_INTERVAL_MS = 250
/** PostgreSQL advisory locks `(KEY_INDEX_LOCK, hashtext(chain))`: one node indexes a chain at a time. */
const KEY_INDEX_LOCK = 730_301

type KeyIndexServices = Pick<Services, 'store' | 'committer'>

/** The mark of `chain`: its events up to this seq have their keys in `audit_event_keys` (0: none). */
export async function indexedSeq(db: Kysely<Database>, chain: string): Promise<number> {
  const mark = await db
    .selectFrom('audit_key_marks')
    .select('indexed_seq')
    .where('instance_id', '=', chain)
    .executeTakeFirst()
  return mark ? Number(mark.indexed_seq) : 0
}

/**
 * One step of the audit key index: for each chain with events past its mark, the keys (actor id,
 * resource id) of the next `batch` events at most are inserted sorted by key, so each page of the
 * key table is written once per step rather than once per commit, and the mark moves past them.
 * Keys and mark go in one unit of the group committer: a crash loses both or neither, and the
 * step is redone. Safe on several nodes at once: on PostgreSQL one node at a time indexes a chain
 * (the others skip it for this step), a key already there is skipped and the mark only moves
 * forward. Returns how many events were indexed and whether some chain has more to do.
 */
export async function indexAuditKeys(
  s: KeyIndexServices,
  batch = DEFAULT_KEY_INDEX_BATCH,
): Promise<{ indexed: number; more: boolean }> {
  if (!Number.isInteger(batch) || batch < 1)
    throw new TypeError('indexAuditKeys: batch must be a positive integer')
  const behind = await s.store.db
    .selectFrom('audit_heads as h')
    .leftJoin('audit_key_marks as m', 'm.instance_id', 'h.instance_id')
    .select('h.instance_id')
    .where((eb) => eb('h.seq', '>', eb.fn.coalesce('m.indexed_seq', eb.lit(0))))
    .execute()
  let indexed = 0
  let more = false
  for (const { instance_id: chain } of behind) {
    const step = await s.committer.run(({ trx }) => indexChain(trx, s.store.dialect, chain, batch))
    indexed += step.indexed
    if (step.full) more = true
  }
  return { indexed, more }
}

async function indexChain(
  trx: Kysely<Database>,
  dialect: Dialect,
  chain: string,
  batch: number,
): Promise<{ indexed: number; full: boolean }> {
  if (dialect === 'postgres') {
    // Another node's step on this chain would make this one wait on its keys, inside a batch of
    // requests (and, holding their heads' locks, could deadlock with it): leave the chain to it.
    const { rows } = await sql<{
      locked: boolean
    }>`select pg_try_advisory_xact_lock(${KEY_INDEX_LOCK}, hashtext(${chain})) as locked`.execute(trx)
    if (rows[0]?.locked !== true) return { indexed: 0, full: false }
  }
  const from = await indexedSeq(trx, chain)
  const upTo = await trx
    .selectFrom((eb) =>
      eb
        .selectFrom('audit_events')
        .select('seq')
        .where('instance_id', '=', chain)
        .where('seq', '>', from)
        .orderBy('seq')
        .limit(batch)
        .as('next'),
    )
    .select((eb) => [eb.fn.max('next.seq').as('last'), eb.fn.countAll().as('count')])
    .executeTakeFirstOrThrow()
  if (upTo.last === null) return { indexed: 0, full: false }
  const last = Number(upTo.last)
  const inRange = () =>
    trx
      .selectFrom('audit_events')
      .where('instance_id', '=', chain)
      .where('seq', '>', from)
      .where('seq', '<=', last)
  const actors = inRange().select(['instance_id', sql.lit('actor').as('kind'), 'actor_id as key', 'seq'])
  const resources = inRange()
    .select(['instance_id', sql.lit('resource').as('kind'), 'resource_id as key', 'seq'])
    .where('resource_id', 'is not', null)
    .$narrowType<{ key: string }>()
  // Sorted as the key table's primary key: each of its pages is touched once by this insert.
  const keys = actors.unionAll(resources).orderBy('kind').orderBy('key').orderBy('seq')
  await trx
    .insertInto('audit_event_keys')
    .columns(['instance_id', 'kind', 'key', 'seq'])
    .expression(keys)
    .onConflict((oc) => oc.doNothing())
    .execute()
  await trx
    .insertInto('audit_key_marks')
    .values({ instance_id: chain, indexed_seq: last })
    .onConflict((oc) =>
      oc
        .column('instance_id')
        .doUpdateSet({ indexed_seq: (eb) => eb.ref('excluded.indexed_seq') })
        .where('audit_key_marks.indexed_seq', '<', (eb) => eb.ref('excluded.indexed_seq')),
    )
    .execute()
  const count = Number(upTo.count)
  return { indexed: count, full: count >= batch }
}

/**
 * Runs `indexAuditKeys` in the background, never from a request: at once and step after step
 * while a chain is behind (catching up after start-up), then every `intervalMs`. The returned
 * function stops it and waits for a step in flight.
 */
export function startAuditKeyIndexer(
  s: KeyIndexServices,
  log: { warn(obj: object, msg: string): void },
  intervalMs = DEFAULT_INTERVAL_MS,
  batch = DEFAULT_KEY_INDEX_BATCH,
): () => Promise<void> {
  let stopped = false
  let timer: NodeJS.Timeout | null = null
  let running: Promise<void> | null = null
  const schedule = (ms: number) => {
    if (stopped) return
    timer = setTimeout(tick, ms)
    timer.unref()
  }
  const tick = () => {
    timer = null
    running = indexAuditKeys(s, batch)
      .then(
        ({ more }) => schedule(more ? 0 : intervalMs),
        (err: unknown) => {
          if (!stopped) log.warn({ err }, 'audit key indexing failed; it will try again')
          schedule(intervalMs)
        },
      )
      .finally(() => {
        running = null
      })
  }
  schedule(0)
  return async () => {
    stopped = true
    if (timer !== null) clearTimeout(timer)
    await running
  }
}
