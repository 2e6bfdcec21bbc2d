import type { AuditOutcome } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { AuditUnavailable, InvalidToken } from '../errors.js'
import type { Dialect, Store } from '../store/connect.js'
import { prepare, type QueryTarget } from '../store/prepared.js'
import type { Database } from '../store/schema.js'
import { canonicalJson } from './canonical-json.js'
import {
  type AuditDetails,
  CHAINED_FIELDS,
  type ChainedFields,
  eventHash,
  GENESIS_HASH,
  SYSTEM_CHAIN,
} from './chain.js'

/** Who did it: an admin token, an application, or the system itself. */
export interface Actor {
  type: 'admin_token' | 'application' | 'system' | 'anonymous'
  id: string
}

/** Where a request came from, copied onto its events. */
export interface RequestMeta {
  requestId: string | null
  sourceIp: string | null
  userAgent: string | null
}

/** What a service says happened. Never a secret value: `details` holds ids, versions and counts. */
export interface AuditInput {
  instanceId: string
  actor: Actor
  action: string
  resource?: { type: string; id: string }
  outcome: AuditOutcome
  reason?: string | null
  details?: AuditDetails
  request?: RequestMeta
}

interface Head {
  seq: number
  hash: string
}

const MAX_USER_AGENT = 256

/**
 * A column's text as both engines will store it, so that the hash covers what is stored. A lone
 * surrogate (one half of a pair, as in a client id cut at a length limit or sent as `\ud800`)
 * has no UTF-8 form: SQLite would store three bytes that read back as something else, PostgreSQL
 * U+FFFD, while the hash saw its `\ud800` escape, and the event would no longer verify. Made
 * well formed (U+FFFD) before hashing, as it is stored; NUL too. `details` needs nothing: its canonical JSON
 * escapes a lone surrogate in ASCII and is stored as that text.
 */
function text(value: string): string {
  const wellFormed = value.isWellFormed() ? value : value.toWellFormed()
  // NUL, which PostgreSQL's text cannot hold: the insert would fail, and with it the whole batch
  // the event is in (events are inserted together). Made U+FFFD before hashing, as stored.
  return wellFormed.includes('\0') ? wellFormed.replaceAll('\0', '\uFFFD') : wellFormed
}

function textOrNull(value: string | null | undefined): string | null {
  return value == null ? null : text(value)
}

// The batch's statements, compiled once per dialect (store/prepared.ts).
const selectHead = prepare(['instanceId'], (db, p, dialect) => {
  const query = db.selectFrom('audit_heads').select(['seq', 'hash']).where('instance_id', '=', p.instanceId)
  // PostgreSQL: nodes serialise per instance on the head row until the batch commits.
  return dialect === 'postgres' ? query.forUpdate() : query
})

/**
 * An admin token's revocation and expiry, read under a share lock on PostgreSQL: a revocation's
 * update of the row waits for this batch, or this read waits for its commit and sees it.
 */
const adminTokenState = prepare(['id'], (db, p, dialect) => {
  const query = db.selectFrom('admin_tokens').select(['revoked_at', 'expires_at']).where('id', '=', p.id)
  return dialect === 'postgres' ? query.forShare() : query
})

/**
 * An admin token revoked (or expired) after its request was authenticated: that request makes
 * no change. 401, as the next request with it gets.
 */
export class AdminTokenRevokedMeanwhile extends InvalidToken {}

/** PostgreSQL only: the same lock, refused at once (55P03) rather than waited for. */
const selectHeadNoWait = prepare(['instanceId'], (db, p) =>
  db
    .selectFrom('audit_heads')
    .select(['seq', 'hash'])
    .where('instance_id', '=', p.instanceId)
    .forUpdate()
    .noWait(),
)

/**
 * A chain head another transaction holds, wanted out of order (see `AuditBatch`): the unit is
 * given up and runs again in the next batch, which locks `chain` first.
 */
export class ChainHeadBusy extends Error {
  constructor(
    readonly chain: string,
    options: ErrorOptions,
  ) {
    super(`the audit chain head of ${chain} is held by another transaction`, options)
    this.name = 'ChainHeadBusy'
  }
}

const updateHead = prepare(['instanceId', 'seq', 'hash'], (db, p) =>
  db.updateTable('audit_heads').set({ seq: p.seq, hash: p.hash }).where('instance_id', '=', p.instanceId),
)

/** An event as `append` made it, waiting for `finish()` to insert it. */
type EventRow = Omit<ChainedFields, 'details'> & { details: string; prevHash: string; hash: string }

