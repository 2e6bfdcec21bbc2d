// @ts-check
/**
 * A throwaway PostgreSQL server for the several-nodes figures (bench/nodes.mjs), started as
 * `npm run cluster` starts its own (both find and run PostgreSQL's programs through
 * scripts/postgres-programs.mjs): `initdb` into a temporary folder, `pg_ctl start`, as user
 * `postgres` when we are root (PostgreSQL refuses to run as root), binaries on PATH or in Debian's
 * /usr/lib/postgresql/<version>/bin. PostgreSQL's defaults are kept (fsync and synchronous_commit
 * on), as a production server has them: the figures include a durable audit commit.
 *
 * `pg_ctl start` detaches the server from us, so it outlives this process unless stopped: `stop`
 * is registered with the servers' cleanup (Ctrl-C, failure) and, as a last resort, run
 * synchronously from an `exit` handler (an uncaught error). Only SIGKILL leaves it behind.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  asServerUser,
  findPostgres,
  runAsServerUser as run,
  runningAsRoot,
  SERVER_USER,
} from '../scripts/postgres-programs.mjs'
import { freePort, processCpuMs, registerCleanup } from './servers.mjs'

/**
 * @typedef {object} RunningPostgres
 * @property {string} url the `strongroom` database, `postgres://postgres@127.0.0.1:PORT/strongroom`
 * @property {string} version `server_version`
 * @property {Record<string, string>} settings the settings that bear on the figures
 * @property {() => number | null} cpuMs user+system CPU of every PostgreSQL process so far (ms)
 * @property {() => number} processes PostgreSQL processes running now
 * @property {() => ActivityWatch} watchActivity samples what the backends are doing, until `stop`
 * @property {() => Promise<void>} stop stops the server and removes its folder
 */

/**
 * @typedef {object} ActivityWatch
 * @property {() => Promise<{
 *   samples: number,
 *   backends: Record<string, number>,
 *   rowLockQueue: Record<string, number>,
 *   failed?: string,
 * }>} stop the mean number of the `strongroom` database's backends in each state over the
 *   samples, and of those queued for a row lock, per table
 */

/**
 * The PostgreSQL processes: the postmaster and its children (backends, WAL writer, checkpointer…).
 * @param {number} postmaster
 * @returns {number[]}
 */
function postgresPids(postmaster) {
  /** @type {number[]} */
  const pids = [postmaster]
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === postmaster) pids.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

/**
 * CPU (ms) of the postmaster's children that exited and were waited for: /proc/PID/stat's cutime
 * and cstime. A backend that ends inside the window still counts, here instead of in its own stat.
 * @param {number} pid
 */
function reapedChildrenCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[13]) + Number(fields[14])) / 100) * 1000
  } catch {
    return 0
  }
}

/** @returns {Promise<RunningPostgres>} */
export async function startPostgres() {
  const binaries = findPostgres()
  if (!binaries) {
    throw new Error(
      'PostgreSQL is not installed (initdb and pg_ctl were found neither on PATH nor under ' +
        '/usr/lib/postgresql/*/bin); e.g. apt-get install postgresql',
    )
  }
  const base = mkdtempSync(join(tmpdir(), 'strongroom-bench-pg-'))
  const data = join(base, 'data')
  const socket = join(base, 'sock')
  const log = join(base, 'postgres.log')
  mkdirSync(socket, { mode: 0o700 })
  if (runningAsRoot) {
    // PostgreSQL runs as `postgres`: it creates its data folder and log here, and its socket there.
    chmodSync(base, 0o755)
    spawnSync('chown', [`${SERVER_USER}:`, base, socket])
  }
  let started = false
  let stopped = false
  const stopSync = () => {
    if (stopped) return
    stopped = true
    if (started) {
      const [file, argv] = asServerUser(binaries.pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'])
      spawnSync(file, argv, { stdio: 'ignore', timeout: 30_000 })
    }
    rmSync(base, { recursive: true, force: true })
  }
  // The last resort: an uncaught error ends the process without running the `finally` blocks.
  process.once('exit', stopSync)
  const stop = async () => {
    if (stopped) return
    if (started) await run(binaries.pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => {})
    started = false
    stopSync()
    // Only now: the process may end while the server is stopping.
    process.off('exit', stopSync)
  }
  registerCleanup(stop)

  try {
    await run(binaries.initdb, [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
    ])
    const port = await freePort()
    started = true
    await run(binaries.pgCtl, [
      '-D',
      data,
      '-l',
      log,
      '-o',
      `-p ${port} -k ${socket} -c listen_addresses=127.0.0.1`,
      '-w',
      'start',
    ])
    const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
    const { default: pg } = await import('pg')
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` })
    await admin.connect()
    /** @type {Record<string, string>} */
    const settings = {}
    try {
      await admin.query('create database strongroom')
      const names = ['fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'max_connections']
      const rows = await admin.query('select name, setting, unit from pg_settings where name = any($1)', [
        names,
      ])
      for (const row of rows.rows)
        settings[row.name] = row.unit ? `${row.setting} × ${row.unit}` : row.setting
      settings.server_version = (await admin.query('show server_version')).rows[0].server_version
    } finally {
      await admin.end()
    }
    return {
      url: `postgres://postgres@127.0.0.1:${port}/strongroom`,
      version: settings.server_version,
      settings,
      cpuMs: () => {
        const pids = postgresPids(postmaster)
        let total = reapedChildrenCpuMs(postmaster)
        for (const pid of pids) total += processCpuMs(pid) ?? 0
        return pids.length > 0 ? total : null
      },
      processes: () => postgresPids(postmaster).length,
      watchActivity: () => watchActivity(pg, port),
      stop,
    }
  } catch (error) {
    const tail = (() => {
      try {
        return readFileSync(log, 'utf8').trim().split('\n').slice(-10).join('\n')
      } catch {
        return ''
      }
    })()
    await stop()
    throw new Error(`${error instanceof Error ? error.message : String(error)}${tail ? `\n${tail}` : ''}`)
  }
}

