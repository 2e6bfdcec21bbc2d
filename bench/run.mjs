// @ts-check
/**
 * `npm run bench`: measures the strongroom server over loopback and prints ONE JSON document on
 * stdout (progress goes to stderr); the same document is written to `bench/results/latest.json`.
 *
 *   node bench/run.mjs [--quick] [--duration S] [--warmup S] [--connections N] [--processes N]
 *                      [--nodes] [--only id,id]
 *
 * Every figure is requests/s and p50/p99 latency at `--connections` (50) concurrent keep-alive
 * connections, and its ratio to a raw `node:http` hello-world server measured in the same run with
 * the same load generator: the ceiling. The ceiling is measured first and again last; its figure is
 * the mean of both, and a spread between them above 20% is reported in `warnings` (the machine's
 * other work changed under the run, so the ratios are less trustworthy).
 *
 * Each strongroom scenario gets a fresh server on a fresh temporary data dir, so no figure depends
 * on the ones measured before it (a rotation run grows the database a reveal run would read).
 *
 * Load generator: ONE child process (`load.mjs`), always separate from the server under test and
 * from this orchestrator (which only waits and samples CPU), running 50 closed request loops, each
 * over its own raw keep-alive socket (`raw-connection.mjs`: prebuilt request bytes, a minimal
 * response parser). Measured on these 2-core machines: with `node:http`'s Agent as the client
 * (`--transport agent`) the client cost ≈ 250 µs of CPU per request, more than the raw server, and
 * capped the ceiling at ≈ 3.7–4.5k req/s whatever the number of generator processes; the raw
 * transport costs a fraction of that and the ceiling comes out at ≈ 19k req/s (about what
 * raw node:http reaches on a 2-core machine), with the server near a full core. Each figure reports the
 * server's and the generator's CPU (percent of one core) and the rest of the machine's, so this
 * stays checkable; `--processes N` splits the connections over N generator processes.
 *
 * The SDK's figures (bench/sdk.mjs) follow the scenarios: getApiKey against a raw fetch of the same
 * request, and 1,000 concurrent cold calls.
 *
 * Several nodes on one PostgreSQL (bench/nodes.mjs, issue 16), NOT in the default run: `--nodes`
 * adds them, or `--only nodes-obtain-credential,nodes-token-client-secret-post` picks them. Each
 * measures ObtainCredential or the token endpoint (client_secret_post) on one node, then on three
 * sharing one throwaway PostgreSQL (the generator's connections spread over the three nodes' ports,
 * no load balancer), and reports both with their ratio to the ceiling, the ratio three ÷ one, the
 * CPU of each node, of PostgreSQL's processes and of the generator, each loaded node's group
 * committer (from its metrics), what PostgreSQL's backends were doing (sampled from
 * pg_stat_activity and pg_locks) and a one-line `reading` of what limited the figure. They need
 * PostgreSQL installed, and add 6 runs of warm-up + measured time (each pair follows an unmeasured
 * run warming all three nodes alike) and ~5 s of start-up: ~80 s by default, which takes the
 * default run past 3 minutes. The JSON's `nodes` says when they were not run.
 *
 * Default runtime: 2 s warm-up + 10 s measured per figure, 10 figures (the ceiling twice), the
 * SDK's 22 s, plus a server start and setup per scenario: about 150 s (≈ 230 s with `--nodes`).
 * `--quick`: 1 s + 3 s.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runLoadInProcesses } from './load.mjs'
import { machineCpu, machineInfo } from './machine.mjs'
import { measureNodes } from './nodes.mjs'
import { CEILING, NODES_SCENARIOS, SCENARIOS } from './scenarios.mjs'
import { measureSdk } from './sdk.mjs'
import { adminTarget, startRawServer, startStrongroomServer, stopAllServers } from './servers.mjs'

const here = dirname(fileURLToPath(import.meta.url))

/** The SDK's figures (bench/sdk.mjs): getApiKey against a raw fetch, and 1,000 cold calls. */
const SDK_ID = 'sdk'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    processes: { type: 'string', default: '1' },
    transport: { type: 'string', default: 'raw' },
    nodes: { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
})

const ALL_IDS = [...SCENARIOS.map((s) => s.id), SDK_ID, ...NODES_SCENARIOS.map((s) => s.id)]

