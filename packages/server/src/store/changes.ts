import type { Kysely } from 'kysely'
import { PamError, ServiceUnavailable } from '../errors.js'
import type { Store } from './connect.js'
import { prepare, type QueryTarget } from './prepared.js'
import type { Database } from './schema.js'

/**
 * What a node keeps in memory that a change made through another node can make wrong, and that is
 * not read again on every use. Today only an instance's signing keys (oauth/signing-keys.ts): every
 * other cache is keyed by what the request reads from the database anyway (docs/ARCHITECTURE.md,
 * "Several nodes").
 */
export type ChangeKind = 'signing_keys'

export interface Change {
  readonly kind: ChangeKind
  readonly instanceId: string
  /** What changed, within the kind: a record id, or the instance id for what is per instance. */
  readonly key: string
}

/** Told about the changes of a kind, to forget what they make wrong. */
export interface ChangeListener {
  evict(change: Change): void
  /** The sequence has a hole where this node was not looking (rows pruned): forget everything. */
  evictAll(): void
}

/** The changes a batch of the committer records, written in its transaction just before the commit. */
export class ChangeBatch {
  private readonly pending: Change[] = []

  constructor(private readonly target: QueryTarget) {}

  /** Records that `change` happens in this unit: it is written, and other nodes told, only if the unit commits. */
  record(change: Change): void {
    this.pending.push(change)
  }

  get recorded(): readonly Change[] {
    return this.pending
  }

  checkpoint(): number {
    return this.pending.length
  }

  /** Forgets what a unit recorded when its savepoint is rolled back. */
  restore(mark: number): void {
    this.pending.length = mark
  }

  /**
   * Numbers the changes and writes them. The numbers come from one counter row, advanced and so
   * row-locked until the commit: batches that record changes commit in the order of their numbers,
   * so a node that has read up to `n` has seen every change numbered `n` or less (a sequence would
   * hand out numbers in the order transactions asked, not the order they commit). Called after
   * every other statement of the batch, so the lock is the last one a batch takes and cannot be
   * part of a deadlock.
   */
  async finish(trx: Kysely<Database>, now: number): Promise<void> {
    const n = this.pending.length
    if (n === 0) return
    const head = await advanceHead.first(this.target, trx, { n })
    if (!head) throw new Error('the change_head row is missing')
    const first = Number(head.seq) - n + 1
    await trx
      .insertInto('changes')
      .values(
        this.pending.map((c, i) => ({
          seq: first + i,
          instance_id: c.instanceId,
          kind: c.kind,
          key: c.key,
          at: now,
        })),
      )
      .execute()
  }
}

const advanceHead = prepare(['n'], (db, p) =>
  db
    .updateTable('change_head')
    .set((eb) => ({ seq: eb('seq', '+', p.n) }))
    .where('id', '=', 1)
    .returning('seq'),
)

const readHead = prepare([], (db) => db.selectFrom('change_head').select('seq').where('id', '=', 1))

/** Rows read per round trip while catching up. */
const PAGE = 500

/**
 * The changes from `seq` on, a page at a time, each row with the sequence's head; with none, one
 * row of the head alone (its change columns null): one statement either way.
 */
const changesSince = prepare(['seq'], (db, p) =>
  db
    .selectFrom('change_head as h')
    .leftJoin('changes as c', (join) => join.on('c.seq', '>=', p.seq))
    .select([
      'h.seq as head',
      'c.seq as seq',
      'c.instance_id as instance_id',
      'c.kind as kind',
      'c.key as key',
      'c.at as at',
    ])
    .where('h.id', '=', 1)
    .orderBy('c.seq')
    .limit(PAGE),
)

/** What `/readyz` and the metrics say about a node's place in the change sequence. */
export interface ChangeFeedHealth {
  /** The last change this node has applied. */
  readonly seq: number
  /** When it last read the sequence successfully (0: never). */
  readonly lastReadAt: number
  /** The driver's error code of the last failed read, until a read succeeds. */
  readonly error: string | null
}

/**
 * This node's reader of the durable change sequence (table `changes`). `sync()` resolves once
 * every change committed before it was called has been applied to this node's caches; a cache
 * calls it before it trusts an entry that another node's change could have made wrong. The read
 * is one indexed range scan that returns no row when nothing changed; concurrent callers share it
 * (at most one read in flight and one queued behind it). After an outage or a lost connection
 * nothing is missed: the sequence is durable and read from where this node left off.
 */
export class ChangeFeed {
  private seen = 0
  /** What the change numbered `seen` said (kind, instance, key, time), once this node applied it. */
  private seenRow: string | null = null
  private readonly listeners = new Map<ChangeKind, ChangeListener[]>()
  private reading: Promise<void> | null = null
  private queued: Promise<void> | null = null
  private lastReadAt = 0
  private error: string | null = null
  /** Reads of the sequence made (each one round trip or more): the tests and the metrics count them. */
  reads = 0

