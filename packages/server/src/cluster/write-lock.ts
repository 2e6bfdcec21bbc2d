import { ServiceUnavailable } from '../errors.js'
import type { WriteLock } from '../store/committer.js'

/**
 * The primary's side of the write lock of `serve --workers N` on SQLite: one holder at a time,
 * granted in the order asked. Each worker's group committer holds it for one batch, from before
 * its BEGIN until its COMMIT has returned (store/committer.ts), so the workers never meet at the
 * SQLite file's own lock, which SQLite waits for by sleeping on the waiting process's event loop.
 * A worker that exits loses its place and, if it held the lock, the lock: its transaction died
 * with it, and SQLite has already rolled it back.
 */
export class LockQueue {
  private holder: number | null = null
  private grantedAt = 0
  private readonly waiting: number[] = []
  /** Workers that exited (the cluster never gives an id twice). */
  private readonly gone = new Set<number>()

  /** `grant(id)` tells worker `id` the lock is its own. */
  constructor(
    private readonly grant: (id: number) => void,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  private give(id: number): void {
    this.holder = id
    this.grantedAt = this.now()
    this.grant(id)
  }

  acquire(id: number): void {
    // A worker's last `lock` can be read after its exit was handled: granted, it would never be
    // given back.
    if (this.gone.has(id)) return
    if (this.holder === null) {
      this.give(id)
    } else {
      this.waiting.push(id)
    }
  }

  release(id: number): void {
    // A release from a worker that does not hold the lock (it already exited, say) changes nothing.
    if (this.holder !== id) return
    this.holder = null
    const next = this.waiting.shift()
    if (next !== undefined) this.give(next)
  }

  /** Worker `id` is gone: out of the queue, and the lock passed on if it held it. */
  forget(id: number): void {
    this.gone.add(id)
    for (let i = this.waiting.indexOf(id); i !== -1; i = this.waiting.indexOf(id)) this.waiting.splice(i, 1)
    this.release(id)
  }

  get heldBy(): number | null {
    return this.holder
  }

  /** Counts the holder's time from now: the primary did not run for a while, and cannot tell. */
  forgive(): void {
    if (this.holder !== null) this.grantedAt = this.now()
  }

  /** How long (ms) the holder has held the lock; 0 when nobody does. */
  heldFor(): number {
    return this.holder === null ? 0 : this.now() - this.grantedAt
  }
}

/**
 * How long a worker's batch waits for the lock before it is refused (503, retry later). A batch
 * holds it for milliseconds; a wait this long means another worker is stuck holding it (stopped
 * by a debugger or SIGSTOP), or runs a very long batch (retention deleting a large range), and
 * the primary's log says which.
 */
export const LOCK_WAIT_MS = 30_000

/**
 * A worker's side: asks the primary and waits for its answer. One batch at a time asks (the
 * committer runs its batches one after another), so one grant answers the one request open.
 */
export class IpcWriteLock implements WriteLock {
  private pending: { resolve: () => void; reject: (err: Error) => void; timer: NodeJS.Timeout } | null = null
  private gone = false
  private held = false
  /** Asks given up on (`waitMs` passed) whose grant has not come yet: each is given back on arrival. */
  private abandoned = 0

  constructor(
    private readonly send: (message: { sr: 'lock' } | { sr: 'unlock' }) => boolean,
    private readonly waitMs: number = LOCK_WAIT_MS,
  ) {}

  acquire(): Promise<void> {
    if (this.gone) return Promise.reject(primaryGone())
    if (this.pending) return Promise.reject(new Error('the write lock is asked for twice at once'))
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null
        // The ask stays in the primary's queue: its grant, when it comes, is given back at once.
        this.abandoned++
        reject(
          lockRefused(
            `the database is busy: another worker of this server has held its write lock for over ${this.waitMs / 1000} s; retry later`,
            'WRITE_LOCK_TIMEOUT',
          ),
        )
      }, this.waitMs)
      this.pending = { resolve, reject, timer }
      this.send({ sr: 'lock' })
    })
  }

  release(): void {
    this.held = false
    if (!this.gone) this.send({ sr: 'unlock' })
  }

  holds(): boolean {
    return this.held
  }

  /** The primary's `locked`: grants come in the order of the asks. */
  granted(): void {
    if (this.abandoned > 0) {
      this.abandoned--
      this.send({ sr: 'unlock' })
      return
    }
    const pending = this.pending
    if (!pending) return
    this.pending = null
    clearTimeout(pending.timer)
    this.held = true
    pending.resolve()
  }

  /** The IPC channel closed: the primary is gone, and no lock can be had any more. */
  disconnected(): void {
    this.gone = true
    const pending = this.pending
    this.pending = null
    if (pending) clearTimeout(pending.timer)
    pending?.reject(primaryGone())
  }
}

function primaryGone(): ServiceUnavailable {
  return lockRefused('the server is shutting down: its primary process is gone', 'PRIMARY_GONE')
}

/**
 * A 503 whose cause carries `code`: what `/readyz` names as the reason writes fail (the committer
 * reports a cause's code, as it does a driver's `SQLITE_FULL`).
 */
function lockRefused(message: string, code: string): ServiceUnavailable {
  return new ServiceUnavailable(message, Object.assign(new Error(message), { code }))
}
