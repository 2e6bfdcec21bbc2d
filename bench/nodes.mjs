// @ts-check
/**
 * Several nodes on one PostgreSQL database (issue 16): each `NODES_SCENARIOS` figure measured on
 * one node, then on three, with the same load generator and connections, in this order so that
 * the two figures of a pair are measured next to each other.
 *
 * One PostgreSQL server for all the figures, started first and removed last (also on Ctrl-C or a
 * failure: bench/postgres.mjs). Three nodes as `npm run cluster` starts them: one root key, the same
 * `--public-url` (the issuer of their tokens, so a token one node signed verifies on the others),
 * the first one started alone since it bootstraps the empty database. No load balancer: for three
 * nodes the generator's connections are spread over the three nodes' ports (17, 17, 16 of 50), so
 * no proxy process takes CPU or adds a hop. For one node all the load goes to the first; the two
 * others keep running, idle (each figure reports every node's CPU, so this stays checkable).
 *
 * A scenario's setup (credentials, application, grant, access token) runs once, through the first
 * node: the nodes share the database, so what it creates serves all three. Then one unmeasured run
 * of the scenario over all three nodes (a figure's warm-up + measured time) warms every node
 * alike before the pair.
 */
import { randomBytes } from 'node:crypto'
import { cpus } from 'node:os'
import { startPostgres } from './postgres.mjs'
import { scenarioById } from './scenarios.mjs'
import { adminTarget, freePort, startStrongroomServer } from './servers.mjs'

/** Each node's CPU so far (ms). @param {import('./servers.mjs').StrongroomServer[]} nodes */
const cpuOf = (nodes) => nodes.map((node) => node.cpuMs())

export const NODE_COUNT = 3

/**
 * @typedef {object} Measured what run.mjs's `measure` loads and samples
 * @property {string[]} baseUrls the load generator's connections are spread over these, round robin
 * @property {() => (number | null)[]} serverCpuMs each server process's CPU so far (ms)
 * @property {() => number | null} [postgresCpuMs] every PostgreSQL process's CPU so far (ms)
 * @property {(edge: 'start' | 'end') => void} [atWindowEdge] called as the measured window starts and ends
 */

/**
 * @typedef {(
 *   scenario: import('./scenarios.mjs').Scenario,
 *   target: Measured,
 *   state: unknown,
 *   label?: string,
 * ) => Promise<Record<string, any>>} Measure
 */

/**
 * @param {{
 *   scenarios: import('./scenarios.mjs').NodesScenario[],
 *   measure: Measure,
 *   log: (message: string) => void,
 * }} options
 */
export async function measureNodes({ scenarios, measure, log }) {
  log(`several nodes: starting PostgreSQL and ${NODE_COUNT} strongroom nodes on it`)
  const postgres = await startPostgres()
  /** @type {import('./servers.mjs').StrongroomServer[]} */
  const nodes = []
  /** @type {Record<string, unknown>[]} */
  const results = []
  try {
    const rootKey = randomBytes(32).toString('base64')
    const ports = []
    for (let n = 0; n < NODE_COUNT; n++) ports.push(await freePort())
    const publicUrl = `http://127.0.0.1:${ports[0]}`
    /** @param {number} port */
    const start = (port) => startStrongroomServer({ db: postgres.url, port, publicUrl, rootKey })
    nodes.push(await start(ports[0]))
    // allSettled: a node that started is stopped below even if another one failed to.
    const others = await Promise.allSettled(ports.slice(1).map(start))
    for (const other of others) if (other.status === 'fulfilled') nodes.push(other.value)
    const failed = others.find((other) => other.status === 'rejected')
    if (failed) throw failed.reason
    const target = await adminTarget(nodes[0])

    for (const { id, scenario: baseId } of scenarios) {
      const scenario = scenarioById(baseId)
      try {
        log(`${id}: setting up through node 1`)
        const state = scenario.setup ? await scenario.setup(target) : null
        const cluster = { running: nodes, postgres, adminToken: target.adminToken ?? '' }
        // Unmeasured: the first node would otherwise come to the three-node figure warm from the
        // one-node figure and the two others cold (measured: ~0.5 ms of CPU per ObtainCredential
        // warm, ~1 ms in a node's first seconds: JIT, the pool's prepared statements, caches).
        await measure(
          scenario,
          {
            baseUrls: nodes.map((node) => node.baseUrl),
            serverCpuMs: () => cpuOf(nodes),
            postgresCpuMs: postgres.cpuMs,
          },
          state,
          'warming every node, not reported',
        )
        const oneNode = await measureOn(scenario, nodes.slice(0, 1), cluster, state, measure, '1 node')
        const threeNodes = await measureOn(scenario, nodes, cluster, state, measure, `${NODE_COUNT} nodes`)
        results.push({
          id,
          name: `${scenario.name}: 1 node vs ${NODE_COUNT} on one PostgreSQL`,
          oneNode,
          threeNodes,
          threeNodesOverOneNode:
            typeof oneNode.rps === 'number' && oneNode.rps > 0 && typeof threeNodes.rps === 'number'
              ? Math.round((threeNodes.rps / oneNode.rps) * 1000) / 1000
              : null,
        })
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        log(`  FAILED: ${message}`)
        results.push({ id, name: scenario.name, failed: message })
      }
    }
  } finally {
    await Promise.all(nodes.map((node) => node.stop()))
    await postgres.stop()
  }
  return {
    nodes: NODE_COUNT,
    how:
      'one node: every connection to node 1 (the two others running, idle); three nodes: the ' +
      "connections spread round robin over the three nodes' ports, no load balancer. Before each " +
      'pair an unmeasured run warms all three nodes alike. CPU in % of one core.',
    database: { postgresql: postgres.version, settings: postgres.settings },
    results,
  }
}

