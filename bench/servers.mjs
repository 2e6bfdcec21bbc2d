// @ts-check
/**
 * Servers under test, each in its own child process (never in the load generator's event loop):
 * the raw `node:http` ceiling, a strongroom server on a fresh temporary data dir, and the token
 * endpoint's peer (oidc-provider, `oidc-provider-peer.mjs`).
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
export const repoRoot = join(here, '..')
const CLI_BIN = join(repoRoot, 'packages/cli/dist/bin.js')

/**
 * @typedef {object} RunningServer
 * @property {string} baseUrl
 * @property {number} pid
 * @property {() => number | null} cpuMs user+system CPU the process has used so far (null if unknown)
 * @property {() => string} output what the process wrote to stderr/stdout (for error reports)
 * @property {() => Promise<void>} stop SIGTERM, wait for exit (SIGKILL after 5 s), clean up
 */

/**
 * @param {import('node:child_process').ChildProcess} child
 * @param {() => void} [cleanup]
 * @returns {Omit<RunningServer, 'baseUrl'> & { exited: Promise<number | null> }}
 */
function track(child, cleanup) {
  let out = ''
  const keep = (/** @type {Buffer} */ chunk) => {
    out += chunk.toString('utf8')
    if (out.length > 20_000) out = out.slice(-20_000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode)
    else child.once('exit', (code) => resolve(code))
  })
  const pid = /** @type {number} */ (child.pid)
  const stop = async () => {
    running.delete(stop)
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    cleanup?.()
  }
  running.add(stop)
  return {
    pid,
    exited,
    cpuMs: () => processCpuMs(pid),
    // The banner shows the throwaway admin token; keep it out of error reports all the same.
    output: () => out.replace(/srat_[A-Za-z0-9_-]+/g, 'srat_…'),
    stop,
  }
}

/** @type {Set<() => Promise<void>>} the `stop` of every server started and not yet stopped */
const running = new Set()
/** @type {Set<() => Promise<void>>} what servers depend on (a PostgreSQL server): stopped after them */
const beneath = new Set()

/**
 * Has `stopAllServers` also run `stop`, once every server is stopped (their database, say).
 * @param {() => Promise<void>} stop must be safe to call again
 */
export function registerCleanup(stop) {
  beneath.add(stop)
}

/** Stops every server still running and removes its data dir (for an interrupted run). */
export async function stopAllServers() {
  await Promise.all([...running].map((stop) => stop()))
  await Promise.all([...beneath].map((stop) => stop()))
}

