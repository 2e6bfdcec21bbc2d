import type { Config } from '../config/config.js'

/**
 * What the primary process of `serve --workers N` and its workers say to each other over the
 * cluster's IPC channel (JSON). Every message carries `sr`, so it is told apart from the
 * cluster module's own.
 */
export type ToWorker =
  /** The answer to `ready`: what to serve, and which slot the worker fills (0 is the leader). */
  | { sr: 'start'; config: Config; slot: number; syncFailed: string | null }
  /** A worker's sync of the SQLite file failed with `code`: every write of this one fails from now on too. */
  | { sr: 'sync-failed'; code: string }
  /** The write lock is this worker's until it sends `unlock`. */
  | { sr: 'locked' }
  /** Drain and exit, as on SIGTERM. */
  | { sr: 'shutdown' }
  /** Send this worker's own metrics exposition, answering `id`. */
  | { sr: 'expose'; id: number }
  /** The whole server's metrics, answering this worker's `gather` number `id`. */
  | { sr: 'gathered'; id: number; text: string }
  /** Answer `pong` with `id`: the primary's watchdog, which kills a worker that stops answering. */
  | { sr: 'ping'; id: number }

export type ToPrimary =
  /** The worker listens for messages: a message sent before that would be lost. */
  | { sr: 'ready' }
  | { sr: 'lock' }
  | { sr: 'unlock' }
  /** This worker's sync of the SQLite file failed with `code` (an errno code): final. */
  | { sr: 'sync-failed'; code: string }
  | { sr: 'exposition'; id: number; text: string }
  /** Asks for every worker's metrics, merged. */
  | { sr: 'gather'; id: number }
  | { sr: 'pong'; id: number }

/** Whether an IPC message is one of ours: the cluster module sends its own on the same channel. */
export function isOurs<T extends ToWorker | ToPrimary>(message: unknown): message is T {
  return (
    typeof message === 'object' && message !== null && typeof (message as { sr?: unknown }).sr === 'string'
  )
}
