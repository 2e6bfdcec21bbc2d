import cluster, { type Worker } from 'node:cluster'
import { hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import { replacePrivateFile, writeDemoClientConfig } from '../bootstrap.js'
import type { Config } from '../config/config.js'
import { ConfigError, ServiceUnavailable } from '../errors.js'
import { LogDestination } from '../http/log-destination.js'
import { type MetricsListener, startMetricsListener } from '../metrics/metrics-listener.js'
import { banner, closeServices, listeningUrl, openServices, STOP_SIGNALS } from '../server.js'
import { isOurs, type ToPrimary, type ToWorker } from './messages.js'
import { mergeExpositions } from './metrics.js'
import { Restarts } from './restarts.js'
import { LockQueue } from './write-lock.js'

/** How long the primary waits for each worker's metrics when it gathers them. */
const EXPOSE_TIMEOUT_MS = 2_000
/** How long workers have to drain on shutdown (each drains for 10 s at most) before they are killed. */
const STOP_TIMEOUT_MS = 30_000

const LEVELS = { fatal: 60, error: 50, warn: 40, info: 30, debug: 20, trace: 10, silent: Infinity } as const

interface Slot {
  readonly index: number
  worker: Worker | null
  readonly restarts: Restarts
  restartTimer: NodeJS.Timeout | null
  /** When its worker last answered a ping (or listened), by `performance.now()`; null until it listens. */
  answeredAt: number | null
  /** Why the watchdog killed its worker, for the log line of its exit. */
  killedFor: string | null
}

/**
 * The primary process of `serve --workers N`. It opens the database once (migrations, the root
 * key, the first start's bootstrap and demo), forks N workers (worker-main.ts) that share its
 * listening socket (node:cluster hands each connection to one worker, round robin) and the
 * database, and then only supervises:
 * - it writes the data folder's `url` and demo files and prints the banner once all workers listen;
 * - on SQLite it grants the workers' write lock (write-lock.ts);
 * - it serves the metrics listener with every worker's metrics, and gathers them for the
 *   workers' `/admin/v1/metrics`;
 * - a worker that exits unasked is started again (restarts.ts); a worker that fails before the
 *   server ever listened stops the start, and so do five of a slot in a row that fail before
 *   they listen; one that has not listened within `workerStartTimeoutMs` is killed and counts as
 *   failed;
 * - a sync of the SQLite file that fails in one worker is final for all (store/connect.ts,
 *   `failShared`): the primary tells the others, and every worker started after;
 * - a serving worker that stops answering its pings for `workerWatchdogMs` (its event loop blocked,
 *   the process stopped), or holds the SQLite write lock that long, is killed (SIGKILL: SQLite
 *   rolls its open batch back, nothing acknowledged is in it) and started again: otherwise one
 *   stopped worker held every other worker's writes, and the connections handed to it, for good;
 * - SIGTERM, SIGINT or SIGHUP asks every worker to drain and waits for them; a second signal kills them.
 * It answers no request itself and holds no write: a worker that dies takes nothing acknowledged
 * with it, and the primary's death ends the workers (the cluster module exits them).
 */
export async function runPrimary(config: Config): Promise<void> {
  const out = new LogDestination()
  const threshold = LEVELS[config.logLevel]
  const log = (level: Exclude<keyof typeof LEVELS, 'silent'>, msg: string, fields: object = {}) => {
    if (LEVELS[level] < threshold) return
    out.write(
      `${JSON.stringify({ level: LEVELS[level], time: Date.now(), pid: process.pid, hostname: hostname(), role: 'primary', ...fields, msg })}\n`,
    )
  }

  const { services, boot } = await openServices(config)
  let metricsListener: MetricsListener | null = null
  let stopping = false
  const locks = config.db.startsWith('sqlite:')
    ? new LockQueue((id) => {
        const worker = cluster.workers?.[id]
        if (worker?.isConnected()) worker.send({ sr: 'locked' } satisfies ToWorker)
      })
    : null
  const slots: Slot[] = Array.from({ length: config.workers }, (_, index) => ({
    index,
    worker: null,
    restarts: new Restarts(),
    restartTimer: null,
    answeredAt: null,
    killedFor: null,
  }))
  /** The code of the first failed sync of the SQLite file, by any worker. */
  let syncFailed: string | null = null
  const watchdogMs = config.workerWatchdogMs
  /** `slot`'s worker is stuck: killed, and its exit (which starts another) says why. */
  const killStuck = (slot: Slot, why: string) => {
    if (!slot.worker || slot.killedFor !== null) return
    slot.killedFor = why
    log('error', `worker ${slot.index} ${why}: killing it, another starts`, { worker: slot.index })
    slot.worker.kill('SIGKILL')
  }
  let lockWarned = false
  let nextPing = 0
  const tickMs = Math.max(250, Math.min(5_000, watchdogMs / 4))
  let lastTick = performance.now()
  // Each tick: the write lock's holder (a batch holds it for milliseconds: one that keeps it is
  // stuck, SIGSTOP or a debugger, or runs a very long batch, and every other worker's writes
  // wait), then every serving worker's last answer, then a new ping. Times are monotonic (a step
  // of the wall clock is no silence), and a tick that comes late says the primary itself was not
  // running (stopped, a frozen container, a suspended VM): the workers' answers waiting in its
  // pipes are not read yet, so every worker is given a new term rather than all killed at once.
  const watchdog = setInterval(() => {
    const now = performance.now()
    const gap = now - lastTick
    lastTick = now
    if (!serving || stopping) return
    if (gap > tickMs + watchdogMs / 4) {
      log(
        'warn',
        `the primary did not run for ${Math.round(gap / 1000)} s: the workers' watchdog starts again`,
      )
      for (const slot of slots) if (slot.answeredAt !== null) slot.answeredAt = now
      locks?.forgive()
    }
    const held = locks?.heldFor() ?? 0
    const holder = locks ? slots.find((s) => s.worker !== null && s.worker.id === locks.heldBy) : undefined
    if (holder && held >= watchdogMs) {
      killStuck(holder, `has held the database's write lock for ${Math.round(held / 1000)} s`)
    } else if (holder && held >= watchdogMs / 2 && !lockWarned) {
      lockWarned = true
      log(
        'warn',
        `a worker has held the database's write lock for ${Math.round(held / 1000)} s: the others' writes wait; it is killed at ${Math.round(watchdogMs / 1000)} s`,
        { worker: holder.index },
      )
    }
    if (held < watchdogMs / 2) lockWarned = false
    const id = nextPing++
    for (const slot of slots) {
      if (!slot.worker || slot.answeredAt === null || slot.killedFor !== null) continue
      if (now - slot.answeredAt >= watchdogMs) {
        killStuck(
          slot,
          `has not answered for ${Math.round((now - slot.answeredAt) / 1000)} s (its event loop is blocked, or the process is stopped)`,
        )
      } else if (slot.worker.isConnected()) {
        slot.worker.send({ sr: 'ping', id } satisfies ToWorker)
      }
    }
  }, tickMs).unref()
  const exposing = new Map<number, { texts: Map<number, string>; waiting: number; done: () => void }>()
  let nextExpose = 0

  /** Every live worker's own metrics, merged; a worker that does not answer in time is left out. */
  const gather = (): Promise<string> => {
    const live = slots.filter((s) => s.worker?.isConnected())
    const id = nextExpose++
    const texts = new Map<number, string>()
    return new Promise<string>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        exposing.delete(id)
        resolve(mergeExpositions(new Map([...texts].sort(([a], [b]) => a - b))))
      }
      const timer = setTimeout(done, EXPOSE_TIMEOUT_MS)
      exposing.set(id, { texts, waiting: live.length, done })
      for (const slot of live) slot.worker!.send({ sr: 'expose', id } satisfies ToWorker)
      if (live.length === 0) done()
    })
  }

  let started: () => void
  let failedToStart: (err: Error) => void
  const allListening = new Promise<void>((resolve, reject) => {
    started = resolve
    failedToStart = reject
  })
  let port = config.listen.port
  let listening = 0
  let serving = false
  /** Workers that did not exit cleanly when asked to stop. */
  let uncleanExits = 0
  /**
   * Set once serving: drains every worker. With `failure`, `runPrimary` then throws it (the CLI
   * prints it and exits 1); a signal stops with none.
   */
  let stop: (reason: string, failure: Error | null) => void = () => {}

  cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)), args: [] })

  /** `sender`, of `slot`, could not sync the SQLite file: every other worker fails for good too. */
  const syncFailedIn = (slot: Slot, sender: Worker, code: string) => {
    if (syncFailed === null) {
      syncFailed = code
      log(
        'error',
        `worker ${slot.index} could not sync the database to disk (${code}): every worker refuses writes from now on; restart the server once the disk is healthy`,
        { worker: slot.index },
      )
    }
    for (const other of slots)
      if (other.worker && other.worker !== sender && other.worker.isConnected())
        other.worker.send({ sr: 'sync-failed', code } satisfies ToWorker)
  }

  const fork = (slot: Slot) => {
    slot.restartTimer = null
    const forkedAt = Date.now()
    let listened = false
    const worker = cluster.fork()
    slot.worker = worker
    // One that hangs before it listens (a database that accepts and never answers, a stopped
    // process) would hold its slot, or the whole start, for good: it is killed, and counts as a
    // worker that failed to start.
    let hung = false
    const startTimer = setTimeout(() => {
      // Stopping: the drain's own limit applies; listened or exited: the event is on its way.
      if (stopping || listened || exited) return
      hung = true
      log(
        'error',
        `worker ${slot.index} did not start serving within ${config.workerStartTimeoutMs / 1000} s: killing it`,
        { worker: slot.index },
      )
      worker.kill('SIGKILL')
    }, config.workerStartTimeoutMs)
    // A message to a worker whose channel just closed fails here (its exit follows and is handled
    // below): without a listener that error would end the primary.
    worker.on('error', (err: Error) =>
      log('warn', 'could not reach a worker', { worker: slot.index, err: err.message }),
    )
    // Messages it sent just before it died may be read after its exit: a `lock` then would be
    // granted to the dead, for good.
    let exited = false
    worker.on('message', (message: unknown) => {
      if (!isOurs<ToPrimary>(message)) return
      // A failed sync is news for the others even when its worker has died since.
      if (message.sr === 'sync-failed') {
        syncFailedIn(slot, worker, message.code)
        return
      }
      if (exited) return
      switch (message.sr) {
        case 'ready':
          // One started again just as the server stops exits at once.
          worker.send(
            stopping
              ? ({ sr: 'shutdown' } satisfies ToWorker)
              : ({ sr: 'start', config, slot: slot.index, syncFailed } satisfies ToWorker),
          )
          return
        case 'lock':
          locks?.acquire(worker.id)
          return
        case 'unlock':
          locks?.release(worker.id)
          return
        case 'exposition': {
          const pending = exposing.get(message.id)
          if (!pending) return
          pending.texts.set(slot.index, message.text)
          if (pending.texts.size >= pending.waiting) pending.done()
          return
        }
        case 'pong':
          if (slot.worker === worker) slot.answeredAt = performance.now()
          return
        case 'gather':
          void gather().then((text) => {
            if (worker.isConnected()) worker.send({ sr: 'gathered', id: message.id, text } satisfies ToWorker)
          })
          return
      }
    })
    worker.once('listening', (address) => {
      clearTimeout(startTimer)
      listened = true
      if (slot.worker === worker) slot.answeredAt = performance.now()
      port = address.port
      if (serving) {
        log('info', 'worker started again and is serving', { worker: slot.index })
        return
      }
      if (++listening === slots.length) started()
    })
    worker.once('exit', (code, signal) => {
      clearTimeout(startTimer)
      exited = true
      const killedFor = slot.worker === worker ? slot.killedFor : null
      if (slot.worker === worker) {
        slot.worker = null
        slot.answeredAt = null
        slot.killedFor = null
      }
      locks?.forget(worker.id)
      if (stopping) {
        if (code !== 0) uncleanExits++
        return
      }
      const how = hung
        ? `did not start serving within ${config.workerStartTimeoutMs / 1000} s and was killed`
        : killedFor !== null
          ? `${killedFor} and was killed`
          : signal
            ? `killed by ${signal}`
            : `exited with code ${code}`
      if (!serving) {
        failedToStart(
          new ConfigError(
            `worker ${slot.index} ${how} before the server could serve${hung ? '' : ' (its error is above)'}`,
          ),
        )
        return
      }
      const delay = slot.restarts.exited(Date.now() - forkedAt, listened)
      if (delay === null) {
        const why = `worker ${slot.index} ${how}; ${slot.restarts.failedStarts} workers of its slot in a row failed before they could serve (their errors are above)`
        log('fatal', `${why}: stopping the server`, { worker: slot.index })
        stop('workers keep failing to start', new ConfigError(why))
        return
      }
      log('error', `worker ${slot.index} ${how}; starting another in ${delay} ms`, { worker: slot.index })
      slot.restartTimer = setTimeout(() => fork(slot), delay)
    })
  }

  const liveWorkers = () => slots.flatMap((s) => (s.worker ? [s.worker] : []))
  const allExited = () =>
    Promise.all(
      liveWorkers().map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) resolve()
            else worker.once('exit', () => resolve())
          }),
      ),
    )

  try {
    for (const slot of slots) fork(slot)
    await allListening
    serving = true
    const url = listeningUrl(config, port)
    services.publicUrl = config.publicUrl ?? url
    let demoConfig: string | null = null
    if (config.dataDir !== null) {
      replacePrivateFile(`${config.dataDir}/url`, `${url}\n`)
      demoConfig = await writeDemoClientConfig(
        services.store.db,
        config.dataDir,
        boot.defaultInstanceId,
        services.publicUrl,
      )
    }
    await closeServices(services)
    if (config.metricsListen) metricsListener = await startMetricsListener(gather, config.metricsListen)
    out.write(banner(url, config, boot.adminToken, boot.adminTokenFile, demoConfig))
    log('info', 'strongroom listening', { url, workers: slots.length, db: services.store.location })
    if (metricsListener) log('info', 'serving metrics', { url: metricsListener.url })
  } catch (err) {
    stopping = true
    clearInterval(watchdog)
    for (const worker of liveWorkers()) worker.kill('SIGKILL')
    await allExited()
    await closeServices(services).catch(() => {})
    throw err
  }

  let failure: Error | null = null
  await new Promise<void>((resolve) => {
    stop = (reason, why) => {
      if (stopping) return
      stopping = true
      failure = why
      log('info', 'shutting down: each worker drains its requests and its audit queue', { reason })
      for (const slot of slots) if (slot.restartTimer) clearTimeout(slot.restartTimer)
      for (const worker of liveWorkers())
        if (worker.isConnected()) worker.send({ sr: 'shutdown' } satisfies ToWorker)
      const killer = setTimeout(() => {
        log('error', 'workers still running after the drain timeout: killing them')
        for (const worker of liveWorkers()) worker.kill('SIGKILL')
      }, STOP_TIMEOUT_MS)
      void allExited().then(async () => {
        clearTimeout(killer)
        clearInterval(watchdog)
        await metricsListener?.close()
        resolve()
      })
    }
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second signal: no more waiting.
        for (const worker of liveWorkers()) worker.kill('SIGKILL')
        process.exit(130)
      }
      stop(signal, null)
    }
    for (const name of STOP_SIGNALS) process.on(name, onSignal)
  })
  if (failure) throw failure
  if (uncleanExits > 0) {
    throw new ServiceUnavailable(
      `${uncleanExits} worker(s) did not stop within ${STOP_TIMEOUT_MS / 1000} s of being asked, or exited with an error (see the log above)`,
    )
  }
}