/**
 * @typedef {object} Cluster
 * @property {import('./servers.mjs').StrongroomServer[]} running every node
 * @property {import('./postgres.mjs').RunningPostgres} postgres
 * @property {string} adminToken the first node's: valid on all, they share the database
 */

/**
 * One figure with the load on `loaded`, sampling the CPU of every running node and of PostgreSQL,
 * what PostgreSQL's backends were doing, and each loaded node's group committer over the window.
 * @param {import('./scenarios.mjs').Scenario} scenario
 * @param {import('./servers.mjs').StrongroomServer[]} loaded
 * @param {Cluster} cluster
 * @param {unknown} state
 * @param {Measure} measure
 * @param {string} label
 * @returns {Promise<Record<string, any>>}
 */
async function measureOn(scenario, loaded, cluster, state, measure, label) {
  const { running, postgres, adminToken } = cluster
  /** @type {import('./postgres.mjs').ActivityWatch | null} */
  let watch = null
  /** @type {ReturnType<import('./postgres.mjs').ActivityWatch['stop']> | null} */
  let watched = null
  /** @type {Promise<CommitterTotals[]>[]} */
  const scrapes = []
  let windowStart = 0
  let windowMs = 0
  const figure = await measure(
    scenario,
    {
      baseUrls: loaded.map((node) => node.baseUrl),
      serverCpuMs: () => cpuOf(running),
      postgresCpuMs: postgres.cpuMs,
      atWindowEdge: (edge) => {
        scrapes.push(Promise.all(loaded.map((node) => committerTotals(node.baseUrl, adminToken))))
        if (edge === 'start') {
          windowStart = performance.now()
          watch = postgres.watchActivity()
        } else {
          windowMs = performance.now() - windowStart
          watched = watch?.stop() ?? null
        }
      },
    },
    state,
    label,
  )
  const activity = await /** @type {typeof watched} */ (watched)
  const committers = await committerFigures(scrapes, windowMs)
  return {
    ...figure,
    loadedNodes: loaded.length,
    reading: reading(figure, committers, activity),
    committers,
    ...(activity
      ? {
          postgresBackends: {
            samples: activity.samples,
            meanInEachState: activity.backends,
            meanQueuedForARowLockOf: activity.rowLockQueue,
            ...(activity.failed ? { failed: activity.failed } : {}),
          },
        }
      : {}),
  }
}

/**
 * What limited a figure, in a sentence, from what was measured: CPU if the machine had little
 * idle time left, else the commit path (the committers, their transactions waiting for the node,
 * row locks, WAL flushes). The thresholds are rules of thumb; the numbers are beside it.
 * @param {Record<string, any>} figure
 * @param {ReturnType<typeof committerFigures> extends Promise<infer T> ? T : never} committers
 * @param {{ backends: Record<string, number>, rowLockQueue: Record<string, number> } | null} activity
 */
