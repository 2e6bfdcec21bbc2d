// @ts-check
/**
 * The load generator: N concurrent request loops over one keep-alive `http.Agent` with N sockets,
 * so each loop effectively owns one connection (closed-loop load, like autocannon's `-c`).
 *
 * One run is a warm-up followed by a measured window, without a pause between them: the loops keep
 * going and only requests that COMPLETE inside the measured window are counted (latency and
 * throughput), so the window sees steady state on already-open connections. When the window ends
 * no new request is issued and the ones in flight are drained but not counted.
 *
 * Why one in-process generator and not several child processes: see the note in `run.mjs` (measured
 * on the 2-core machines this runs on, a second generator process only takes CPU from the server).
 */
import { fork } from 'node:child_process'
import http from 'node:http'
import { RawConnection, requestBytes } from './raw-connection.mjs'

/**
 * @typedef {object} RequestSpec
 * @property {'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'} method
 * @property {string} path
 * @property {Record<string, string>} [headers]
 * @property {Buffer | string} [body]
 */

/**
 * @typedef {object} LoadOptions
 * @property {string} baseUrl `http://127.0.0.1:PORT`
 * @property {string[]} [baseUrls] several servers (nodes of one database): the loops are spread
 *   over them round robin, loop i on `baseUrls[(firstLoop + i) % length]`; default `[baseUrl]`
 * @property {number} [firstLoop] this generator's first loop's number among all generators' loops
 * @property {number} connections concurrent loops (and sockets)
 * @property {number} warmupMs discarded
 * @property {number} durationMs measured
 * @property {(seq: number) => RequestSpec} request builds the nth request (`seq` is unique per run)
 * @property {number} [expectStatus] a status other than 2xx is an error; if set, only this one is success
 * @property {'raw' | 'agent'} [transport] `raw` (default): one raw keep-alive socket per loop; `agent`: node:http's Agent
 * @property {bigint} [startAt] `process.hrtime.bigint()` time the run starts (default: now). The
 *   monotonic clock is system-wide on Linux, so generators in several processes given the same
 *   `startAt` share one measured window.
 */

/**
 * @typedef {object} LoadResult
 * @property {number} requests completed inside the measured window (successes and errors)
 * @property {number} rps successful requests per second in the measured window
 * @property {number} p50Ms
 * @property {number} p99Ms
 * @property {number} maxMs
 * @property {number} errors non-success responses plus network errors inside the window
 * @property {Record<string, number>} statuses status code (or `network`) → count, inside the window
 * @property {string | null} firstError the first error seen (status and a slice of the body), if any
 * @property {number} socketsOpened distinct sockets used over the whole run (> connections: keep-alive broke)
 * @property {{ userMs: number, systemMs: number, percentOfOneCore: number }} cpu this process, measured window
 * @property {number} windowMs the measured window's actual length
 * @property {Float64Array} latencies the successful requests' latencies (ms), ascending
 */

/**
 * @param {LoadOptions} options
 * @returns {Promise<LoadResult>}
 */