/** What `checkpoint` marks and `restore` goes back to. */
interface BatchMark {
  heads: Map<string, Head>
  dirty: Set<string>
  events: number
}

/** Events per multi-row insert on PostgreSQL: 16 parameters each, far below its 65,535. */
const INSERT_ROWS = 500

function eventColumns(p: EventRow) {
  return {
    instance_id: p.instanceId,
    seq: p.seq,
    time: p.time,
    actor_type: p.actorType,
    actor_id: p.actorId,
    action: p.action,
    resource_type: p.resourceType,
    resource_id: p.resourceId,
    outcome: p.outcome,
    reason: p.reason,
    request_id: p.requestId,
    source_ip: p.sourceIp,
    user_agent: p.userAgent,
    details: p.details,
    prev_hash: p.prevHash,
    hash: p.hash,
  }
}

const insertEvent = prepare([...CHAINED_FIELDS, 'prevHash', 'hash'], (db, p) =>
  db.insertInto('audit_events').values(eventColumns(p as unknown as EventRow)),
)

/**
 * Appends events to per-instance hash chains inside one group-commit transaction. The head of
 * each chain is read once per batch (row-locked on PostgreSQL so that nodes serialise per
 * instance), advanced in memory, and written back by `finish()` just before the commit.
 * `checkpoint`/`restore` undo the heads of a unit of work whose savepoint was rolled back.
 *
 * Lock order (PostgreSQL). A batch locks heads as its units first touch them, so two nodes'
 * batches serving the same instances in other orders would lock them in other orders and
 * deadlock, each costing PostgreSQL's `deadlock_timeout` (a second by default) before one is
 * broken: with several busy instances nearly every batch did. So a batch waits for a head only
 * when every head it holds sorts before it; a head wanted out of that order is asked for with
 * NOWAIT, and if another transaction has it the unit is given up (`ChainHeadBusy`) and runs
 * again in the next batch, which takes that head first. Every wait is then for a head above all
 * the waiter holds, so waits cannot form a cycle.
 */
export class AuditBatch {
  private heads = new Map<string, Head>()
  private dirty = new Set<string>()
  /**
   * The batch's events, inserted by `finish()` just before the commit rather than one statement
   * each as they are appended: on PostgreSQL each statement is a round trip inside the batch,
   * whose units run one after another, and one multi-row insert replaces a round trip per unit.
   * Nothing reads a batch's own events back before it commits (the key index and archiving read
   * what was committed), and a unit rolled back drops its events with its heads (`restore`).
   */
  private events: EventRow[] = []

  private readonly target: QueryTarget

  /**
   * `store`, when given, lets the batch's statements take the store's direct path (SQLite): the
   * committer passes it; without it they go through Kysely, compiled once all the same.
   */
  constructor(
    private readonly trx: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly now: () => number,
    store?: Store,
  ) {
    this.target = store && store.dialect === dialect ? store : { dialect }
  }

  checkpoint(): BatchMark {
    return { heads: new Map(this.heads), dirty: new Set(this.dirty), events: this.events.length }
  }

  restore(mark: BatchMark): void {
    this.heads = mark.heads
    this.dirty = mark.dirty
    this.events.length = mark.events
  }

  /**
   * Appends to the chain of `input.instanceId`. Chains are created with their instance, never
   * here: an event for an instance with no chain (a refused request naming an instance that does
   * not exist) goes to the system chain with the instance id as data, so no caller can create
   * chains, or fill the database with them, through refusals.
   */
  async append(input: AuditInput): Promise<{ seq: number; hash: string }> {
    try {
      let chain = input.instanceId
      let head = this.heads.get(chain) ?? (await this.loadHead(chain))
      let extra: AuditDetails | null = null
      if (head === null) {
        chain = SYSTEM_CHAIN
        head = this.heads.get(chain) ?? (await this.loadHead(chain))!
        extra = { instanceId: input.instanceId.slice(0, 64) }
      }
      // A change made with an admin token: the token is read again here, in the batch, once the
      // chain's head is held. It was checked as its request arrived, and its revocation audits the
      // system chain, which the change's unit need not hold: a request past its check when the
      // revocation was acknowledged (on another node, say) made its change afterwards (found by a
      // review racing the two). Not for the token's own revocation, which comes after its update.
      if (
        input.actor.type === 'admin_token' &&
        input.outcome === 'success' &&
        !(input.resource?.type === 'admin_token' && input.resource.id === input.actor.id)
      ) {
        await this.requireLiveAdminToken(input.actor.id)
      }
      const fields: ChainedFields = {
        instanceId: chain,
        seq: head.seq + 1,
        time: this.now(),
        actorType: input.actor.type,
        actorId: text(input.actor.id),
        action: input.action,
        resourceType: input.resource?.type ?? null,
        resourceId: textOrNull(input.resource?.id),
        outcome: input.outcome,
        reason: textOrNull(input.reason),
        requestId: textOrNull(input.request?.requestId),
        sourceIp: textOrNull(input.request?.sourceIp),
        userAgent: textOrNull(input.request?.userAgent?.slice(0, MAX_USER_AGENT)),
        details: extra ? { ...input.details, ...extra } : (input.details ?? {}),
      }
      const details = canonicalJson(fields.details)
      const hash = eventHash(head.hash, fields, details)
      this.events.push({ ...fields, details, prevHash: head.hash, hash })
      this.heads.set(chain, { seq: fields.seq, hash })
      this.dirty.add(chain)
      return { seq: fields.seq, hash }
    } catch (err) {
      throw err instanceof AuditUnavailable ||
        err instanceof ChainHeadBusy ||
        err instanceof AdminTokenRevokedMeanwhile
        ? err
        : new AuditUnavailable(err)
    }
  }