if (flags.help) {
  process.stderr.write(
    [
      'usage: node bench/run.mjs [options]',
      '  --quick            3 s measured, 1 s warm-up per figure (default 10 s and 2 s)',
      '  --duration S      measured seconds per figure',
      '  --warmup S        discarded warm-up seconds per figure',
      '  --connections N   concurrent keep-alive connections (default 50)',
      '  --processes N     load-generator processes sharing the connections (default 1)',
      '  --nodes           also 1 node vs 3 nodes on one PostgreSQL (not in the default run: ~80 s more)',
      `  --only ID,…       only these scenarios (${ALL_IDS.join(', ')}); the ceiling always runs`,
      '',
    ].join('\n'),
  )
  process.exit(0)
}

/**
 * @param {string | undefined} value
 * @param {number} fallback
 * @param {string} name
 */
function positive(value, fallback, name) {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`--${name} must be a positive number, not ${value}\n`)
    process.exit(2)
  }
  return n
}

const durationS = positive(flags.duration, flags.quick ? 3 : 10, 'duration')
const warmupS = positive(flags.warmup, flags.quick ? 1 : 2, 'warmup')
const connections = Math.round(positive(flags.connections, 50, 'connections'))
const processes = Math.round(positive(flags.processes, 1, 'processes'))
const transport = /** @type {'raw' | 'agent'} */ (flags.transport)
if (transport !== 'raw' && transport !== 'agent') {
  process.stderr.write('--transport is raw or agent\n')
  process.exit(2)
}
const only = flags.only?.split(',').map((s) => s.trim())
const unknown = only?.filter((id) => !ALL_IDS.includes(id)) ?? []
if (unknown.length > 0) {
  process.stderr.write(`no scenario ${unknown.join(', ')}; there are ${ALL_IDS.join(', ')}\n`)
  process.exit(2)
}
const scenarios = only ? SCENARIOS.filter((s) => only.includes(s.id)) : SCENARIOS
const runSdk = only === undefined || only.includes(SDK_ID)
/** `--nodes` adds every several-nodes figure, to the default run or to those `--only` picks. */
const nodesScenarios = NODES_SCENARIOS.filter((s) => flags.nodes || only?.includes(s.id))

/** @param {string} message */
const log = (message) => process.stderr.write(`[bench] ${message}\n`)
/** @param {number} n @param {number} digits */
const round = (n, digits) => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : null)

/**
 * @typedef {{
 *   serverCpuMs: (number | null)[],
 *   postgresCpuMs: number | null,
 *   machine: { busyMs: number, totalMs: number } | null,
 * }} Sample
 */

/**
 * What a single server process is measured as.
 * @param {import('./servers.mjs').RunningServer} server
 * @returns {import('./nodes.mjs').Measured}
 */
const single = (server) => ({ baseUrls: [server.baseUrl], serverCpuMs: () => [server.cpuMs()] })

/** Percent of one core used between two CPU times (ms) over `windowMs`; NaN if either is unknown. */
const percent = (
  /** @type {number | null} */ a,
  /** @type {number | null} */ b,
  /** @type {number} */ windowMs,
) => (a !== null && b !== null ? ((b - a) / windowMs) * 100 : Number.NaN)

/**
 * One measured figure against running servers (several: the load is spread over them).
 * @param {import('./scenarios.mjs').Scenario} scenario
 * @param {import('./nodes.mjs').Measured} target
 * @param {unknown} state
 * @param {string} [label] added to the progress lines
 */