export async function runLoad(options) {
  const { connections, warmupMs, durationMs, request, expectStatus } = options
  const targets = (options.baseUrls ?? [options.baseUrl]).map((url) => {
    const base = new URL(url)
    return { hostname: base.hostname, port: Number(base.port) }
  })
  const firstLoop = options.firstLoop ?? 0
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections })

  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set()
  /** Latencies (ms) of successful requests completed inside the window. */
  let latencies = new Float64Array(1 << 16)
  let count = 0
  let requests = 0
  let errors = 0
  /** @type {Record<string, number>} */
  const statuses = {}
  /** @type {string | null} */
  let firstError = null

  const start = options.startAt ?? process.hrtime.bigint()
  const windowStart = start + BigInt(Math.round(warmupMs * 1e6))
  const windowEnd = windowStart + BigInt(Math.round(durationMs * 1e6))
  let measuring = false
  let stopped = false
  /** @type {NodeJS.CpuUsage | null} */
  let cpuAtStart = null
  /** @type {NodeJS.CpuUsage | null} */
  let cpuAtEnd = null
  let realStart = 0n
  let realEnd = 0n

  // Phase switches on timers, so CPU is sampled at the window's edges; completions are still
  // classified by their own hrtime (a timer that fires late does not shift which requests count).
  const untilWindow = Math.max(0, Number(windowStart - process.hrtime.bigint()) / 1e6)
  const untilEnd = Math.max(0, Number(windowEnd - process.hrtime.bigint()) / 1e6)
  const warmTimer = setTimeout(() => {
    measuring = true
    realStart = process.hrtime.bigint()
    cpuAtStart = process.cpuUsage()
  }, untilWindow)
  /** @type {Promise<void>} */
  const ended = new Promise((resolve) =>
    setTimeout(() => {
      stopped = true
      realEnd = process.hrtime.bigint()
      cpuAtEnd = process.cpuUsage(cpuAtStart ?? undefined)
      resolve()
    }, untilEnd),
  )

  let seq = 0

  /**
   * @param {bigint} t0
   * @param {bigint} t1
   * @param {string} status
   * @param {boolean} ok
   * @param {string} [detail]
   */
  function record(t0, t1, status, ok, detail) {
    if (t1 < windowStart || t1 > windowEnd) return
    requests++
    statuses[status] = (statuses[status] ?? 0) + 1
    if (!ok) {
      errors++
      if (firstError === null) firstError = `${status}${detail ? `: ${detail}` : ''}`
      return
    }
    if (count === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2)
      bigger.set(latencies)
      latencies = bigger
    }
    latencies[count++] = Number(t1 - t0) / 1e6
  }

  /**
   * One loop's connection over raw sockets (the default: see raw-connection.mjs).
   * @param {RawConnection} conn
   * @returns {Promise<void>}
   */
  async function onceRaw(conn) {
    const bytes = requestBytes(conn.host, conn.port, request(seq++))
    const t0 = process.hrtime.bigint()
    try {
      const res = await conn.send(bytes)
      const ok =
        expectStatus === undefined ? res.status >= 200 && res.status < 300 : res.status === expectStatus
      record(
        t0,
        process.hrtime.bigint(),
        String(res.status),
        ok,
        ok ? undefined : res.body.toString('utf8').slice(0, 300),
      )
    } catch (err) {
      record(t0, process.hrtime.bigint(), 'network', false, /** @type {Error} */ (err).message)
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  /**
   * @param {{ hostname: string, port: number }} target
   * @returns {Promise<void>}
   */
  function once({ hostname, port }) {
    const spec = request(seq++)
    const body = spec.body === undefined ? undefined : Buffer.from(spec.body)
    /** @type {Record<string, string | number>} */
    const headers = { ...spec.headers }
    if (body !== undefined) {
      headers['content-type'] ??= 'application/json'
      headers['content-length'] = body.length
    }
    return new Promise((resolve) => {
      const t0 = process.hrtime.bigint()
      const req = http.request(
        { agent, hostname, port, method: spec.method, path: spec.path, headers },
        (res) => {
          const status = res.statusCode ?? 0
          const ok = expectStatus === undefined ? status >= 200 && status < 300 : status === expectStatus
          if (ok) {
            res.resume()
            res.on('end', () => {
              record(t0, process.hrtime.bigint(), String(status), true)
              resolve()
            })
          } else {
            /** @type {Buffer[]} */
            const chunks = []
            res.on('data', (c) => chunks.push(c))
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8').slice(0, 300)
              record(t0, process.hrtime.bigint(), String(status), false, text)
              resolve()
            })
          }
          res.on('error', (err) => {
            record(t0, process.hrtime.bigint(), 'network', false, err.message)
            resolve()
          })
        },
      )
      req.on('socket', (s) => sockets.add(s))
      req.on('error', (err) => {
        record(t0, process.hrtime.bigint(), 'network', false, err.message)
        // Do not spin on a dead server: a short pause before the loop's next request.
        setTimeout(resolve, 10)
      })
      req.end(body)
    })
  }

  /** @type {RawConnection[]} */
  const raws = []
  /** @param {unknown} _ @param {number} i */
  async function loop(_, i) {
    const target = targets[(firstLoop + i) % targets.length]
    if (options.transport === 'agent') {
      while (!stopped) await once(target)
      return
    }
    const conn = new RawConnection(target.hostname, target.port)
    raws.push(conn)
    while (!stopped) await onceRaw(conn)
  }

  const loops = Array.from({ length: connections }, loop)
  await ended
  await Promise.all(loops)
  clearTimeout(warmTimer)
  agent.destroy()
  for (const conn of raws) conn.close()
  if (!measuring) throw new Error('the warm-up never ended (event loop blocked?)')

  const sorted = latencies.subarray(0, count).sort()
  const windowMs = Number(realEnd - realStart) / 1e6
  const cpu = cpuAtEnd ?? { user: 0, system: 0 }
  return {
    requests,
    rps: count / (durationMs / 1000),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: count === 0 ? Number.NaN : sorted[count - 1],
    errors,
    statuses,
    firstError,
    socketsOpened: sockets.size + raws.reduce((n, c) => n + c.opened, 0),
    cpu: {
      userMs: cpu.user / 1000,
      systemMs: cpu.system / 1000,
      percentOfOneCore: ((cpu.user + cpu.system) / 1000 / windowMs) * 100,
    },
    windowMs,
    latencies: sorted,
  }
}

/**
 * Nearest-rank percentile of an ascending array.
 * @param {Float64Array} sorted
 * @param {number} q in (0, 1]
 */
