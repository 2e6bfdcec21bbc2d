// @ts-check
/**
 * `npm run bench`: measures the strongroom server over loopback and prints ONE JSON document on
 * stdout (progress goes to stderr); the same document is written to `bench/results/latest.json`.
 *
 *   node bench/run.mjs [--quick] [--duration S] [--warmup S] [--connections N] [--processes N]
 *                      [--nodes] [--workers] [--scale] [--only id,id]
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
 * transport costs a fraction of that and the ceiling came out at ≈ 19k req/s when this was written
 * (55–90k req/s on the same kind of machine in December 2026), with the server near a full core and
 * the generator using a fifth of a core or less at strongroom's rates. Each figure reports the
 * server's and the generator's CPU (percent of one core) and the rest of the machine's, so this
 * stays checkable; `--processes N` splits the connections over N generator processes.
 *
 * The token endpoint's peer (issue 15): oidc-provider, a dev dependency used only here, in its own
 * process (`oidc-provider-peer.mjs`: client credentials, `client_secret_post`, JWT access tokens
 * signed EdDSA for a resource server, tokens not stored, production mode, no logging). It is
 * measured right after strongroom's `token-client-secret-post`, with the same request (form body:
 * grant_type, client_id, client_secret, scope), load generator and connections, and followed by
 * strongroom's figure once more on a fresh server; before each is measured, one request checks the
 * answer is 200 with a JWT whose header says EdDSA. `tokenVsOidcProvider` is the mean of
 * strongroom's two runs ÷ oidc-provider's (their spread above 20% is a warning, as the ceiling's);
 * the JSON's `oidcProvider` has both sides' figures, their CPU per request and what each does per
 * token. The three run whenever `token-client-secret-post` does (picking either id with `--only`
 * runs them). oidc-provider 9 prints an "Unsupported runtime" warning on Node 20: checked, the grant
 * works; the warning stays in the peer's captured output.
 *
 * `goals`: every row of issue 15's table with this run's figure beside its goal, `meetsGoal`, and
 * the figure when the issue was filed (bench/goals.mjs): ObtainCredential ÷ ceiling (≥ 0.40) and its
 * p99 (< 10 ms), token client_secret_post ÷ oidc-provider (≥ 3), token private_key_jwt ÷ ceiling
 * (≥ 0.10), ObtainCredential with DPoP ÷ ceiling (≥ 0.15), credential create and rotate ÷ ceiling
 * (≥ 0.20); one line per goal on stderr at the end. A goal not met does not make the run fail.
 *
 * The SDK's figures (bench/sdk.mjs) follow the scenarios: getApiKey against a raw fetch of the same
 * request, and 1,000 concurrent cold calls.
 *
 * Then `strongroom run`'s output masking (bench/masking.mjs, `--only masking`; a few seconds, no
 * server): lines a second with 2, 1,000 and 11,520 secrets, beside the per-secret search of before.
 *
 * Several nodes on one PostgreSQL (bench/nodes.mjs, issue 16), NOT in the default run: `--nodes`
 * adds them, or `--only nodes-obtain-credential,nodes-token-client-secret-post` picks them. Each
 * measures ObtainCredential (on one instance, and spread over four: each batch then holds four
 * chain heads, where PostgreSQL nodes once deadlocked) or the token endpoint (client_secret_post)
 * on one node, then on three
 * sharing one throwaway PostgreSQL (the generator's connections spread over the three nodes' ports,
 * no load balancer), and reports both with their ratio to the ceiling, the ratio three ÷ one, the
 * CPU of each node, of PostgreSQL's processes and of the generator, each loaded node's group
 * committer (from its metrics), what PostgreSQL's backends were doing (sampled from
 * pg_stat_activity and pg_locks) and a one-line `reading` of what limited the figure. They need
 * PostgreSQL installed, and add 9 runs of warm-up + measured time (each pair follows an unmeasured
 * run warming all three nodes alike) and ~5 s of start-up: ~120 s by default, which takes the
 * default run past 3 minutes. The JSON's `nodes` says when they were not run.
 *
 * One worker vs two (`serve --workers N`, node:cluster, on SQLite: bench/workers.mjs), NOT in the
 * default run: `--workers` adds them, or `--only workers-obtain-credential,…` picks them. Each of
 * ObtainCredential (with and without DPoP), the token endpoint (client_secret_post and
 * private_key_jwt) and credential create is measured on a
 * server with `--workers 1` (the server alone, one process) and then on one with `--workers 2` (a
 * primary and two workers), each on a fresh data dir, set up and warmed by one unmeasured run first;
 * each figure reports its server's CPU summed over the process tree (and each process's share),
 * the µs of server CPU per request, and the pair the ratio two ÷ one. On these 2-core machines the
 * two workers share the cores with their primary and the load generator (the JSON's `workers` says
 * how many cores): the ratio is what a second worker gives here, not on a bigger machine. 4
 * runs of warm-up + measured time per scenario and ~3 s of start-up: ~250 s by default. The JSON's
 * `workers` says when they were not run; their errors make the run fail, as the scenarios' do.
 *
 * Cost as data grows (bench/scale.mjs), NOT in the default run: `--scale` adds it, `--only scale`
 * picks it (loaded only then). It seeds databases of up to 1M rows and runs after the ceiling's
 * second run, so its minutes do not sit between the two; it reports its own ratios (`scale` in the
 * JSON, a `notRun` note without it), and its goals join `goals`. `--quick` seeds a tenth.
 *
 * Default runtime: 2 s warm-up + 10 s measured per figure, 12 figures (the ceiling twice, strongroom's
 * token figure twice around oidc-provider's), the SDK's 22 s, plus a server start and setup per
 * scenario: about 180 s (≈ 300 s with `--nodes`, ≈ 330 s with `--workers`). `--quick`: 1 s + 3 s.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { goalLine, goalRows, scaleGoalRows } from './goals.mjs'
import { runLoadInProcesses } from './load.mjs'
import { machineCpu, machineInfo } from './machine.mjs'
import { measureMasking } from './masking.mjs'
import { measureNodes } from './nodes.mjs'
import {
  CEILING,
  NODES_SCENARIOS,
  OIDC_PROVIDER_PEER,
  SCENARIOS,
  TOKEN_SCOPE,
  WORKERS_SCENARIOS,
} from './scenarios.mjs'
import { measureSdk } from './sdk.mjs'
import {
  adminTarget,
  startOidcProviderPeer,
  startRawServer,
  startStrongroomServer,
  stopAllServers,
} from './servers.mjs'
import { compareTokenEndpoints } from './token-comparison.mjs'
import { measureWorkers } from './workers.mjs'

const here = dirname(fileURLToPath(import.meta.url))

/** The SDK's figures (bench/sdk.mjs): getApiKey against a raw fetch, and 1,000 cold calls. */
const SDK_ID = 'sdk'
/** `strongroom run`'s output masking with many secrets (bench/masking.mjs): a few seconds, no server. */
const MASKING_ID = 'masking'
/** Cost as data grows (bench/scale.mjs), not in the default run: `--scale` or `--only scale`. */
const SCALE_ID = 'scale'
/** strongroom's token figure that its oidc-provider peer is compared with. */
const TOKEN_ID = 'token-client-secret-post'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    processes: { type: 'string', default: '1' },
    transport: { type: 'string', default: 'raw' },
    nodes: { type: 'boolean', default: false },
    workers: { type: 'boolean', default: false },
    scale: { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
})

