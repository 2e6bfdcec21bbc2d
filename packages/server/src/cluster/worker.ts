import type { Config } from '../config/config.js'
import { ServiceUnavailable } from '../errors.js'
import { type RunningServer, startServer, untilStopped } from '../server.js'
import { holdWorkerLock } from '../store/server-lock.js'
import { isOurs, type ToPrimary, type ToWorker } from './messages.js'
import { IpcWriteLock } from './write-lock.js'

/** How long a worker waits for the primary to gather every worker's metrics. */
const GATHER_TIMEOUT_MS = 5_000

/**
 * A worker process of `serve --workers N` (forked by cluster/primary.ts through worker-main.ts):
 * waits for the primary's `start`, serves on the primary's listener until told to stop or
 * signalled, and exits. A failure to start is printed as one line and exits 1; the primary then
 * stops the whole server.
 */
export async function runWorker(): Promise<void> {
  const send = (message: ToPrimary): boolean => (process.connected ? process.send!(message) : false)
  let lock: IpcWriteLock | null = null
  /** A sync of the shared file failed (in this worker or another): final for every worker. */
  let sharedFailure: string | null = null
  const gathers = new Map<number, (text: string) => void>()
  let nextGather = 0
  let requestStop: ((reason: string) => void) | null = null
  let server: RunningServer | null = null
  let stopAsked = false
  type Start = { config: Config; slot: number; writeLock: IpcWriteLock | null }
  let begin: ((start: Start) => void) | null = null
  const starting = new Promise<Start>((resolve) => {
    begin = resolve
  })

  // One listener from the first message on: messages read in one go with `start` (a `shutdown`, a
  // `sync-failed`) are handled in their order, never lost between two listeners.
  process.on('message', (message: unknown) => {
    if (!isOurs<ToWorker>(message)) return
    switch (message.sr) {
      case 'start': {
        const take = begin
        if (!take) return
        begin = null
        sharedFailure ??= message.syncFailed
        lock = message.config.db.startsWith('sqlite:') ? new IpcWriteLock(send) : null
        take({ config: message.config, slot: message.slot, writeLock: lock })
        return
      }
      case 'locked':
        lock?.granted()
        return
      case 'expose':
        send({ sr: 'exposition', id: message.id, text: server?.services.metrics.expose() ?? '' })
        return
      case 'gathered':
        gathers.get(message.id)?.(message.text)
        return
      case 'ping':
        send({ sr: 'pong', id: message.id })
        return
      case 'shutdown':
        // A primary that is stopping answers `ready` so: nothing started yet, nothing to drain.
        if (begin) process.exit(0)
        stopAsked = true
        requestStop?.('asked by the primary')
        return
      case 'sync-failed':
        sharedFailure ??= message.code
        server?.services.store.deferredSync?.failShared(message.code)
        return
    }
  })
  // The cluster module exits a worker whose primary is gone; until then, no batch waits for a lock
  // that cannot come.
  process.once('disconnect', () => lock?.disconnected())
  // Loading this program takes a while, and a message sent before a listener is there is lost:
  // so the worker asks for its `start` once it listens.
  send({ sr: 'ready' })
  const { config, slot, writeLock } = await starting

  const gatherMetrics = () =>
    new Promise<string>((resolve, reject) => {
      const id = nextGather++
      const timer = setTimeout(() => {
        gathers.delete(id)
        reject(new ServiceUnavailable("the server's other workers did not send their metrics in time"))
      }, GATHER_TIMEOUT_MS)
      gathers.set(id, (text) => {
        clearTimeout(timer)
        gathers.delete(id)
        resolve(text)
      })
      if (!send({ sr: 'gather', id })) {
        clearTimeout(timer)
        gathers.delete(id)
        reject(new ServiceUnavailable('the server is shutting down: its primary process is gone'))
      }
    })

  const syncFailures = writeLock
    ? {
        get before() {
          return sharedFailure
        },
        report: (code: string) => {
          sharedFailure ??= code
          send({ sr: 'sync-failed', code })
        },
      }
    : undefined
  try {
    const file = config.db.startsWith('sqlite:') ? config.db.slice('sqlite:'.length) : null
    if (file !== null && file !== ':memory:') holdWorkerLock(file)
    server = await startServer(config, { worker: { slot, writeLock, gatherMetrics, syncFailures } })
  } catch (err) {
    process.stderr.write(`strongroom worker ${slot} could not start: ${describe(err)}\n`)
    process.exit(1)
  }
  // Heard of while this worker was starting.
  if (sharedFailure) server.services.store.deferredSync?.failShared(sharedFailure)
  await untilStopped(server, (stop) => {
    requestStop = stop
    if (stopAsked) stop('asked by the primary')
  })
  process.exit()
}

/** A start-up failure as the CLI shows one: a ConfigError says what to fix, in one line. */
function describe(err: unknown): string {
  if (err instanceof Error) return err.name === 'ConfigError' ? err.message : `${err.name}: ${err.message}`
  return String(err)
}
