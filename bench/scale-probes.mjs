// @ts-check
/**
 * The measuring tools of bench/scale.mjs: latency of one request repeated over one keep-alive
 * connection (the main bench's raw client, so the client's cost stays small and alike on both
 * sides of a ratio), `strongroom audit verify` offline with its peak memory, and a database's
 * size on disk.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { percentile } from './load.mjs'
import { RawConnection, requestBytes } from './raw-connection.mjs'
import { CLI_BIN } from './scale-server.mjs'

const here = import.meta.dirname

/**
 * @typedef {object} Probe one kind of request against one server
 * @property {string} baseUrl
 * @property {import('./load.mjs').RequestSpec} request
 * @property {(body: Buffer) => void} [check] throws when an answer is not what the figure assumes
 */

/**
 * Latencies (ms) of `calls` requests of each probe, one at a time, taking the probes in turn
 * (A, B, A, B…) so that whatever else the machine does falls on all of them alike. The first
 * `warmup` calls of each are not counted. Once `budgetMs` has passed (slow answers: a page that
 * takes a second) the rounds stop early, after `minCalls` at least.
 * @param {Record<string, Probe>} probes
 * @param {{ calls: number, warmup: number, budgetMs?: number, minCalls?: number }} options
 * @returns {Promise<Record<string, { p50Ms: number, p99Ms: number, calls: number }>>}
 */
export async function sampleLatencies(probes, { calls, warmup, budgetMs = Infinity, minCalls = 20 }) {
  const entries = Object.entries(probes).map(([name, probe]) => {
    const url = new URL(probe.baseUrl)
    const conn = new RawConnection(url.hostname, Number(url.port))
    const bytes = requestBytes(url.hostname, Number(url.port), probe.request)
    return { name, probe, conn, bytes, latencies: new Float64Array(calls) }
  })
  const deadline = Date.now() + budgetMs
  let counted = 0
  try {
    for (let i = 0; i < warmup + calls; i++) {
      if (i >= warmup + minCalls && Date.now() > deadline) break
      for (const e of entries) {
        const t0 = process.hrtime.bigint()
        const res = await e.conn.send(e.bytes)
        const ms = Number(process.hrtime.bigint() - t0) / 1e6
        if (res.status !== 200) {
          throw new Error(`${e.name}: HTTP ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`)
        }
        if (i === 0) e.probe.check?.(res.body)
        if (i >= warmup) e.latencies[i - warmup] = ms
      }
      if (i >= warmup) counted++
    }
  } finally {
    for (const e of entries) e.conn.close()
  }
  return Object.fromEntries(
    entries.map((e) => {
      const sorted = e.latencies.subarray(0, counted).sort()
      return [e.name, { p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), calls: counted }]
    }),
  )
}

/**
 * `strongroom audit verify --data-dir DIR --json` (offline, every chain) in a child process:
 * wall time, events checked and the process's peak RSS (bench/scale-rss.mjs, preloaded).
 * @param {string} dataDir
 */
export async function verifyOffline(dataDir) {
  const rssFile = join(dataDir, '..', `verify-rss-${process.pid}-${Date.now()}.json`)
  /** @type {Record<string, string>} */
  const env = {}
  // Only what the CLI needs: no STRONGROOM_INSTANCE or the like from the caller's shell.
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('STRONGROOM_')) env[k] = v
  env.STRONGROOM_SCALE_RSS_FILE = rssFile
  const started = process.hrtime.bigint()
  const { code, stdout, stderr } = await new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', join(here, 'scale-rss.mjs'), CLI_BIN, 'audit', 'verify', '--data-dir', dataDir, '--json'],
      { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (c) => {
      out += c
    })
    child.stderr.on('data', (c) => {
      err += c
    })
    child.once('error', reject)
    child.once('exit', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }))
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  if (code !== 0)
    throw new Error(`audit verify exited ${code}: ${stderr.slice(0, 500)}${stdout.slice(0, 500)}`)
  /** @type {{ instanceId: string, ok: boolean, checked: number }[]} */
  const results = JSON.parse(stdout)
  const broken = results.filter((r) => !r.ok)
  if (broken.length > 0) throw new Error(`audit verify found a broken chain: ${JSON.stringify(broken)}`)
  const rss = existsSync(rssFile) ? JSON.parse(readFileSync(rssFile, 'utf8')) : { maxRssKb: null }
  rmSync(rssFile, { force: true })
  const events = results.reduce((n, r) => n + r.checked, 0)
  return {
    events,
    seconds,
    eventsPerSecond: events / seconds,
    peakRssMb: rss.maxRssKb === null ? null : rss.maxRssKb / 1024,
  }
}

/** Bytes of the data dir's database: the file and, if any, its WAL. */
export function databaseBytes(/** @type {string} */ dataDir) {
  const size = (/** @type {string} */ f) => (existsSync(f) ? statSync(f).size : 0)
  const file = join(dataDir, 'strongroom.db')
  return size(file) + size(`${file}-wal`)
}
