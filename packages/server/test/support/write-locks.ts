// The write lock of `serve --workers N` (cluster/write-lock.ts) for writers in one process: each
// holder's lock asks one LockQueue, as each worker's asks the primary's. Two stores on one SQLite
// file, each with its committer holding one of these, behave as two workers.
import { LockQueue } from '../../src/cluster/write-lock.js'
import type { WriteLock } from '../../src/store/committer.js'

export interface SharedWriteLocks {
  readonly queue: LockQueue
  /** The lock of holder `id`; `log` gets `hold ID` and `free ID` as it is taken and given back. */
  lockFor(id: number, log?: string[]): WriteLock
}

export function sharedWriteLocks(): SharedWriteLocks {
  const grants = new Map<number, () => void>()
  const queue = new LockQueue((id) => grants.get(id)?.())
  return {
    queue,
    lockFor: (id, log) => ({
      acquire: () =>
        new Promise<void>((resolve) => {
          grants.set(id, () => {
            log?.push(`hold ${id}`)
            resolve()
          })
          queue.acquire(id)
        }),
      release: () => {
        log?.push(`free ${id}`)
        queue.release(id)
      },
      holds: () => queue.heldBy === id,
    }),
  }
}
