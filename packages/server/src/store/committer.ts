import { CompiledQuery, type Kysely } from 'kysely'
import { AuditBatch, ChainHeadBusy } from '../audit/appender.js'
import { AuditUnavailable, PamError, ServiceUnavailable } from '../errors.js'
import { type Change, ChangeBatch } from './changes.js'
import type { Store } from './connect.js'
import { DatabaseUnavailable, isDatabaseUnavailable, isTransientConflict } from './postgres-pool.js'
import type { Database } from './schema.js'

/** What a unit of work may touch: the batch transaction and the audit chain inside it. */
export interface Unit {
  readonly trx: Kysely<Database>
  readonly audit: AuditBatch
  /** Where a unit records a change other nodes must hear of (store/changes.ts), in the same commit. */
  readonly changes: ChangeBatch
}

export type Work<T> = (unit: Unit) => Promise<T>

interface Pending {
  work: Work<unknown>
  resolve: (value: unknown) => void
  reject: (reason: unknown) => void
  /** How many times the unit was given up to another node's transaction and queued again. */
  conflicts?: number
  /** Chain heads it was refused out of order (audit/appender.ts): its next batch locks them first. */
  chains?: string[]
}

/**
 * How many times a unit is run again after it was given up to another transaction: a chain head
 * it wanted out of order was held (audit/appender.ts), or PostgreSQL broke a deadlock or a
 * serialization failure (through other rows than chain heads).
 */
const MAX_CONFLICT_RETRIES = 3

/** Whether this node can write: what `/readyz` reports. */
export interface WriteHealth {
  readonly ok: boolean
  /** Why the last write failed, as safe to show an unauthenticated caller (an error code). */
  readonly reason: string | null
  /** When a batch in which some unit succeeded last committed (0: not since start). */
  readonly lastCommitAt: number
}

/** Told about every batch once it is settled: the metrics' commit latency and group sizes. */
export interface CommitObserver {
  /** A batch of `units` was committed `seconds` after its transaction began. */
  committed(units: number, seconds: number): void
  /** A batch could not be committed: nothing of it is on disk. */
  failed(): void
  /** With a write lock: a batch waited `waited` seconds for it, then held it `held` seconds. */
  locked?(waited: number, held: number): void
}

export interface CommitterOptions {
  now: () => number
  /** Units per transaction at most. */
  maxBatch?: number
  observer?: CommitObserver
  /** Told the changes a batch recorded once it has committed, before its units are answered. */
  onChanges?: (changes: readonly Change[]) => void
  /**
   * Held by each batch from before its BEGIN until its COMMIT has returned (not during a deferred
   * sync): the worker processes of one server on one SQLite file take turns through it
   * (cluster/write-lock.ts). Without it they would meet at the file's own lock, and SQLite waits
   * for that by sleeping (a millisecond and more) on the event loop.
   */
  writeLock?: WriteLock
}

/** A lock shared by the writers of one database (see `CommitterOptions.writeLock`). */
export interface WriteLock {
  /** Resolves once this holder has the lock; rejects when it can no longer be had (ServiceUnavailable). */
  acquire(): Promise<void>
  release(): void
  /** Whether this holder has the lock now (granted and not yet given back). */
  holds(): boolean
}

/**
 * Group commit. Writes from concurrent requests queue here and run together in one transaction,
 * each in its own savepoint, so one commit (one fsync) makes a whole batch durable while a unit
 * that fails rolls back alone. A unit's promise settles only after the commit: nothing is
 * answered 2xx before it is on disk. Units must use `unit.trx` only — on SQLite the batch holds
 * the one connection, so a query through the pool from inside a unit would wait forever.
 */