async function measure(scenario, target, state, label) {
  const name = label ? `${scenario.name} [${label}]` : scenario.name
  log(`${name}: ${warmupS} s warm-up + ${durationS} s at ${connections} connections`)
  let sampled = 0
  const r = await runLoadInProcesses({
    baseUrl: target.baseUrls[0],
    baseUrls: target.baseUrls,
    connections,
    processes,
    warmupMs: warmupS * 1000,
    durationMs: durationS * 1000,
    scenarioId: scenario.id,
    transport,
    state,
    sample: () => {
      const sample = /** @type {Sample} */ ({
        serverCpuMs: target.serverCpuMs(),
        postgresCpuMs: target.postgresCpuMs?.() ?? null,
        machine: machineCpu(),
      })
      // Started after the CPU is read, so what the hook costs is outside the window.
      sampled++
      target.atWindowEdge?.(sampled === 1 ? 'start' : 'end')
      return sample
    },
  })
  const [a, b] = /** @type {[Sample, Sample]} */ (r.samples)
  const windowMs = r.windowMs
  const perServer = a.serverCpuMs.map((cpu, i) => percent(cpu, b.serverCpuMs[i] ?? null, windowMs))
  const serverPct = perServer.reduce((n, p) => n + p, 0)
  const postgresPct = target.postgresCpuMs ? percent(a.postgresCpuMs, b.postgresCpuMs, windowMs) : null
  const generatorPct = r.cpu.percentOfOneCore
  const machinePct =
    a.machine && b.machine ? ((b.machine.busyMs - a.machine.busyMs) / windowMs) * 100 : Number.NaN
  const machineTotalPct =
    a.machine && b.machine ? ((b.machine.totalMs - a.machine.totalMs) / windowMs) * 100 : Number.NaN
  const figure = {
    rps: round(r.rps, 0),
    p50Ms: round(r.p50Ms, 2),
    p99Ms: round(r.p99Ms, 2),
    /** Filled in once the ceiling's second run is in; declared here to keep the key order. */
    ratioToCeiling: /** @type {number | null} */ (null),
    maxMs: round(r.maxMs, 2),
    requests: r.requests,
    errors: r.errors,
    ...(r.errors > 0 ? { statuses: r.statuses, firstError: r.firstError } : {}),
    // Percent of ONE core over the measured window; `other` is the rest of the machine's busy time
    // (other processes, the kernel, steal): if it is large the figure was disturbed. `idle` is
    // what no one used (of 100 × the cores), iowait included. The machine's times come from
    // /proc/stat, counted per clock tick, the processes' are exact: both are within a few percent
    // (`other` can come out slightly negative).
    cpuPercent: {
      server: round(serverPct, 0),
      ...(perServer.length > 1 ? { perNode: perServer.map((p) => round(p, 0)) } : {}),
      ...(postgresPct !== null ? { postgres: round(postgresPct, 0) } : {}),
      loadGenerator: round(generatorPct, 0),
      other: round(machinePct - serverPct - (postgresPct ?? 0) - generatorPct, 0),
      idle: round(machineTotalPct - machinePct, 0),
    },
    ...(r.socketsOpened > connections ? { socketsOpened: r.socketsOpened } : {}),
  }
  const cpu = figure.cpuPercent
  log(
    `  ${figure.rps} req/s, p50 ${figure.p50Ms} ms, p99 ${figure.p99Ms} ms, ${r.errors} errors; ` +
      `CPU % of a core: server ${cpu.server}${cpu.perNode ? ` (${cpu.perNode.join(' + ')})` : ''}, ` +
      `${cpu.postgres !== undefined ? `postgres ${cpu.postgres}, ` : ''}` +
      `generator ${cpu.loadGenerator}, other ${cpu.other}, idle ${cpu.idle}`,
  )
  if (r.errors > 0) log(`  ERRORS: ${JSON.stringify(r.statuses)}; first: ${r.firstError}`)
  return figure
}

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    log(`${signal}: stopping the servers`)
    stopAllServers().finally(() => process.exit(130))
  })
}

/** @type {string[]} */
const warnings = []
/** False once any figure had errors or failed: a run with errors must not pass for a result. */
let ok = true
const started = Date.now()
const machine = machineInfo()

const raw = await startRawServer()
/** @type {Awaited<ReturnType<typeof measure>>[]} */
const ceilingRuns = []
/** @type {Record<string, unknown>[]} */
const results = []
/** @type {Record<string, unknown> | null} */
let sdkResult = null
/** @type {Record<string, any> | null} */
let nodesResult = null
try {
  ceilingRuns.push(await measure(CEILING, single(raw), null))

  for (const scenario of scenarios) {
    log(`${scenario.name}: starting a strongroom server`)
    /** @type {import('./servers.mjs').StrongroomServer | null} */
    let server = null
    try {
      server = await startStrongroomServer()
      const target = await adminTarget(server)
      const state = scenario.setup ? await scenario.setup(target) : null
      results.push({
        id: scenario.id,
        name: scenario.name,
        ...(await measure(scenario, single(server), state)),
      })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      log(`  FAILED: ${message}`)
      results.push({ id: scenario.id, name: scenario.name, failed: message })
    } finally {
      await server?.stop()
    }
  }

  if (nodesScenarios.length > 0) {
    try {
      nodesResult = await measureNodes({ scenarios: nodesScenarios, measure, log })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      log(`  several nodes FAILED: ${message}`)
      nodesResult = { failed: message }
    }
  }

  if (runSdk) {
    log('SDK: starting a strongroom server')
    /** @type {import('./servers.mjs').StrongroomServer | null} */
    let server = null
    try {
      server = await startStrongroomServer()
      sdkResult = await measureSdk({ server, warmupMs: warmupS * 1000, durationMs: durationS * 1000, log })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      log(`  FAILED: ${message}`)
      sdkResult = { failed: message }
    } finally {
      await server?.stop()
    }
  }

  ceilingRuns.push(await measure(CEILING, single(raw), null))
} finally {
  await raw.stop()
}