/** @returns {Promise<RunningServer>} */
export async function startRawServer() {
  const child = spawn(process.execPath, [join(here, 'raw-server.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] })
  const t = track(child)
  const port = await listeningPort(child, t, 'raw server')
  return { ...t, baseUrl: `http://127.0.0.1:${port}` }
}

/**
 * The port a child prints as `listening PORT` on stdout; rejects if it exits first.
 * @param {import('node:child_process').ChildProcess} child
 * @param {ReturnType<typeof track>} t
 * @param {string} what named in the error
 * @returns {Promise<number>}
 */
function listeningPort(child, t, what) {
  return new Promise((resolve, reject) => {
    const onData = () => {
      const match = /listening (\d+)/.exec(t.output())
      if (match) {
        child.stdout?.off('data', onData)
        resolve(Number(match[1]))
      }
    }
    child.stdout?.on('data', onData)
    t.exited.then((code) => reject(new Error(`${what} exited (${code}): ${t.output()}`)))
  })
}

/**
 * @typedef {RunningServer & { clientId: string, clientSecret: string, version: string }} PeerServer
 */

/**
 * Starts the token endpoint's peer (`oidc-provider-peer.mjs`: oidc-provider, JWT EdDSA tokens,
 * `client_secret_post`, tokens not stored) with a client made up here, allowed `scope`; its token
 * endpoint is `/token`. Production mode (NODE_ENV) and no `DEBUG`, whatever this process has.
 * @param {{ scope: string }} options
 * @returns {Promise<PeerServer>}
 */
export async function startOidcProviderPeer({ scope }) {
  const clientId = 'bench'
  const clientSecret = randomBytes(32).toString('base64url')
  const { DEBUG: _debug, ...env } = process.env
  const child = spawn(process.execPath, [join(here, 'oidc-provider-peer.mjs')], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...env,
      NODE_ENV: 'production',
      PEER_CLIENT_ID: clientId,
      PEER_CLIENT_SECRET: clientSecret,
      PEER_SCOPE: scope,
    },
  })
  const t = track(child)
  try {
    const port = await listeningPort(child, t, 'oidc-provider')
    const { version } = JSON.parse(
      readFileSync(join(repoRoot, 'node_modules/oidc-provider/package.json'), 'utf8'),
    )
    return { ...t, baseUrl: `http://127.0.0.1:${port}`, clientId, clientSecret, version }
  } catch (error) {
    await t.stop()
    throw error
  }
}

/**
 * @typedef {RunningServer & { adminToken: string, dataDir: string }} StrongroomServer
 */

/**
 * @typedef {object} ServerOptions
 * @property {number} [timeoutMs] until ready (default 30 s)
 * @property {string} [db] a `postgres://` URL; default: SQLite in the data dir
 * @property {number} [port] default: any free port
 * @property {string} [publicUrl] `--public-url`: the same on every node of one database
 * @property {string} [rootKey] base64: the same on every node of one database (default: the data dir's)
 * @property {number} [workers] `--workers N`: a primary forking N processes that share the port and
 *   the database (with 1 the server still runs alone, in one process: the primary is for N > 1);
 *   `cpuMs` is then the whole process tree's. Default: one process, its own CPU only.
 */

/**
 * Starts `strongroom serve` on a temporary data dir (SQLite, the embedded default, unless `db`) and
 * waits until it answers `GET /readyz` with 200. On a database another node bootstrapped there is
 * no admin token file: `adminToken` is then ''.
 * @param {ServerOptions} [options]
 * @returns {Promise<StrongroomServer>}
 */
export async function startStrongroomServer(options = {}) {
  if (!existsSync(CLI_BIN)) {
    throw new Error(`${CLI_BIN} is missing: build first (npm run build, or npx tsc -b)`)
  }
  const timeoutMs = options.timeoutMs ?? 30_000
  const dataDir = mkdtempSync(join(tmpdir(), 'strongroom-bench-'))
  const args = [
    'serve',
    '--data-dir',
    dataDir,
    '--listen',
    `127.0.0.1:${options.port ?? 0}`,
    '--log-level',
    'warn',
  ]
  if (options.db) args.push('--db', options.db)
  if (options.publicUrl) args.push('--public-url', options.publicUrl)
  if (options.workers !== undefined) args.push('--workers', String(options.workers))
  /** @type {Record<string, string>} */
  const env = { NO_COLOR: '1' }
  if (options.rootKey) env.STRONGROOM_ROOT_KEY = options.rootKey
  // How many processes serve is this option's choice, never the caller's environment's: with
  // STRONGROOM_WORKERS inherited, every single-process figure would read the CPU of an idle primary.
  const { STRONGROOM_WORKERS: _workers, ...inherited } = process.env
  // BENCH_SERVER_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`): node flags for the server
  // alone, to profile it under the bench's load; Node refuses --cpu-prof in NODE_OPTIONS.
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []
  const child = spawn(process.execPath, [...nodeArgs, CLI_BIN, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...inherited, ...env },
  })
  const tracked = track(child, () => rmSync(dataDir, { recursive: true, force: true }))
  // With workers the primary answers nothing: the CPU is its children's. Without, the one process's
  // own figure, as cheap to read as before (no walk of /proc).
  const t =
    options.workers === undefined ? tracked : { ...tracked, cpuMs: () => processTreeCpuMs(tracked.pid) }
  let exitCode = /** @type {number | null | undefined} */ (undefined)
  t.exited.then((code) => {
    exitCode = code
  })

  const deadline = Date.now() + timeoutMs
  const urlFile = join(dataDir, 'url')
  let baseUrl = ''
  try {
    for (;;) {
      if (exitCode !== undefined) throw new Error(`strongroom serve exited (${exitCode}):\n${t.output()}`)
      if (Date.now() > deadline)
        throw new Error(`strongroom serve not ready after ${timeoutMs} ms:\n${t.output()}`)
      if (baseUrl === '' && existsSync(urlFile)) {
        const text = readFileSync(urlFile, 'utf8').trim()
        if (text !== '') baseUrl = text.replace(/\/+$/, '')
      }
      if (baseUrl !== '') {
        const status = await fetch(`${baseUrl}/readyz`).then(
          (r) => r.body?.cancel().then(() => r.status) ?? r.status,
          () => 0,
        )
        if (status === 200) break
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    const tokenFile = join(dataDir, 'admin-token')
    const adminToken = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : ''
    return { ...t, baseUrl, adminToken, dataDir }
  } catch (error) {
    await t.stop()
    throw error
  }
}

/**
 * What a scenario's `setup` needs of a strongroom server: its URL, admin token and the token's
 * default instance (`GET /admin/v1/whoami`).
 * @param {StrongroomServer} server
 * @returns {Promise<import('./scenarios.mjs').Target>}
 */
export async function adminTarget(server) {
  const who = await fetch(`${server.baseUrl}/admin/v1/whoami`, {
    headers: { authorization: `Bearer ${server.adminToken}` },
  })
  if (who.status !== 200) throw new Error(`GET /admin/v1/whoami: HTTP ${who.status}: ${await who.text()}`)
  const { defaultInstanceId } = /** @type {{ defaultInstanceId: string }} */ (await who.json())
  return { baseUrl: server.baseUrl, adminToken: server.adminToken, instanceId: defaultInstanceId }
}

/** `getconf CLK_TCK`: 100 on every Linux kernel configuration in practical use. */
const CLOCK_TICKS = 100

/**
 * User+system CPU (ms) of a process, from /proc (Linux); null elsewhere. `reapedChildren` adds
 * that of its children that exited and were waited for (cutime+cstime).
 * @param {number} pid
 * @param {{ reapedChildren?: boolean }} [options]
 * @returns {number | null}
 */
export function processCpuMs(pid, options = {}) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which is in parentheses and may contain spaces).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    const reaped = options.reapedChildren ? Number(fields[13]) + Number(fields[14]) : 0
    return ((utime + stime + reaped) / CLOCK_TICKS) * 1000
  } catch {
    return null
  }
}