  /**
   * `solitary`: this process is the database's only writer (the embedded SQLite default), so every
   * change there is its own and reached its caches through `committed()` as it committed: `sync()`
   * has nothing to read. Measured: the read before each token is signed cost the token endpoint
   * about 15% of its throughput on SQLite (`npm run bench`), for no change it could ever find.
   */
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly options: { readonly solitary?: boolean } = {},
  ) {}

  /** Starts at the current end of the sequence: nothing is cached yet, so nothing is owed. */
  async start(): Promise<void> {
    const head = await readHead.first(this.store, this.store.db, {})
    this.seen = head ? Number(head.seq) : 0
    this.lastReadAt = this.now()
  }

  /** Whether this process is the database's only writer (see the constructor). */
  get solitary(): boolean {
    return this.options.solitary === true
  }

  on(kind: ChangeKind, listener: ChangeListener): void {
    const list = this.listeners.get(kind) ?? []
    list.push(listener)
    this.listeners.set(kind, list)
  }

  health(): ChangeFeedHealth {
    return { seq: this.seen, lastReadAt: this.lastReadAt, error: this.error }
  }

  /**
   * Resolves once every change committed before this call is applied here; rejects with 503
   * `ServiceUnavailable` when the database cannot be read (a cache must not answer from memory
   * then). A read already in flight may have started before a change this caller must see, so
   * callers arriving during one share the next.
   */
  sync(): Promise<void> {
    if (this.options.solitary) return Promise.resolve()
    if (this.queued) return this.queued
    if (this.reading) {
      const next = this.reading
        .catch(() => {})
        .then(() => {
          this.queued = null
          return this.read()
        })
      this.queued = next
      return next
    }
    return this.read()
  }

  /**
   * Reads the sequence even when `solitary`: readiness asks whether the database answers, and on
   * several nodes whether this one has caught up.
   */
  probe(): Promise<void> {
    return this.options.solitary ? this.read() : this.sync()
  }

  /** Applies the changes this node's committer just committed, before their units are answered. */
  committed(changes: readonly Change[]): void {
    for (const change of changes) this.apply(change)
  }

  private read(): Promise<void> {
    const reading = this.catchUp().finally(() => {
      if (this.reading === reading) this.reading = null
    })
    this.reading = reading
    return reading
  }

  private async catchUp(): Promise<void> {
    try {
      for (;;) {
        this.reads++
        // From the last change seen, inclusive: it is read again to check that it is still the
        // one this node applied (`seenRow`), as numbers alone cannot tell a sequence that went
        // back and then past this node's number again (a failover to a replica that lacked the
        // last commits, then new ones) from the sequence this node followed.
        const rows = await changesSince.all(this.store, this.store.db, { seq: this.seen })
        const head = Number(rows[0]?.head ?? 0)
        let lost = false
        const forget = () => {
          if (lost) return
          lost = true
          this.evictAll()
        }
        if (head < this.seen) {
          // The sequence went back: the database was restored, or failed over to a replica that
          // had not received its last commits. Changes numbered up to what this node has seen
          // would be skipped as seen: what it holds is forgotten, and the next read goes on from
          // the head (not this one: the table may hold rows past its head, which no commit makes).
          forget()
          this.seen = head
          this.seenRow = null
          break
        }
        let read = 0
        for (const row of rows) {
          if (row.seq === null) break
          read++
          const seq = Number(row.seq)
          const identity = `${row.kind}\u0000${row.instance_id}\u0000${row.key}\u0000${row.at}`
          if (seq === this.seen) {
            // The change this node saw last: another one under its number is another history.
            if (this.seenRow !== null && identity !== this.seenRow) forget()
            continue
          }
          // Past the head: rows no commit made (the head moves with every insert). Nothing more
          // of them is trusted; the next read starts again from here.
          if (seq > head) {
            forget()
            break
          }
          // Numbers are handed out without gaps: a hole means rows were pruned before this node
          // read them (it was away that long), anywhere in the page. What they said is lost, so
          // everything goes (once: the rest of the page is applied on an empty cache).
          if (seq !== this.seen + 1) forget()
          this.apply({ kind: row.kind as ChangeKind, instanceId: row.instance_id!, key: row.key! })
          this.seen = seq
          this.seenRow = identity
        }
        if (read < PAGE || this.seen >= head) break
      }
      this.lastReadAt = this.now()
      this.error = null
    } catch (err) {
      this.error = errorCode(err)
      throw new ServiceUnavailable(
        'the database does not answer, so this node cannot tell whether what it holds in memory is current',
        err,
      )
    }
  }

  private evictAll(): void {
    for (const list of this.listeners.values()) for (const l of list) l.evictAll()
  }

  private apply(change: Change): void {
    for (const listener of this.listeners.get(change.kind) ?? []) listener.evict(change)
  }
}

/** The driver's error code, found through `cause`, or a fixed phrase: nothing that could carry a value. */
function errorCode(cause: unknown): string {
  let err: unknown = cause
  for (let depth = 0; depth < 5 && err instanceof Error; depth++) {
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string' && code !== '' && !(err instanceof PamError)) return code
    err = err.cause
  }
  return 'the database does not answer'
}