function reading(figure, committers, activity) {
  const cores = cpus().length
  const cpu = figure.cpuPercent
  const idle = typeof cpu.idle === 'number' ? cpu.idle / cores : Number.NaN
  const parts = [
    `${idle < 15 ? 'CPU-bound' : 'not CPU-bound'}: ${Math.round(idle)}% of the ${cores} cores idle ` +
      `(% of one core: nodes ${cpu.server}, PostgreSQL ${cpu.postgres}, generator ${cpu.loadGenerator})`,
  ]
  if (Array.isArray(committers) && committers.every((c) => c.busy >= 0.9)) {
    const least = Math.min(100, Math.round(Math.min(...committers.map((c) => c.busy)) * 100))
    const commits = committers.map((c) => `${c.unitsPerCommit} writes per ${c.meanCommitMs} ms commit`)
    parts.push(
      `every loaded node's group committer was inside a transaction ${least}% of the time or more ` +
        `(${commits.join(', ')}): the writes queue behind it`,
    )
  }
  if (activity) {
    /** @param {(state: string) => boolean} match */
    const mean = (match) =>
      Math.round(Object.entries(activity.backends).reduce((n, [k, v]) => n + (match(k) ? v : 0), 0) * 100) /
      100
    const waitingForNode = mean((k) => k.startsWith('idle in transaction'))
    const onLocks = mean((k) => k.startsWith('active (Lock:'))
    const onWal = mean((k) => k.includes('WAL'))
    const onCpu = mean((k) => k === 'active (on CPU)')
    if (waitingForNode >= 0.5) {
      parts.push(
        `an open transaction was waiting for its node's next statement most of the time (mean ${waitingForNode}; ` +
          `PostgreSQL backends on the CPU: ${onCpu})`,
      )
    }
    if (onLocks >= 0.3) {
      const tables = Object.keys(activity.rowLockQueue).join(', ') || 'unknown'
      parts.push(
        `${onLocks} backends on average queued for a row lock (of ${tables}): the nodes' commits take turns`,
      )
    }
    if (onWal >= 0.3) parts.push(`${onWal} backends on average waited for a WAL flush (fsync)`)
  }
  return parts.join('; ')
}

/**
 * @typedef {{ commits: number, commitSeconds: number, units: number }} CommitterTotals
 */

/**
 * A node's group-commit totals so far, from its metrics (`GET /admin/v1/metrics`).
 * @param {string} baseUrl
 * @param {string} adminToken
 * @returns {Promise<CommitterTotals>}
 */
async function committerTotals(baseUrl, adminToken) {
  const response = await fetch(`${baseUrl}/admin/v1/metrics`, {
    headers: { authorization: `Bearer ${adminToken}` },
  })
  const text = await response.text()
  if (response.status !== 200) {
    throw new Error(`GET /admin/v1/metrics: HTTP ${response.status}: ${text.slice(0, 200)}`)
  }
  /** @param {string} name */
  const value = (name) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{}`))
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN
  }
  return {
    commits: value('strongroom_audit_commit_duration_seconds_count'),
    commitSeconds: value('strongroom_audit_commit_duration_seconds_sum'),
    units: value('strongroom_audit_commit_batch_size_sum'),
  }
}

/**
 * Per loaded node, over the window: group commits per second, units (writes) per commit, the mean
 * commit's duration (its transaction, from BEGIN to a durable COMMIT), and `busy`, the share of the
 * window the committer spent inside a transaction. A node commits one batch at a time, so a `busy`
 * near 1 means its writes queue behind its committer: the node's serial commit path is the limit.
 * @param {Promise<CommitterTotals[]>[]} scrapes at the window's start and end
 * @param {number} windowMs
 */
async function committerFigures(scrapes, windowMs) {
  try {
    const [before, after] = await Promise.all(scrapes)
    if (!before || !after) return null
    return after.map((b, i) => {
      const a = before[i]
      const commits = b.commits - a.commits
      const seconds = b.commitSeconds - a.commitSeconds
      return {
        commitsPerSecond: Math.round(commits / (windowMs / 1000)),
        unitsPerCommit: Math.round(((b.units - a.units) / commits) * 10) / 10,
        meanCommitMs: Math.round((seconds / commits) * 1e4) / 10,
        busy: Math.round((seconds / (windowMs / 1000)) * 100) / 100,
      }
    })
  } catch (error) {
    return { failed: error instanceof Error ? error.message : String(error) }
  }
}
