import type { Config } from '../config/config.js'
import { ServiceUnavailable } from '../errors.js'
import { type RunningServer, startServer, untilStopped } from '../server.js'
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
  const { config, slot, syncFailed } = await started(send)
  const sqlite = config.db.startsWith('sqlite:')
  const lock = sqlite ? new IpcWriteLock(send) : null
  /** A sync of the shared file failed (in this worker or another): final for every worker. */
  let sharedFailure = syncFailed
  const gathers = new Map<number, (text: string) => void>()
  let nextGather = 0
  let requestStop: ((reason: string) => void) | null = null
  let server: RunningServer | null = null
  let stopAsked = false

  process.on('message', (message: unknown) => {
    if (!isOurs<ToWorker>(message)) return
    switch (message.sr) {
      case 'locked':
        lock?.granted()
        return
      case 'expose':
        send({ sr: 'exposition', id: message.id, text: server?.services.metrics.expose() ?? '' })
        return
      case 'gathered':
        gathers.get(message.id)?.(message.text)
        return
      case 'shutdown':
        stopAsked = true
        requestStop?.('asked by the primary')
        return
      case 'sync-failed':
        sharedFailure ??= message.code
        server?.services.store.deferredSync?.failShared(message.code)
        return
      case 'start':
        return
    }
  })
  // The cluster module exits a worker whose primary is gone; until then, no batch waits for a lock
  // that cannot come.
  process.once('disconnect', () => lock?.disconnected())

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

  const syncFailures = sqlite
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
    server = await startServer(config, { worker: { slot, writeLock: lock, gatherMetrics, syncFailures } })
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

/**
 * Says `ready` and waits for the primary's `start`. A message that arrives before a listener is
 * there is dropped, and loading this program takes a while: so the worker asks, once it listens.
 * A primary that is stopping answers `shutdown`: the worker then exits before it serves.
 */
function started(
  send: (message: ToPrimary) => boolean,
): Promise<{ config: Config; slot: number; syncFailed: string | null }> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isOurs<ToWorker>(message)) return
      if (message.sr === 'shutdown') process.exit(0)
      if (message.sr !== 'start') return
      process.off('message', onMessage)
      resolve({ config: message.config, slot: message.slot, syncFailed: message.syncFailed })
    }
    process.on('message', onMessage)
    send({ sr: 'ready' })
  })
}

/** A start-up failure as the CLI shows one: a ConfigError says what to fix, in one line. */
function describe(err: unknown): string {
  if (err instanceof Error) return err.name === 'ConfigError' ? err.message : `${err.name}: ${err.message}`
  return String(err)
}