export class Committer {
  private queue: Pending[] = []
  private running: Promise<void> | null = null
  private closed = false
  private readonly maxBatch: number
  private failure: string | null = null
  private lastCommitAt = 0
  private probing: Promise<void> | null = null
  /**
   * SQLite: until when (performance.now) writes are refused at once because another process held
   * the file's write lock past the busy timeout, and why. SQLite waits for that lock by sleeping on
   * the event loop, so each batch that tried again would stop every request for the whole timeout.
   */
  private lockedUntil = 0
  private lockedBy: unknown = null
  /** Batches committed whose sync to disk has not returned yet (SQLite's deferred sync). */
  private readonly syncing = new Set<Promise<void>>()

  constructor(
    private readonly store: Store,
    private readonly options: CommitterOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 256
  }

  /** Units waiting for a batch to take them (not those of the batch running now). */
  get queueDepth(): number {
    return this.queue.length
  }

  run<T>(work: Work<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ServiceUnavailable('the server is shutting down'))
    const unsynced = this.store.deferredSync?.failure
    if (unsynced) {
      // What `/readyz` reports, also when the failure was another process's (`failShared`).
      this.failure = failureCode(unsynced)
      return Promise.reject(new AuditUnavailable(unsynced))
    }
    if (this.lockedUntil > performance.now()) {
      return Promise.reject(
        new DatabaseUnavailable(
          `the database is locked by another process: writes are refused for ${LOCKED_COOLDOWN_MS / 1000} s at a time while it is; retry later`,
          this.lockedBy,
        ),
      )
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject })
      if (!this.running) this.running = this.loop()
    })
  }

  health(): WriteHealth {
    return { ok: this.failure === null, reason: this.failure, lastCommitAt: this.lastCommitAt }
  }

  /**
   * Commits a one-row write (no audit event) through the same queue and connection as every
   * other write, so a failing disk, a file-size limit or a database that refuses writes shows
   * here as it would for a real request. Concurrent callers share one probe.
   */
  probe(): Promise<WriteHealth> {
    this.probing ??= this.run(async ({ trx }) => {
      await trx
        .insertInto('meta')
        .values({ key: 'write_probe', value: String(this.options.now()) })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: (eb) => eb.ref('excluded.value') }))
        .execute()
    })
      // Not dropped: a failed probe is what `health()` reports from now on (until a batch in which
      // some unit succeeded commits), also when it was refused alone and its batch's COMMIT, of
      // nothing, succeeded.
      .catch((err: unknown) => {
        this.failure = failureCode(err)
      })
      .finally(() => {
        this.probing = null
      })
    return this.probing.then(() => this.health())
  }

  /** Refuses new work and waits until everything queued is committed or refused. */
  async close(): Promise<void> {
    this.closed = true
    while (this.running) await this.running
    await Promise.allSettled([...this.syncing])
  }

  private async loop(): Promise<void> {
    // Let the current turn of the event loop enqueue more work before the first batch starts.
    await new Promise<void>((resolve) => setImmediate(resolve))
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch)
        await this.runBatch(batch)
      }
    } finally {
      this.running = null
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const lock = this.options.writeLock
    if (!lock) return this.runTransaction(batch, null)
    const asked = performance.now()
    try {
      await lock.acquire()
    } catch (err) {
      this.failure = failureCode(err)
      this.options.observer?.failed()
      for (const p of batch) p.reject(err)
      return
    }
    const granted = performance.now()
    let held = true
    const release = () => {
      if (!held) return
      held = false
      lock.release()
      this.options.observer?.locked?.((granted - asked) / 1000, (performance.now() - granted) / 1000)
    }
    try {
      await this.runTransaction(batch, release)
    } finally {
      release()
    }
  }

  /**
   * One batch's transaction. `release`: the write lock this batch holds, given back as soon as its
   * COMMIT has returned (the sync to disk that follows needs no lock); null without one.
   */
  private async runTransaction(batch: Pending[], release: (() => void) | null): Promise<void> {
    const started = performance.now()
    let trx: Awaited<ReturnType<ReturnType<Kysely<Database>['startTransaction']>['execute']>>
    try {
      trx = await this.store.db.startTransaction().execute()
    } catch (err) {
      this.failure = failureCode(err)
      this.options.observer?.failed()
      for (const p of batch) p.reject(new ServiceUnavailable('the database cannot start a transaction', err))
      this.refuseWaiting(err)
      return
    }
    const audit = new AuditBatch(trx, this.store.dialect, this.options.now, this.store)
    const changes = new ChangeBatch(this.store)
    const unit: Unit = { trx, audit, changes }
    const done: { pending: Pending; value: unknown }[] = []
    // Units given up to another node's transaction, back at the head of the queue (in their
    // order) for the next batch: if this batch is abandoned they are not refused with it, as they
    // will run again (or be refused with the queue, if the database is gone).
    const requeued = new Set<Pending>()
    const others = (failed: Pending) => batch.filter((p) => p !== failed && !requeued.has(p))
    // The heads units of this batch were refused out of order last time, taken first and in order,
    // so that those units now find them held and wait for nothing out of order.
    const first = [...new Set(batch.flatMap((p) => p.chains ?? []))].sort()
    try {
      for (const chain of first) await audit.hold(chain)
    } catch (err) {
      await this.abandon(trx, batch, err)
      return
    }
    // The savepoint of the unit that last succeeded, not yet released. On PostgreSQL every
    // statement is a round trip inside the batch, and the batch's units run one after another:
    // its release and the next unit's savepoint go as one (a simple query of two statements),
    // and the last unit's is released by COMMIT, which ends every savepoint (one round trip a
    // unit fewer, of about six on ObtainCredential).
    let unreleased: OpenUnit | null = null
    for (const pending of batch) {
      let mark = audit.checkpoint()
      let changeMark = changes.checkpoint()
      try {
        await this.nextSavepoint(trx, unreleased !== null)
      } catch (err) {
        // A release that fails is the previous unit's doing (on PostgreSQL, a statement of it
        // failed and it went on, which leaves the transaction aborted): that unit alone is undone,
        // as a unit that throws is, and this one runs in the savepoint rolled back to.
        const undone = unreleased !== null && (await this.undoUnit(unit, unreleased, done, err))
        if (!undone) {
          await this.abandon(
            trx,
            batch.filter((p) => !requeued.has(p)),
            err,
          )
          return
        }
        mark = unreleased!.mark
        changeMark = unreleased!.changeMark
      }
      unreleased = null
      try {
        const value = await pending.work(unit)
        unreleased = { pending, mark, changeMark }
        done.push({ pending, value })
      } catch (err) {
        audit.restore(mark)
        changes.restore(changeMark)
        const busy = err instanceof ChainHeadBusy
        if (busy) pending.chains = [...(pending.chains ?? []), err.chain]
        const conflict = busy || isTransientConflict(err)
        if (isDatabaseUnavailable(err) && !conflict) {
          // The next unit would wait for the same timeout (on SQLite, for the same lock another
          // connection holds): the whole batch is refused now, and rolled back, so nothing of it is
          // written. Its units are answered 503 with `Retry-After`.
          pending.reject(refusal(err))
          await this.abandon(trx, others(pending), err)
          return
        }
        try {
          await this.statement(trx, 'rollback to savepoint sr_unit')
          await this.statement(trx, 'release savepoint sr_unit')
        } catch (rollbackErr) {
          pending.reject(err)
          await this.abandon(trx, others(pending), rollbackErr)
          return
        }
        if (conflict) {
          // Given up to another node's batch (its locks released by the rollback above, so that
          // batch goes on): the rest of this batch commits, and this unit runs again in the next,
          // after the other has committed. Not an outage: nothing else is refused.
          const conflicts = (pending.conflicts ?? 0) + 1
          if (conflicts <= MAX_CONFLICT_RETRIES) {
            pending.conflicts = conflicts
            this.queue.splice(requeued.size, 0, pending)
            requeued.add(pending)
            continue
          }
          pending.reject(
            new ServiceUnavailable('the database gave this write up to concurrent ones; retry', err),
          )
          continue
        }
        pending.reject(err)
      }
    }
    // The last unit's savepoint: released by COMMIT on SQLite; on PostgreSQL released here (one
    // round trip a batch), so that a unit that left the transaction aborted is undone alone.
    if (unreleased !== null && this.store.dialect === 'postgres') {
      try {
        await this.statement(trx, 'release savepoint sr_unit')
      } catch (err) {
        if (!(await this.undoUnit(unit, unreleased, done, err))) {
          await this.abandon(
            trx,
            done.map((d) => d.pending),
            err,
          )
          return
        }
      }
    }
    // Synced in place unless the disk has been slow (CommitSyncPolicy): before COMMIT returns, or,
    // when a write lock is held, right after it is released, so other writers need not wait for
    // this batch's disk.
    const walSync = this.store.deferredSync
    const deferred = walSync?.deferring ? walSync : undefined
    const syncAfterRelease = walSync && !deferred && release ? walSync : undefined
    try {
      await audit.finish()
      await changes.finish(trx, this.options.now())
      const commit = () => trx.commit().execute()
      if (deferred || syncAfterRelease) await walSync!.commitUnsynced(commit)
      else if (walSync) await walSync.commitInPlace(commit)
      else await commit()
    } catch (err) {
      await this.abandon(
        trx,
        done.map((d) => d.pending),
        err,
      )
      return
    }
    // Committed: what this process keeps in memory follows the database at once, before the
    // commit reaches the disk, as the next batch reads the database as committed.
    if (changes.recorded.length > 0) this.options.onChanges?.(changes.recorded)
    const settle = () => {
      // Writing works only if something was written: a batch whose every unit was refused
      // commits an empty transaction, which neither clears a failure nor spares `/readyz` its probe.
      if (done.length > 0) {
        this.failure = null
        this.lastCommitAt = this.options.now()
      }
      this.options.observer?.committed(batch.length, (performance.now() - started) / 1000)
      for (const { pending, value } of done) pending.resolve(value)
    }
    release?.()
    if (syncAfterRelease) {
      try {
        syncAfterRelease.syncInPlace()
      } catch (err) {
        this.failure = failureCode(err)
        this.options.observer?.failed()
        for (const { pending } of done) pending.reject(new AuditUnavailable(err))
        return
      }
    }
    if (!deferred) {
      settle()
      return
    }
    // Answered once on disk; meanwhile the loop runs the next batch, the event loop never waits
    // for the disk. A failed sync is final (see WalSync): every write after it fails too.
    const synced = deferred.syncCommitted().then(settle, (err: unknown) => {
      this.failure = failureCode(err)
      this.options.observer?.failed()
      for (const { pending } of done) pending.reject(new AuditUnavailable(err))
    })
    this.syncing.add(synced)
    void synced.finally(() => this.syncing.delete(synced))
  }

  /**
   * Undoes a unit that completed but whose savepoint could not be released: rolls back to it,
   * drops its events and changes, and refuses it (as the unit that throws is refused). False when
   * even the rollback fails: the caller abandons the batch.
   */
  private async undoUnit(
    { trx, audit, changes }: Unit,
    open: OpenUnit,
    done: { pending: Pending; value: unknown }[],
    cause: unknown,
  ): Promise<boolean> {
    try {
      await this.statement(trx, 'rollback to savepoint sr_unit')
    } catch {
      return false
    }
    audit.restore(open.mark)
    changes.restore(open.changeMark)
    const at = done.findIndex((d) => d.pending === open.pending)
    if (at >= 0) done.splice(at, 1)
    open.pending.reject(refusal(cause))
    return true
  }

  /**
   * Opens the next unit's savepoint, releasing the previous one's first if it is still open: in
   * one round trip on PostgreSQL; on SQLite, whose direct path runs one statement at a time and
   * costs no round trip, as two statements.
   */
  private async nextSavepoint(trx: Kysely<Database>, releaseFirst: boolean): Promise<void> {
    if (!releaseFirst) return this.statement(trx, 'savepoint sr_unit')
    if (this.store.dialect === 'postgres') {
      await trx.executeQuery(CompiledQuery.raw('release savepoint sr_unit; savepoint sr_unit'))
      return
    }
    await this.statement(trx, 'release savepoint sr_unit')
    await this.statement(trx, 'savepoint sr_unit')
  }

  /**
   * A fixed statement of the batch. On SQLite a savepoint costs about a microsecond in the engine
   * but a few dozen through Kysely's executor, twice per unit: it takes the store's direct path.
   */
  private async statement(trx: Kysely<Database>, text: string): Promise<void> {
    if (this.store.runCompiled?.(trx, text, [])) return
    await trx.executeQuery(CompiledQuery.raw(text))
  }

  private async abandon(
    trx: { rollback(): { execute(): Promise<void> } },
    pending: Pending[],
    cause: unknown,
  ) {
    this.failure = failureCode(cause)
    try {
      await trx.rollback().execute()
    } catch {
      // The connection is already gone; nothing was committed either way.
    }
    this.options.observer?.failed()
    const error = refusal(cause)
    for (const p of pending) p.reject(error)
    if (isDatabaseUnavailable(cause)) this.refuseWaiting(cause)
  }

  /**
   * The database is unavailable: the units queued behind the failed batch are refused now (503)
   * rather than each waiting out the same timeout in the next batch, so no request waits longer
   * than about one statement or connect timeout.
   */
  private refuseWaiting(cause: unknown): void {
    if (isSqliteLocked(cause)) {
      this.lockedUntil = performance.now() + LOCKED_COOLDOWN_MS
      this.lockedBy = cause
    }
    for (const p of this.queue.splice(0)) {
      p.reject(new ServiceUnavailable('the database is unavailable; retry later', cause))
    }
  }
}

