import { type Kysely, sql } from 'kysely'
import type { Services } from '../services.js'
import type { Dialect } from '../store/connect.js'
import type { Database } from '../store/schema.js'

/**
 * Events of one chain indexed per step at most: one unit of the group committer, which blocks the
 * event loop while it runs. Measured under ObtainCredential load (npm run bench, 12k req/s) when
 * the index held a row per key per event: 5000 events a step, once a second, took p99 from 7 to
 * 19 ms; 1000 every 250 ms cost ≈ 10 µs per request and p99 11-12 ms. With posting blocks (a row
 * per key per step) 1000 every 250 ms keeps p99 at 7.6-8.5 ms.
 */
export const DEFAULT_KEY_INDEX_BATCH = 1000
const DEFAULT_INTERVAL_MS = 250
/** PostgreSQL advisory locks `(KEY_INDEX_LOCK, hashtext(chain))`: one node indexes a chain at a time. */
const KEY_INDEX_LOCK = 730_301

type KeyIndexServices = Pick<Services, 'store' | 'committer'>

/** The mark of `chain`: its events up to this seq have their keys in `audit_key_blocks` (0: none). */
export async function indexedSeq(db: Kysely<Database>, chain: string): Promise<number> {
  const mark = await db
    .selectFrom('audit_key_marks')
    .select('indexed_seq')
    .where('instance_id', '=', chain)
    .executeTakeFirst()
  return mark ? Number(mark.indexed_seq) : 0
}

/**
 * One step of the audit key index: for each chain with events past its mark, the next `batch`
 * events at most are read once, and each key among them (actor id, resource id) gets one row in
 * `audit_key_blocks` holding its seqs in this stretch (a posting block, `encodeSeqs`); the mark
 * moves past them. Blocks and mark go in one unit of the group committer: a crash loses both or
 * neither, and the step is redone. Safe on several nodes at once: on PostgreSQL one node at a time indexes a chain
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
  // A mark past its chain's head: the tail it indexed was cut from the database (the head only
  // moves forward), and where the cut was, so which events at or below the head are new, cannot be
  // told. The chain is indexed again from its start (queries scan meanwhile, as for any tail past
  // the mark): blocks already there are kept, and what a block names is fetched with its own
  // columns checked, so an old block finds nothing of the events written since.
  const ahead = await s.store.db
    .selectFrom('audit_heads as h')
    .innerJoin('audit_key_marks as m', 'm.instance_id', 'h.instance_id')
    .select(['h.instance_id', 'h.seq'])
    .where((eb) => eb('m.indexed_seq', '>', eb.ref('h.seq')))
    .execute()
  for (const { instance_id: chain, seq } of ahead) {
    await s.committer.run(({ trx }) =>
      trx
        .updateTable('audit_key_marks')
        .set({ indexed_seq: 0 })
        .where('instance_id', '=', chain)
        .where('indexed_seq', '>', Number(seq))
        .execute(),
    )
    behind.push({ instance_id: chain })
  }
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
  const events = await trx
    .selectFrom('audit_events')
    .select(['seq', 'actor_id', 'resource_id'])
    .where('instance_id', '=', chain)
    .where('seq', '>', from)
    .orderBy('seq')
    .limit(batch)
    .execute()
  if (events.length === 0) return { indexed: 0, full: false }
  // One block per key of the step: its seqs, ascending. A key seen in every event of the step is
  // one row (about a byte per event), not one row per event.
  const blocks = new Map<string, { kind: 'actor' | 'resource'; key: string; seqs: number[] }>()
  const add = (kind: 'actor' | 'resource', key: string, seq: number) => {
    const id = `${kind}\0${key}`
    const block = blocks.get(id)
    if (block) block.seqs.push(seq)
    else blocks.set(id, { kind, key, seqs: [seq] })
  }
  for (const e of events) {
    const seq = Number(e.seq)
    add('actor', e.actor_id, seq)
    if (e.resource_id !== null) add('resource', e.resource_id, seq)
  }
  // Sorted as the block table's primary key.
  const rows = [...blocks.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, b]) => ({
      instance_id: chain,
      kind: b.kind,
      key: b.key,
      first_seq: b.seqs[0]!,
      last_seq: b.seqs[b.seqs.length - 1]!,
      seqs: encodeSeqs(b.seqs),
    }))
  for (let i = 0; i < rows.length; i += BLOCK_ROWS_PER_INSERT) {
    await trx
      .insertInto('audit_key_blocks')
      .values(rows.slice(i, i + BLOCK_ROWS_PER_INSERT))
      .onConflict((oc) => oc.doNothing())
      .execute()
  }
  const last = Number(events[events.length - 1]!.seq)
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
  return { indexed: events.length, full: events.length >= batch }
}

/** Rows per insert: 6 parameters each, far under SQLite's 32766. */
const BLOCK_ROWS_PER_INSERT = 500

/**
 * Ascending seqs as a block: the first as a varint (LEB128), then each one's distance from the one
 * before, also as a varint; a run of consecutive events costs a byte each.
 */
export function encodeSeqs(seqs: readonly number[]): Buffer {
  const bytes: number[] = []
  for (let i = 0; i < seqs.length; i++) {
    const seq = seqs[i]!
    let d = i === 0 ? seq : seq - seqs[i - 1]!
    if (!Number.isSafeInteger(seq) || d < (i === 0 ? 0 : 1))
      throw new RangeError('encodeSeqs: seqs must be ascending safe integers')
    while (d >= 0x80) {
      bytes.push((d % 0x80) | 0x80)
      d = Math.floor(d / 0x80)
    }
    bytes.push(d)
  }
  return Buffer.from(bytes)
}

/** The seqs of a block, ascending. A block cut short or overlong is an error, never a guess. */
export function decodeSeqs(block: Uint8Array): number[] {
  const seqs: number[] = []
  let previous = 0
  let value = 0
  let scale = 1
  for (let i = 0; i < block.length; i++) {
    const byte = block[i]!
    value += (byte & 0x7f) * scale
    if (byte & 0x80) {
      scale *= 0x80
      if (scale >= 2 ** 56) throw new RangeError('decodeSeqs: a varint is too long')
      continue
    }
    previous += value
    seqs.push(previous)
    value = 0
    scale = 1
  }
  if (scale !== 1) throw new RangeError('decodeSeqs: the block ends inside a varint')
  return seqs
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
