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
  private readonly waiting: number[] = []
  /** Workers that exited (the cluster never gives an id twice). */
  private readonly gone = new Set<number>()

  /** `grant(id)` tells worker `id` the lock is its own. */
  constructor(private readonly grant: (id: number) => void) {}

  acquire(id: number): void {
    // A worker's last `lock` can be read after its exit was handled: granted, it would never be
    // given back.
    if (this.gone.has(id)) return
    if (this.holder === null) {
      this.holder = id
      this.grant(id)
    } else {
      this.waiting.push(id)
    }
  }

  release(id: number): void {
    // A release from a worker that does not hold the lock (it already exited, say) changes nothing.
    if (this.holder !== id) return
    this.holder = this.waiting.shift() ?? null
    if (this.holder !== null) this.grant(this.holder)
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
}

/**
 * A worker's side: asks the primary and waits for its answer. One batch at a time asks (the
 * committer runs its batches one after another), so one grant answers the one request open.
 */
export class IpcWriteLock implements WriteLock {
  private pending: { resolve: () => void; reject: (err: Error) => void } | null = null
  private gone = false

  constructor(private readonly send: (message: { sr: 'lock' } | { sr: 'unlock' }) => boolean) {}

  acquire(): Promise<void> {
    if (this.gone) return Promise.reject(primaryGone())
    if (this.pending) return Promise.reject(new Error('the write lock is asked for twice at once'))
    return new Promise<void>((resolve, reject) => {
      this.pending = { resolve, reject }
      this.send({ sr: 'lock' })
    })
  }

  release(): void {
    if (!this.gone) this.send({ sr: 'unlock' })
  }

  /** The primary's `locked`. */
  granted(): void {
    const pending = this.pending
    this.pending = null
    pending?.resolve()
  }

  /** The IPC channel closed: the primary is gone, and no lock can be had any more. */
  disconnected(): void {
    this.gone = true
    const pending = this.pending
    this.pending = null
    pending?.reject(primaryGone())
  }
}

function primaryGone(): ServiceUnavailable {
  return new ServiceUnavailable('the server is shutting down: its primary process is gone')
}