export function percentile(sorted, q) {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil(q * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

/**
 * @typedef {object} PoolOptions
 * @property {string} baseUrl
 * @property {string[]} [baseUrls] see LoadOptions: the connections of all processes together are
 *   spread evenly over these servers
 * @property {number} connections in total, split evenly over the processes
 * @property {number} processes load-generator child processes
 * @property {number} warmupMs
 * @property {number} durationMs
 * @property {'raw' | 'agent'} [transport] see LoadOptions
 * @property {string} scenarioId a scenario of `scenarios.mjs`, imported again by each process
 * @property {unknown} state what the scenario's `setup` returned
 * @property {() => unknown} [sample] called at the start and at the end of the measured window
 *   (e.g. to read the server's CPU time); the values are returned as `samples`
 */

/**
 * Runs the load from `processes` child processes (`load-worker.mjs`) sharing one measured window,
 * and merges their results. The orchestrator only waits meanwhile, so it takes no CPU from them.
 * @param {PoolOptions} options
 * @returns {Promise<LoadResult & { processes: number, samples: [unknown, unknown] }>}
 */
export async function runLoadInProcesses(options) {
  const { processes, connections } = options
  if (connections < processes) throw new Error('fewer connections than load-generator processes')
  const workerPath = new URL('./load-worker.mjs', import.meta.url)
  const children = Array.from({ length: processes }, () =>
    fork(workerPath, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  )
  try {
    /** @type {Promise<LoadResult>[]} */
    const results = []
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve, reject) => {
            child.once('message', resolve)
            child.once('exit', (code) => reject(new Error(`load generator exited (${code}) before starting`)))
          }),
      ),
    )
    // One start time for all: the window is the same wall-clock interval in every process.
    const startAt = String(process.hrtime.bigint())
    const sample = options.sample ?? (() => null)
    /** @type {[unknown, unknown]} */
    const samples = [null, null]
    const timers = [
      setTimeout(() => {
        samples[0] = sample()
      }, options.warmupMs),
      setTimeout(() => {
        samples[1] = sample()
      }, options.warmupMs + options.durationMs),
    ]
    let firstLoop = 0
    children.forEach((child, index) => {
      const share = Math.floor(connections / processes) + (index < connections % processes ? 1 : 0)
      results.push(
        new Promise((resolve, reject) => {
          child.once('message', (/** @type {any} */ message) => {
            if (message.type === 'result') resolve(message.result)
            else reject(new Error(`load generator: ${message.message}`))
          })
          child.once('exit', (code) => reject(new Error(`load generator exited (${code})`)))
        }),
      )
      child.send({
        type: 'run',
        baseUrl: options.baseUrl,
        baseUrls: options.baseUrls,
        firstLoop,
        connections: share,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        scenarioId: options.scenarioId,
        state: options.state,
        index,
        processes,
        startAt,
        transport: options.transport ?? 'raw',
      })
      firstLoop += share
    })
    const merged = merge(await Promise.all(results), options.durationMs)
    for (const t of timers) clearTimeout(t)
    // On a loaded machine the generators' results can arrive before the timer of the window's end
    // (or even its start) has fired: take the missing samples now rather than lose them.
    if (samples[0] === null) samples[0] = sample()
    if (samples[1] === null) samples[1] = sample()
    return { ...merged, processes, samples }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill()
  }
}

/**
 * @param {LoadResult[]} parts
 * @param {number} durationMs
 * @returns {LoadResult}
 */
function merge(parts, durationMs) {
  const total = parts.reduce((n, p) => n + p.latencies.length, 0)
  const latencies = new Float64Array(total)
  let at = 0
  for (const p of parts) {
    latencies.set(p.latencies, at)
    at += p.latencies.length
  }
  latencies.sort()
  /** @type {Record<string, number>} */
  const statuses = {}
  for (const p of parts) for (const [k, v] of Object.entries(p.statuses)) statuses[k] = (statuses[k] ?? 0) + v
  const sum = (/** @type {(p: LoadResult) => number} */ f) => parts.reduce((n, p) => n + f(p), 0)
  return {
    requests: sum((p) => p.requests),
    rps: total / (durationMs / 1000),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: total === 0 ? Number.NaN : latencies[total - 1],
    errors: sum((p) => p.errors),
    statuses,
    firstError: parts.find((p) => p.firstError !== null)?.firstError ?? null,
    socketsOpened: sum((p) => p.socketsOpened),
    cpu: {
      userMs: sum((p) => p.cpu.userMs),
      systemMs: sum((p) => p.cpu.systemMs),
      percentOfOneCore: sum((p) => p.cpu.percentOfOneCore),
    },
    windowMs: Math.max(...parts.map((p) => p.windowMs)),
    latencies,
  }
}