/** A unit that completed, its savepoint not yet released, and where the batch stood before it. */
interface OpenUnit {
  pending: Pending
  mark: ReturnType<AuditBatch['checkpoint']>
  changeMark: ReturnType<ChangeBatch['checkpoint']>
}

/** How long writes are refused at once after another process's lock made a batch fail (SQLite). */
export const LOCKED_COOLDOWN_MS = 1_000

/** Whether `err` (or its cause) is SQLite's busy or locked: another connection holds the file's lock. */
function isSqliteLocked(err: unknown): boolean {
  let current: unknown = err
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code)) return true
    current = current.cause
  }
  return false
}

/**
 * How the units of a batch that failed as a whole are refused: a database unavailable for now
 * (PostgreSQL down or timing out, SQLite locked by another connection) with 503 `ServiceUnavailable`
 * and `Retry-After`; any other failure to write (a full disk, an I/O error) with 503
 * `AuditUnavailable`, since their audit events could not be written either.
 */
function refusal(cause: unknown): PamError {
  if (cause instanceof PamError) return cause
  if (isDatabaseUnavailable(cause))
    return new DatabaseUnavailable('the database is unavailable; retry later', cause)
  return new AuditUnavailable(cause instanceof Error ? cause : new Error(String(cause)))
}

/**
 * The driver's error code (`SQLITE_FULL`, `SQLITE_IOERR_WRITE`, PostgreSQL's SQLSTATE `53100`…),
 * found through `cause`: enough to act on, and no driver message that could carry a path or a
 * value to the unauthenticated caller of `/readyz`.
 */
function failureCode(cause: unknown): string {
  let err: unknown = cause
  for (let depth = 0; depth < 5 && err instanceof Error; depth++) {
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string' && code !== '' && !(err instanceof PamError)) return code
    err = err.cause
  }
  return 'the database refused the write'
}