/** How often `watchActivity` reads pg_stat_activity: often enough for a mean, cheap for PostgreSQL. */
const ACTIVITY_EVERY_MS = 100

/**
 * Reads pg_stat_activity and pg_locks every 100 ms over its own connection (not among what it
 * counts) and keeps how many of the `strongroom` database's backends were in each state: `active
 * (on CPU)` has no wait event (running or runnable); `active (Lock:…)` waits for another
 * transaction's row lock; `active (IO:WALSync)` and `(LWLock:WALWrite)` for a commit's WAL flush;
 * `idle in transaction (Client:ClientRead)` has a transaction open and waits for its node to send
 * the next statement; `idle (Client:ClientRead)` is a pooled connection nobody uses now.
 * @param {typeof import('pg').default} pg
 * @param {number} port
 * @returns {ActivityWatch}
 */
function watchActivity(pg, port) {
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/strongroom` })
  // PostgreSQL stopped under it (Ctrl-C): the query fails and ends the loop; the event must not
  // end the process.
  client.on('error', () => {})
  /** @type {Record<string, number>} */
  const counts = {}
  /** @type {Record<string, number>} */
  const rowLocks = {}
  let samples = 0
  let stopping = false
  /** @type {string | null} */
  let failed = null
  const loop = (async () => {
    await client.connect()
    while (!stopping) {
      const t0 = Date.now()
      const { rows } = await client.query(
        'select state, wait_event_type, wait_event from pg_stat_activity ' +
          'where datname = current_database() and pid <> pg_backend_pid()',
      )
      // A backend queued for a row lock holds or awaits a `tuple` lock on the row's table (the
      // first waits on the holder's transaction id, the others on that tuple lock).
      const locks = await client.query(
        "select relation::regclass::text as rel, count(*)::int as n from pg_locks where locktype = 'tuple' " +
          'and database = (select oid from pg_database where datname = current_database()) group by 1',
      )
      samples++
      for (const row of rows) {
        const wait = row.wait_event ? ` (${row.wait_event_type}:${row.wait_event})` : ''
        const key = `${row.state ?? 'unknown'}${row.state === 'active' && !wait ? ' (on CPU)' : wait}`
        counts[key] = (counts[key] ?? 0) + 1
      }
      for (const row of locks.rows) rowLocks[row.rel] = (rowLocks[row.rel] ?? 0) + row.n
      await new Promise((r) => setTimeout(r, Math.max(0, ACTIVITY_EVERY_MS - (Date.now() - t0))))
    }
  })().catch((error) => {
    // A diagnostic only: its failure must not fail the figure.
    failed = error instanceof Error ? error.message : String(error)
  })
  return {
    stop: async () => {
      stopping = true
      await loop.finally(() => client.end().catch(() => {}))
      /** @param {Record<string, number>} totals */
      const means = (totals) =>
        Object.fromEntries(
          Object.entries(totals)
            .map(
              ([k, n]) =>
                /** @type {[string, number]} */ ([k, Math.round((n / Math.max(1, samples)) * 100) / 100]),
            )
            .sort((a, b) => b[1] - a[1]),
        )
      return {
        samples,
        backends: means(counts),
        rowLockQueue: means(rowLocks),
        ...(failed ? { failed } : {}),
      }
    },
  }
}
