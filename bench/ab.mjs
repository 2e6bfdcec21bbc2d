// @ts-check
/**
 * `node bench/ab.mjs --a DIR --b DIR --only SCENARIO`: two builds of the server, measured in
 * alternating runs on this machine, to say whether a change pays. A single pair of `npm run
 * bench` runs cannot: on these shared 2-core machines one scenario moves 5–15% between runs of
 * the same build, as much as most changes are worth.
 *
 * DIR is a copy of `packages/server/dist` as one build made it, for example:
 *
 *   npx tsc -b && cp -r packages/server/dist /tmp/dist-b      # the change
 *   git stash -u && npx tsc -b && cp -r packages/server/dist /tmp/dist-a && git stash pop
 *   node bench/ab.mjs --a /tmp/dist-a --b /tmp/dist-b --only token-client-secret-post
 *
 * Each run puts its build in `packages/server/dist` (the CLI's server), starts a fresh server on a
 * fresh data dir, sets the scenario up and measures it as `npm run bench` does (`--warmup`,
 * `--duration`, 50 connections). Rounds alternate the order (A B, B A, …) so that neither build
 * always runs first. `packages/server/dist` is put back as it was at the end, or on SIGINT (it is
 * kept meanwhile as `packages/server/dist.ab-saved-PID`; after a `kill -9`, move that back, or
 * `rm -rf packages/server/dist* && npx tsc -b --force`).
 *
 * Prints one JSON document: every run (req/s, p99, the server's µs of CPU per request) and, per
 * build, the mean CPU per request, with the number of rounds in which B used less than A. CPU per
 * request is the figure to compare: req/s also moves with the load generator's share of the cores.
 */
import { cpSync, existsSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runLoadInProcesses } from './load.mjs'
import { SCENARIOS } from './scenarios.mjs'
import { adminTarget, repoRoot, startStrongroomServer, stopAllServers } from './servers.mjs'

const { values: flags } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    only: { type: 'string' },
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
  },
  strict: true,
})

/** @param {string} message @returns {never} */
const usage = (message) => {
  process.stderr.write(
    `${message}\nusage: node bench/ab.mjs --a DIR --b DIR --only SCENARIO [--rounds N] [--duration S] [--warmup S]\n` +
      `  scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}\n`,
  )
  process.exit(2)
}
/** @param {string} name @param {string} value */
const positive = (name, value) => {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) usage(`--${name} must be a positive number, not ${value}`)
  return n
}
const builds = /** @type {const} */ ({ a: flags.a, b: flags.b })
for (const [label, dir] of Object.entries(builds)) {
  if (dir === undefined) usage(`--${label} is required: a copy of packages/server/dist`)
  if (!existsSync(join(dir, 'index.js')))
    usage(`--${label} ${dir} has no index.js: is it a copy of packages/server/dist?`)
}
const scenario =
  SCENARIOS.find((s) => s.id === flags.only) ?? usage(`--only names one scenario, not ${flags.only}`)
const rounds = Math.round(positive('rounds', flags.rounds))
const durationMs = positive('duration', flags.duration) * 1000
const warmupMs = positive('warmup', flags.warmup) * 1000

const dist = join(repoRoot, 'packages', 'server', 'dist')
// Beside it, so that the rename stays on one file system.
const saved = join(repoRoot, 'packages', 'server', `dist.ab-saved-${process.pid}`)
renameSync(dist, saved)
let restored = false
const restore = () => {
  if (restored) return
  restored = true
  rmSync(dist, { recursive: true, force: true })
  renameSync(saved, dist)
}
process.once('SIGINT', () => {
  void stopAllServers().finally(() => {
    restore()
    process.exit(130)
  })
})

/** @param {string} message */
const log = (message) => process.stderr.write(`[ab] ${message}\n`)
const round = (/** @type {number} */ n, /** @type {number} */ digits) =>
  Math.round(n * 10 ** digits) / 10 ** digits

/** @param {'a' | 'b'} label */
async function measure(label) {
  rmSync(dist, { recursive: true, force: true })
  cpSync(/** @type {string} */ (builds[label]), dist, { recursive: true })
  const server = await startStrongroomServer()
  try {
    const state = scenario.setup ? await scenario.setup(await adminTarget(server)) : null
    const r = await runLoadInProcesses({
      baseUrl: server.baseUrl,
      baseUrls: [server.baseUrl],
      connections: 50,
      processes: 1,
      warmupMs,
      durationMs,
      scenarioId: scenario.id,
      transport: 'raw',
      state,
      sample: () => server.cpuMs(),
    })
    const [start, end] = /** @type {(number | null)[]} */ (r.samples)
    const cpuUs =
      start != null && end != null ? ((end - start) * 1000) / ((r.rps * r.windowMs) / 1000) : Number.NaN
    const run = {
      build: label,
      rps: round(r.rps, 0),
      p99Ms: round(r.p99Ms, 2),
      serverCpuUsPerRequest: round(cpuUs, 1),
      errors: r.errors,
    }
    log(JSON.stringify(run))
    return run
  } finally {
    await server.stop()
  }
}

try {
  /** @type {Awaited<ReturnType<typeof measure>>[]} */
  const runs = []
  let bLower = 0
  for (let i = 0; i < rounds; i++) {
    /** @type {Record<string, number>} */
    const cpu = {}
    for (const label of /** @type {const} */ (i % 2 === 0 ? ['a', 'b'] : ['b', 'a'])) {
      const run = await measure(label)
      runs.push(run)
      cpu[label] = run.serverCpuUsPerRequest
    }
    if ((cpu.b ?? Number.NaN) < (cpu.a ?? Number.NaN)) bLower++
  }
  const mean = (/** @type {'a' | 'b'} */ label) => {
    const values = runs.filter((r) => r.build === label).map((r) => r.serverCpuUsPerRequest)
    return round(values.reduce((n, v) => n + v, 0) / values.length, 1)
  }
  const result = {
    scenario: scenario.id,
    builds,
    rounds,
    meanServerCpuUsPerRequest: { a: mean('a'), b: mean('b') },
    roundsWhereBUsedLess: bLower,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    runs,
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  if (result.errors > 0) process.exitCode = 1
} finally {
  restore()
}