/** Whether this kernel lists a thread's children in /proc (CONFIG_PROC_CHILDREN, on in common kernels). */
const childrenFiles = existsSync(`/proc/${process.pid}/task/${process.pid}/children`)

/**
 * The processes `pid` forked that are still there (exited-but-unwaited ones included): each of
 * its threads' `children` file in /proc, as a child belongs to the thread that forked it; without
 * those files, every process in /proc whose parent is `pid` (slower: a read per process).
 * @param {number} pid
 * @returns {number[]}
 */
function childrenOf(pid) {
  /** @type {number[]} */
  const children = []
  /** @type {string[]} */
  let entries = []
  try {
    entries = readdirSync(childrenFiles ? `/proc/${pid}/task` : '/proc')
  } catch {
    return children // `pid` is gone, or there is no /proc
  }
  for (const entry of entries) {
    try {
      if (childrenFiles) {
        const text = readFileSync(`/proc/${pid}/task/${entry}/children`, 'utf8').trim()
        if (text !== '') children.push(...text.split(/\s+/).map(Number))
      } else if (/^\d+$/.test(entry)) {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
        // The parent's pid is the second field after the command name (in parentheses).
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry))
      }
    } catch {
      // That thread or process ended while /proc was read: the others still count.
    }
  }
  return children
}

/**
 * A process and its descendants, the process first; `[pid]` alone where there is no /proc.
 * @param {number} pid
 * @returns {number[]}
 */
export function processTree(pid) {
  const tree = [pid]
  for (let i = 0; i < tree.length; i++) tree.push(...childrenOf(tree[i]))
  return tree
}

/**
 * User+system CPU (ms) of a process and all its descendants (`processTree`), including the CPU of
 * their children that exited and were waited for (cutime+cstime): a worker that dies and is
 * started again inside a window then still counts, so the sum never goes back. Null if the root's
 * is unknown.
 * @param {number} pid
 * @returns {number | null}
 */
export function processTreeCpuMs(pid) {
  let total = 0
  for (const member of processTree(pid)) {
    const ms = processCpuMs(member, { reapedChildren: true })
    if (ms === null && member === pid) return null
    total += ms ?? 0
  }
  return total
}

/**
 * A TCP port free on 127.0.0.1 now (another process could take it before it is used: unlikely here).
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}
