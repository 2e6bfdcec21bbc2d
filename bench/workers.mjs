// @ts-check
/**
 * One worker vs two (`serve --workers N`: a primary forking worker processes with node:cluster that
 * share its port and the database): each `WORKERS_SCENARIOS` figure measured on a server started
 * with `--workers 1`, then on one started with `--workers 2`, with the same load generator and
 * connections, the two figures next to each other.
 *
 * `--workers 1` is the server alone, in one process: serve.ts forks no primary for one worker. So
 * the pair compares the server as it runs by default with a primary and two workers, and the ratio
 * holds everything the second form adds: a second event loop, but also the SQLite write lock the
 * primary grants (an IPC round trip per group commit, one worker's batch at a time) and the kernel
 * handing connections round robin from the primary.
 *
 * Per scenario, two fresh servers on SQLite, each on its own temporary data dir, so no figure
 * depends on the ones before it (as in run.mjs). The scenario's setup runs against each; then one
 * unmeasured run (a figure's warm-up + measured time) warms each: with two workers each process
 * sees half the requests, so a figure's own warm-up alone would leave them colder (JIT, caches)
 * than the one process. Then 1 worker, then 2, measured back to back; in that order each server has
 * exactly one run between its warm-up and its figure. The idle server stays up meanwhile; what it
 * does shows in the loaded figure's `other` CPU.
 *
 * The server's CPU is the whole process tree's (servers.mjs `processTreeCpuMs`): the primary
 * answers no request, its workers do. Each process's share is reported beside it
 * (`cpuPercentPerProcess`), so what the primary costs is visible, and `serverCpuUsPerRequest` is
 * the tree's CPU per request (CPU % of one core × 10^4 ÷ requests/s).
 */
import { availableParallelism } from 'node:os'
import { scenarioById } from './scenarios.mjs'
import { adminTarget, processCpuMs, processTree, startStrongroomServer } from './servers.mjs'

/** The two server forms compared: `--workers 1` (one process) and `--workers 2` (a primary + 2). */
export const WORKER_COUNTS = /** @type {const} */ ([1, 2])

/**
 * @param {{
 *   scenarios: import('./scenarios.mjs').WorkersScenario[],
 *   measure: import('./nodes.mjs').Measure,
 *   log: (message: string) => void,
 * }} options
 */
export async function measureWorkers({ scenarios, measure, log }) {
  /** @type {Record<string, unknown>[]} */
  const results = []
  for (const { id, scenario: baseId } of scenarios) {
    const scenario = scenarioById(baseId)
    /** @type {import('./servers.mjs').StrongroomServer[]} */
    const servers = []
    try {
      log(`${id}: starting a strongroom server with ${WORKER_COUNTS.join(' and one with ')} workers (SQLite)`)
      // allSettled: a server that started is stopped below even if the other one failed to.
      const started = await Promise.allSettled(
        WORKER_COUNTS.map((workers) => startStrongroomServer({ workers })),
      )
      for (const one of started) if (one.status === 'fulfilled') servers.push(one.value)
      const failed = started.find((one) => one.status === 'rejected')
      if (failed) throw failed.reason

      /** @type {{ server: import('./servers.mjs').StrongroomServer, target: import('./scenarios.mjs').Target, state: unknown }[]} */
      const prepared = []
      for (const server of servers) {
        const target = await adminTarget(server)
        prepared.push({ server, target, state: scenario.setup ? await scenario.setup(target) : null })
      }
      for (const [i, { server, state }] of prepared.entries()) {
        await measure(scenario, onServer(server).measured, state, `${label(i)}: warming, not reported`)
      }
      /** @type {Record<string, any>[]} */
      const figures = []
      for (const [i, { server, target, state }] of prepared.entries()) {
        // A scenario whose run used up its state (names made from `seq`) gets a fresh one.
        const fresh = scenario.setupEachRun && scenario.setup ? await scenario.setup(target) : state
        const watched = onServer(server)
        const figure = await measure(scenario, watched.measured, fresh, label(i))
        figures.push({
          workers: WORKER_COUNTS[i],
          ...figure,
          serverCpuUsPerRequest: cpuPerRequest(figure),
          ...(watched.perProcess() ?? {}),
        })
      }
      const [one, two] = figures
      results.push({
        id,
        name: `${scenario.name}: 1 worker vs 2 (SQLite)`,
        oneWorker: one,
        twoWorkers: two,
        twoWorkersOverOneWorker: ratio(two.rps, one.rps),
        serverCpuPerRequestTwoOverOne: ratio(two.serverCpuUsPerRequest, one.serverCpuUsPerRequest),
      })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      log(`  FAILED: ${message}`)
      results.push({ id, name: scenario.name, failed: message })
    } finally {
      await Promise.all(servers.map((server) => server.stop()))
    }
  }
  const cores = availableParallelism()
  return {
    workers: WORKER_COUNTS,
    database: 'SQLite, one per server (its own temporary data dir)',
    cores,
    // The generator's own share is in each figure (cpuPercent.loadGenerator): measured here, a
    // fraction of a core at these request rates, near a whole one only at the ceiling's.
    onThisMachine:
      cores <= 2
        ? `${cores} cores, shared by the 2 workers, their primary and the load generator (a fifth of ` +
          'a core or less at these rates, see cpuPercent.loadGenerator): the ratio says what a second ' +
          'worker gives on this machine, where its per-request costs (its own WAL syncs of smaller ' +
          'batches, the lock messages) take back most of what the second core adds'
        : `${cores} cores, shared by the workers, their primary and the load generator`,
    how:
      '--workers 1 is the server alone in one process; --workers 2 a primary (answering nothing) and ' +
      "2 workers sharing its port. Each server on a fresh data dir, the scenario's setup on each, one " +
      'unmeasured run warming each, then 1 worker and 2 measured back to back. The server CPU is the ' +
      "process tree's, in % of one core; serverCpuUsPerRequest = that × 10^4 ÷ rps.",
    results,
  }
}