const ceilingRps = ceilingRuns.reduce((n, r) => n + (r.rps ?? 0), 0) / ceilingRuns.length
const mean = (/** @type {(r: (typeof ceilingRuns)[number]) => number | null} */ f) =>
  round(ceilingRuns.reduce((n, r) => n + (f(r) ?? Number.NaN), 0) / ceilingRuns.length, 2)
const ceilingSpread =
  (Math.max(...ceilingRuns.map((r) => r.rps ?? 0)) - Math.min(...ceilingRuns.map((r) => r.rps ?? 0))) /
  ceilingRps
const ceiling = {
  name: CEILING.name,
  rps: round(ceilingRps, 0),
  p50Ms: mean((r) => r.p50Ms),
  p99Ms: mean((r) => r.p99Ms),
  errors: ceilingRuns.reduce((n, r) => n + r.errors, 0),
  runs: ceilingRuns.map((r) => ({ rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, cpuPercent: r.cpuPercent })),
}
if (ceilingSpread > 0.2) {
  warnings.push(
    `the ceiling moved ${Math.round(ceilingSpread * 100)}% between the first and the last run: ` +
      'other work on the machine changed, ratios are approximate',
  )
}
for (const r of ceilingRuns) {
  if (r.errors > 0) {
    ok = false
    warnings.push(`ceiling: ${r.errors} ERRORS`)
  }
}
for (const r of results) {
  if (typeof r.rps === 'number') r.ratioToCeiling = round(r.rps / ceilingRps, 3)
  if (r.failed) {
    ok = false
    warnings.push(`${r.name}: FAILED: ${r.failed}`)
  } else if (/** @type {number} */ (r.errors) > 0) {
    ok = false
    warnings.push(`${r.name}: ${r.errors} ERRORS (${JSON.stringify(r.statuses)}), first: ${r.firstError}`)
  }
}

if (nodesResult?.failed) {
  ok = false
  warnings.push(`several nodes: FAILED: ${nodesResult.failed}`)
}
for (const r of nodesResult?.results ?? []) {
  if (r.failed) {
    ok = false
    warnings.push(`${r.id}: FAILED: ${r.failed}`)
    continue
  }
  for (const [which, figure] of [
    ['1 node', r.oneNode],
    ['3 nodes', r.threeNodes],
  ]) {
    if (typeof figure.rps === 'number') figure.ratioToCeiling = round(figure.rps / ceilingRps, 3)
    if (figure.errors > 0) {
      ok = false
      warnings.push(
        `${r.id} [${which}]: ${figure.errors} ERRORS (${JSON.stringify(figure.statuses)}), first: ${figure.firstError}`,
      )
    }
  }
}

if (sdkResult?.failed) {
  ok = false
  warnings.push(`SDK: FAILED: ${sdkResult.failed}`)
} else if (sdkResult && /** @type {number} */ (sdkResult.errors) > 0) {
  ok = false
  warnings.push(`SDK: ${sdkResult.errors} ERRORS`)
}

/** @param {unknown} value @returns {unknown} */
function roundNumbers(value) {
  if (typeof value === 'number') return round(value, 3)
  if (Array.isArray(value)) return value.map(roundNumbers)
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundNumbers(v)]))
  return value
}

const report = {
  ok,
  ...(warnings.length > 0 ? { warnings } : {}),
  machine: { ...machine, loadavgAtEnd: machineInfo().loadavg },
  connections,
  loadGeneratorProcesses: processes,
  loadGeneratorTransport: transport,
  warmupSeconds: warmupS,
  durationSeconds: durationS,
  ceiling,
  results,
  ...(sdkResult ? { sdk: roundNumbers(sdkResult) } : {}),
  nodes: nodesResult ?? {
    notRun:
      'one node vs three nodes on one PostgreSQL is not in the default run (about 80 s more): ' +
      `--nodes adds it, --only ${NODES_SCENARIOS.map((s) => s.id).join(',')} picks it`,
  },
  totalSeconds: round((Date.now() - started) / 1000, 1),
}
const json = `${JSON.stringify(report, null, 2)}\n`
process.stdout.write(json)
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results', 'latest.json'), json)
log(`${ok ? 'done' : 'done WITH ERRORS'} in ${report.totalSeconds} s; written to bench/results/latest.json`)
process.exitCode = ok ? 0 : 1
