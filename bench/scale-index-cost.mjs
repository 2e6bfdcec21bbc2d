// @ts-check
/**
 * What migrations 0014 and 0016 cost each audited write: the audit key index (its tables,
 * filled in the background by audit/key-index.ts) and the token index.
 * `node bench/scale-index-cost.mjs [--rounds N] [--events N] [--quick]`.
 *
 * Two data dirs set up alike (the main bench's obtain-credential setup), then in one of them what
 * 0014 made dropped with the server stopped (the migration stays recorded, so it is not made
 * again; that server's key indexer finds no table and only logs a warning each second). With `--events N` both first get N seeded audit events (bench/scale-seed.mjs), so
 * the indexes are big and their inserts land on pages that are not all cached. Then the main
 * bench's obtain-credential load (one audit event per request) runs on each in turn, `--rounds`
 * times, so that the machine's other work falls on both alike; prints the JSON on stdout. Besides
 * req/s it reports the server's CPU time per answered request, which the machine's other work
 * disturbs far less than throughput on a shared machine.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runLoadInProcesses } from './load.mjs'
import { openSeeder, seedAuditEvents } from './scale-seed.mjs'
import { startOnDataDir, stopDataDirServers } from './scale-server.mjs'
import { scenarioById } from './scenarios.mjs'
import { adminTarget, repoRoot } from './servers.mjs'

const DROPPED = [
  'drop table audit_key_blocks',
  'drop table audit_key_marks',
  'drop index authentication_tokens_provider',
]
const PUBLIC_URL = 'http://strongroom-scale.test'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    events: { type: 'string', default: '0' },
    quick: { type: 'boolean', default: false },
  },
  strict: true,
})
const rounds = Number(values.rounds)
const events = Number(values.events)
const warmupMs = values.quick ? 1000 : 2000
const durationMs = values.quick ? 3000 : 10_000
const log = (/** @type {string} */ m) => process.stderr.write(`[index-cost] ${m}\n`)

const require = createRequire(join(repoRoot, 'packages/server/package.json'))
/** @type {typeof import('better-sqlite3')} */
const SQLite = require('better-sqlite3')

const root = mkdtempSync(join(tmpdir(), 'strongroom-index-cost-'))
const withIndexes = join(root, 'with')
const without = join(root, 'without')
mkdirSync(withIndexes, { mode: 0o700 })
try {
  const first = await startOnDataDir(withIndexes, { publicUrl: PUBLIC_URL })
  /** @type {any} */
  let state
  try {
    state = await scenarioById('obtain-credential').setup?.(await adminTarget(/** @type {any} */ (first)))
  } finally {
    await first.stop()
  }
  if (events > 0) {
    log(`seeding ${events} audit events`)
    const seeder = await openSeeder(withIndexes)
    try {
      const resources = seeder.sqlite.prepare('select id, identifier from credentials').all()
      const actors = Array.from({ length: 1000 }, (_, i) => `app_${String(i).padStart(26, '0')}`)
      await seedAuditEvents(seeder, { count: events, actors, resources: /** @type {any} */ (resources), log })
    } finally {
      await seeder.close()
    }
  }
  cpSync(withIndexes, without, { recursive: true })
  const db = new SQLite(join(without, 'strongroom.db'))
  for (const statement of DROPPED) db.exec(statement)
  db.close()

  const servers = {
    with: await startOnDataDir(withIndexes, { publicUrl: PUBLIC_URL }),
    without: await startOnDataDir(without, { publicUrl: PUBLIC_URL }),
  }
  /** @type {{ with: number[], without: number[] }} */
  const rps = { with: [], without: [] }
  /** @type {{ with: number[], without: number[] }} */
  const p99 = { with: [], without: [] }
  /** The server's CPU per answered request (µs): what the machine's other work disturbs least. */
  /** @type {{ with: number[], without: number[] }} */
  const cpuUs = { with: [], without: [] }
  try {
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so neither always follows the other.
      /** @type {('with' | 'without')[]} */
      const order = r % 2 === 0 ? ['without', 'with'] : ['with', 'without']
      for (const which of order) {
        const result = await runLoadInProcesses({
          baseUrl: servers[which].baseUrl,
          connections: 50,
          processes: 1,
          warmupMs,
          durationMs,
          scenarioId: 'obtain-credential',
          transport: 'raw',
          state,
          sample: () => servers[which].cpuMs(),
        })
        const [a, b] = /** @type {[number | null, number | null]} */ (result.samples)
        if (a !== null && b !== null)
          cpuUs[which].push(Math.round(((b - a) * 1000) / (result.rps * (durationMs / 1000))))
        if (result.errors > 0)
          throw new Error(`${which}: ${result.errors} errors, first: ${result.firstError}`)
        rps[which].push(Math.round(result.rps))
        p99[which].push(Math.round(result.p99Ms * 100) / 100)
        log(
          `round ${r + 1} ${which}: ${Math.round(result.rps)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, ` +
            `server CPU ${cpuUs[which].at(-1)} µs/request`,
        )
      }
    }
  } finally {
    await servers.with.stop()
    await servers.without.stop()
  }
  const mean = (/** @type {number[]} */ a) => a.reduce((n, x) => n + x, 0) / a.length
  const report = {
    droppedWithout: DROPPED,
    seededAuditEvents: events,
    warmupSeconds: warmupMs / 1000,
    durationSeconds: durationMs / 1000,
    rps,
    p99Ms: p99,
    serverCpuMicrosPerRequest: cpuUs,
    meanCpuMicrosPerRequest: { with: Math.round(mean(cpuUs.with)), without: Math.round(mean(cpuUs.without)) },
    meanRps: { with: Math.round(mean(rps.with)), without: Math.round(mean(rps.without)) },
    withOverWithout: Math.round((mean(rps.with) / mean(rps.without)) * 1000) / 1000,
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
} finally {
  await stopDataDirServers()
  rmSync(root, { recursive: true, force: true })
}