  /**
   * Throws when the admin token is revoked or expired. One with no row is not judged here (admin
   * tokens are revoked, never deleted, and a request cannot authenticate with one that has none):
   * events written with a made-up actor, as tests write, pass.
   */
  private async requireLiveAdminToken(id: string): Promise<void> {
    const row = await adminTokenState.first(this.target, this.trx, { id })
    if (!row) return
    const expired = row.expires_at != null && Number(row.expires_at) <= this.now()
    if (row.revoked_at !== null || expired) throw new AdminTokenRevokedMeanwhile()
  }

  /**
   * Reads the chain head of `instanceId` now, as the first `append` for it would (on PostgreSQL
   * locking it until the batch commits), without appending anything. What a unit reads after
   * this cannot be changed before the batch commits by another batch that audits the same
   * instance: that one either committed before, and is seen, or waits for the lock.
   */
  async hold(instanceId: string): Promise<void> {
    if (this.heads.has(instanceId)) return
    try {
      const head = await this.loadHead(instanceId)
      if (head) this.heads.set(instanceId, head)
    } catch (err) {
      throw err instanceof AuditUnavailable || err instanceof ChainHeadBusy ? err : new AuditUnavailable(err)
    }
  }

  /**
   * The batch's events, in the order they were appended. PostgreSQL: multi-row inserts, one round
   * trip per `INSERT_ROWS` events. SQLite, where a statement costs no round trip: the prepared
   * one-row insert on the store's direct path, as each append once ran it.
   */
  private async insertEvents(): Promise<void> {
    const events = this.events
    this.events = []
    if (this.dialect !== 'postgres') {
      for (const event of events) await insertEvent.all(this.target, this.trx, event)
      return
    }
    for (let from = 0; from < events.length; from += INSERT_ROWS) {
      await this.trx
        .insertInto('audit_events')
        .values(events.slice(from, from + INSERT_ROWS).map(eventColumns))
        .execute()
    }
  }

  /** Whether waiting for `chain`'s head could close a cycle: the batch holds a head after it. */
  private outOfOrder(chain: string): boolean {
    if (this.dialect !== 'postgres') return false
    for (const held of this.heads.keys()) if (held > chain) return true
    return false
  }

  /**
   * Writes the batch's events and the advanced heads. Called once per batch, inside its
   * transaction, before commit.
   */
  async finish(): Promise<void> {
    try {
      await this.insertEvents()
      for (const instanceId of this.dirty) {
        const head = this.heads.get(instanceId)!
        await updateHead.all(this.target, this.trx, { instanceId, seq: head.seq, hash: head.hash })
      }
    } catch (err) {
      throw new AuditUnavailable(err)
    }
  }

  /** The head of an existing chain; `null` when there is none. Only the system chain is made here. */
  private async loadHead(instanceId: string): Promise<Head | null> {
    const row = this.outOfOrder(instanceId)
      ? await selectHeadNoWait.first(this.target, this.trx, { instanceId }).catch((err: unknown) => {
          if ((err as { code?: unknown }).code === '55P03')
            throw new ChainHeadBusy(instanceId, { cause: err })
          throw err
        })
      : await selectHead.first(this.target, this.trx, { instanceId })
    if (row) return { seq: Number(row.seq), hash: row.hash }
    if (instanceId !== SYSTEM_CHAIN) return null
    await this.trx
      .insertInto('audit_heads')
      .values({ instance_id: instanceId, seq: 0, hash: GENESIS_HASH })
      .execute()
    return { seq: 0, hash: GENESIS_HASH }
  }
}
