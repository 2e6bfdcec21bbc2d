// @ts-check
/**
 * `strongroom serve` on a data dir that outlives the server (bench/scale.mjs stops it, seeds the
 * database, copies the folder and starts it again): `startStrongroomServer` of servers.mjs always
 * makes a fresh folder and removes it on stop. Everything else is as there: a child process,
 * SQLite in the data dir, ready once `GET /readyz` answers 200.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { processCpuMs, repoRoot } from './servers.mjs'

export const CLI_BIN = join(repoRoot, 'packages/cli/dist/bin.js')

/**
 * @typedef {object} DataDirServer
 * @property {string} baseUrl where it listens (the `url` file it writes)
 * @property {string} adminToken the bootstrap admin token (`<dataDir>/admin-token`)
 * @property {string} dataDir
 * @property {number} pid
 * @property {() => number | null} cpuMs
 * @property {() => Promise<void>} stop SIGTERM, wait for the exit (SIGKILL after 10 s); the folder stays
 */

/** @type {Set<() => Promise<void>>} */
const running = new Set()

/** Stops every server of this module still running (an interrupted run). */
export async function stopDataDirServers() {
  await Promise.all([...running].map((stop) => stop()))
}

/**
 * @param {string} dataDir an existing folder, or an empty one for a first start
 * @param {{ publicUrl: string, timeoutMs?: number }} options `publicUrl` is the issuer of the
 *   workload tokens: the same for every server of copies of one database, so a token issued by
 *   one is accepted by the others
 * @returns {Promise<DataDirServer>}
 */
export async function startOnDataDir(dataDir, options) {
  if (!existsSync(CLI_BIN)) throw new Error(`${CLI_BIN} is missing: build first (npm run build)`)
  const urlFile = join(dataDir, 'url')
  // A stale `url` of an earlier start would name a port nobody listens on any more.
  rmSync(urlFile, { force: true })
  const child = spawn(
    process.execPath,
    [
      CLI_BIN,
      'serve',
      '--data-dir',
      dataDir,
      '--listen',
      '127.0.0.1:0',
      '--log-level',
      'warn',
      '--public-url',
      options.publicUrl,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  )
  let out = ''
  const keep = (/** @type {Buffer} */ chunk) => {
    out = (out + chunk.toString('utf8')).slice(-20_000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  /** @type {number | null | undefined} */
  let exitCode
  /** @type {Promise<void>} */
  const exited = new Promise((resolve) => {
    child.once('exit', (code) => {
      exitCode = code
      resolve()
    })
  })
  const stop = async () => {
    running.delete(stop)
    if (exitCode === undefined) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
  running.add(stop)
  // The banner shows the admin token: keep it out of error reports.
  const output = () => out.replace(/srat_[A-Za-z0-9_-]+/g, 'srat_…')
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  let baseUrl = ''
  try {
    for (;;) {
      if (exitCode !== undefined) throw new Error(`strongroom serve exited (${exitCode}):\n${output()}`)
      if (Date.now() > deadline) throw new Error(`strongroom serve not ready in time:\n${output()}`)
      if (baseUrl === '' && existsSync(urlFile))
        baseUrl = readFileSync(urlFile, 'utf8').trim().replace(/\/+$/, '')
      if (baseUrl !== '') {
        const status = await fetch(`${baseUrl}/readyz`).then(
          async (r) => {
            await r.body?.cancel()
            return r.status
          },
          () => 0,
        )
        if (status === 200) break
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  } catch (error) {
    await stop()
    throw error
  }
  const pid = /** @type {number} */ (child.pid)
  return {
    baseUrl,
    adminToken: readFileSync(join(dataDir, 'admin-token'), 'utf8').trim(),
    dataDir,
    pid,
    cpuMs: () => processCpuMs(pid),
    stop,
  }
}