/** @param {number} i an index of `WORKER_COUNTS` */
const label = (i) => (WORKER_COUNTS[i] === 1 ? '1 worker' : `${WORKER_COUNTS[i]} workers`)

/** @param {unknown} a @param {unknown} b */
const ratio = (a, b) =>
  typeof a === 'number' && typeof b === 'number' && b > 0 ? Math.round((a / b) * 1000) / 1000 : null

/**
 * µs of the server's CPU per request: % of one core × 10^4 ÷ requests/s.
 * @param {Record<string, any>} figure
 */
function cpuPerRequest(figure) {
  const pct = figure.cpuPercent?.server
  return typeof pct === 'number' && typeof figure.rps === 'number' && figure.rps > 0
    ? Math.round((pct * 1e4) / figure.rps)
    : null
}

/**
 * What run.mjs's `measure` loads and samples for one server (its whole process tree's CPU), and
 * each process's CPU read at the measured window's edges too: with workers, the primary's share
 * and each worker's.
 * @param {import('./servers.mjs').StrongroomServer} server
 */
function onServer(server) {
  /** @type {Map<number, number | null>[]} */
  const edges = []
  let windowStart = 0
  let windowMs = 0
  /** @type {import('./nodes.mjs').Measured} */
  const measured = {
    baseUrls: [server.baseUrl],
    serverCpuMs: () => [server.cpuMs()],
    atWindowEdge: (edge) => {
      edges.push(new Map(processTree(server.pid).map((pid) => [pid, processCpuMs(pid)])))
      if (edge === 'start') windowStart = performance.now()
      else windowMs = performance.now() - windowStart
    },
  }
  /** Percent of one core per process over the window; null for one process (it is the figure's). */
  const perProcess = () => {
    const [before, after] = edges
    if (!before || !after || windowMs <= 0 || after.size < 2) return null
    /** @param {number} pid */
    const pct = (pid) => {
      const a = before.get(pid)
      const b = after.get(pid)
      // A worker started again inside the window has no start: its share is unknown (null).
      return typeof a === 'number' && typeof b === 'number' ? Math.round(((b - a) / windowMs) * 100) : null
    }
    const [primary, ...workers] = after.keys()
    return { cpuPercentPerProcess: { primary: pct(primary), workers: workers.map(pct) } }
  }
  return { measured, perProcess }
}