const ALL_IDS = [
  ...SCENARIOS.map((s) => s.id),
  OIDC_PROVIDER_PEER.id,
  SDK_ID,
  MASKING_ID,
  ...NODES_SCENARIOS.map((s) => s.id),
  ...WORKERS_SCENARIOS.map((s) => s.id),
  SCALE_ID,
]

if (flags.help) {
  process.stderr.write(
    [
      'usage: node bench/run.mjs [options]',
      '  --quick            3 s measured, 1 s warm-up per figure (default 10 s and 2 s)',
      '  --duration S      measured seconds per figure',
      '  --warmup S        discarded warm-up seconds per figure',
      '  --connections N   concurrent keep-alive connections (default 50)',
      '  --processes N     load-generator processes sharing the connections (default 1)',
      '  --nodes           also 1 node vs 3 nodes on one PostgreSQL (not in the default run: ~120 s more)',
      '  --workers         also serve --workers 1 vs 2 on SQLite (not in the default run: ~250 s more)',
      '  --scale           also the cost as data grows (bench/scale.mjs; not in the default run: slow)',
      `  --only ID,…       only these scenarios (${ALL_IDS.join(', ')}); the ceiling always runs, and`,
      `                    ${TOKEN_ID} and ${OIDC_PROVIDER_PEER.id} run together`,
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
/** The peer is compared with strongroom's token figure: either one picked runs both. */
const tokenPair = only === undefined || only.includes(TOKEN_ID) || only.includes(OIDC_PROVIDER_PEER.id)
const scenarios = only
  ? SCENARIOS.filter((s) => only.includes(s.id) || (tokenPair && s.id === TOKEN_ID))
  : SCENARIOS
const runSdk = only === undefined || only.includes(SDK_ID)
const runMasking = only === undefined || only.includes(MASKING_ID)
const runScale = flags.scale || only?.includes(SCALE_ID) === true
/** `--nodes` adds every several-nodes figure, to the default run or to those `--only` picks. */
const nodesScenarios = NODES_SCENARIOS.filter((s) => flags.nodes || only?.includes(s.id))
/** `--workers` adds every one-worker-vs-two figure, likewise. */
const workersScenarios = WORKERS_SCENARIOS.filter((s) => flags.workers || only?.includes(s.id))

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
  // A window edge's sample is missing when this process was starved of CPU for seconds (its timer
  // ran after the result came in): the figure stands, its CPU shares are then unknown (null).
  /** @type {Sample} */
  const unknown = { serverCpuMs: target.baseUrls.map(() => null), postgresCpuMs: null, machine: null }
  const [a, b] = /** @type {[Sample | null, Sample | null]} */ (r.samples).map((x) => x ?? unknown)
  if (r.samples.includes(null)) log('  (a CPU sample at the window edges is missing: CPU shares unknown)')
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

/**
 * One strongroom figure on a fresh server and data dir: the result's entry, with what the
 * scenario's setup checked of the server's answer (`answer`, if it checked one).
 * @param {import('./scenarios.mjs').Scenario} scenario
 * @param {string} [label]
 * @returns {Promise<Record<string, any>>}
 */
async function measureStrongroom(scenario, label) {
  log(`${scenario.name}${label ? ` [${label}]` : ''}: starting a strongroom server`)
  /** @type {import('./servers.mjs').StrongroomServer | null} */
  let server = null
  try {
    server = await startStrongroomServer()
    const target = await adminTarget(server)
    const state = scenario.setup ? await scenario.setup(target) : null
    const figure = await measure(scenario, single(server), state, label)
    return { id: scenario.id, name: scenario.name, ...figure, answer: answerOf(state) }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    log(`  FAILED: ${message}`)
    return { id: scenario.id, name: scenario.name, failed: message }
  } finally {
    await server?.stop()
  }
}

/**
 * The token endpoint's peer, oidc-provider, in its own process: the same request and load as
 * strongroom's `token-client-secret-post`.
 * @returns {Promise<Record<string, any>>}
 */
async function measurePeer() {
  const scenario = OIDC_PROVIDER_PEER
  log(`${scenario.name}: starting oidc-provider`)
  /** @type {import('./servers.mjs').PeerServer | null} */
  let peer = null
  try {
    peer = await startOidcProviderPeer({ scope: TOKEN_SCOPE })
    const state = await scenario.setup?.({
      baseUrl: peer.baseUrl,
      clientId: peer.clientId,
      clientSecret: peer.clientSecret,
    })
    const figure = await measure(scenario, single(peer), state)
    return {
      id: scenario.id,
      name: scenario.name,
      server: `oidc-provider ${peer.version}`,
      ...figure,
      answer: answerOf(state),
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    log(`  FAILED: ${message}`)
    return { id: scenario.id, name: scenario.name, failed: message }
  } finally {
    await peer?.stop()
  }
}

/** What a setup checked of the server's answer (the token's `alg` and `typ`), if anything. @param {unknown} state */
const answerOf = (state) =>
  state && typeof state === 'object' && 'answer' in state
    ? /** @type {{ answer: unknown }} */ (state).answer
    : undefined

const raw = await startRawServer()
/** @type {Awaited<ReturnType<typeof measure>>[]} */
const ceilingRuns = []
/** @type {Record<string, any>[]} */
const results = []
/** strongroom's token figure measured again right after its peer, on a fresh server. */
/** @type {Record<string, any> | null} */
let tokenAgain = null
/** @type {Record<string, any> | null} */
let peerResult = null
/** @type {Record<string, unknown> | null} */
let sdkResult = null
/** @type {Record<string, unknown> | null} */
let maskingResult = null
/** @type {Record<string, any> | null} */
let nodesResult = null
/** @type {Record<string, any> | null} */
let workersResult = null
/** @type {Record<string, any> | null} */
let scaleResult = null
try {
  ceilingRuns.push(await measure(CEILING, single(raw), null))

  for (const scenario of scenarios) {
    results.push(await measureStrongroom(scenario))
    // The peer between two runs of strongroom's token figure: a change on the machine during the
    // three shows as a spread between strongroom's two.
    if (scenario.id === TOKEN_ID && tokenPair) {
      peerResult = await measurePeer()
      tokenAgain = await measureStrongroom(scenario, 'again, after oidc-provider')
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

  if (workersScenarios.length > 0) {
    try {
      workersResult = await measureWorkers({ scenarios: workersScenarios, measure, log })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      log(`  one worker vs two FAILED: ${message}`)
      workersResult = { failed: message }
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

  if (runMasking) {
    try {
      maskingResult = measureMasking({ log, ms: flags.quick ? 300 : 1_000 })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      log(`  masking FAILED: ${message}`)
      maskingResult = { failed: message }
    }
  }

  ceilingRuns.push(await measure(CEILING, single(raw), null))
} finally {
  await raw.stop()
}

// After the ceiling's second run: it is slow, and its figures are ratios of its own.
if (runScale) {
  log('cost as data grows (bench/scale.mjs)')
  try {
    /** @type {{ measureScale: (options: { quick: boolean, log: (message: string) => void }) => Promise<Record<string, any>> }} */
    const scale = await import('./scale.mjs')
    scaleResult = await scale.measureScale({ quick: flags.quick, log })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    log(`  cost as data grows FAILED: ${message}`)
    scaleResult = { failed: message }
  }
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

// One worker vs two: each figure's ratio to the ceiling, and its failures and errors count as the
// scenarios' do (a figure with errors measured something else than the server working).
if (workersResult?.failed) {
  ok = false
  warnings.push(`one worker vs two: FAILED: ${workersResult.failed}`)
}
for (const r of workersResult?.results ?? []) {
  if (r.failed) {
    ok = false
    warnings.push(`${r.name} (workers): FAILED: ${r.failed}`)
    continue
  }
  for (const [key, figure] of [
    ['1 worker', r.oneWorker],
    ['2 workers', r.twoWorkers],
  ]) {
    if (typeof figure.rps === 'number') figure.ratioToCeiling = round(figure.rps / ceilingRps, 3)
    if (figure.errors > 0) {
      ok = false
      warnings.push(`${r.name} [${key}]: ${figure.errors} ERRORS (${JSON.stringify(figure.statuses)})`)
    }
  }
}

/** strongroom's token figure ÷ oidc-provider's: a goal of issue 15. */
/** @type {number | null} */
let tokenVsOidcProvider = null
/** @type {Record<string, any>} */
let oidcProvider = {
  notRun: `it runs with ${TOKEN_ID}: in the default run, or --only ${TOKEN_ID} (or ${OIDC_PROVIDER_PEER.id})`,
}
if (peerResult) {
  const compared = compareTokenEndpoints({
    before: results.find((r) => r.id === TOKEN_ID),
    peer: peerResult,
    after: tokenAgain,
    ceilingRps,
  })
  tokenVsOidcProvider = compared.tokenVsOidcProvider
  oidcProvider = compared.section
  warnings.push(...compared.warnings)
  if (compared.errors) ok = false
}

if (scaleResult?.failed) {
  ok = false
  warnings.push(`cost as data grows: FAILED: ${scaleResult.failed}`)
}

const goals = [
  ...goalRows({ result: (id) => results.find((r) => r.id === id && !r.failed), tokenVsOidcProvider }),
  ...scaleGoalRows(scaleResult),
]

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
  goals,
  tokenVsOidcProvider,
  oidcProvider,
  ...(sdkResult ? { sdk: roundNumbers(sdkResult) } : {}),
  ...(maskingResult ? { masking: roundNumbers(maskingResult) } : {}),
  nodes: nodesResult ?? {
    notRun:
      'one node vs three nodes on one PostgreSQL is not in the default run (about 120 s more): ' +
      `--nodes adds it, --only ${NODES_SCENARIOS.map((s) => s.id).join(',')} picks it`,
  },
  workers: workersResult ?? {
    notRun:
      'one worker vs two (serve --workers, SQLite) is not in the default run (about 150 s more): ' +
      `--workers adds it, --only ${WORKERS_SCENARIOS.map((s) => s.id).join(',')} picks it`,
  },
  scale: scaleResult ?? {
    notRun: `the cost as data grows is not in the default run (it is slow): --scale adds it, --only ${SCALE_ID} picks it`,
  },
  totalSeconds: round((Date.now() - started) / 1000, 1),
}
const json = `${JSON.stringify(report, null, 2)}\n`
process.stdout.write(json)
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results', 'latest.json'), json)
log('goals (issue 15):')
for (const row of goals) log(`  ${goalLine(row)}`)
log(`${ok ? 'done' : 'done WITH ERRORS'} in ${report.totalSeconds} s; written to bench/results/latest.json`)
process.exitCode = ok ? 0 : 1
