// `strongroom serve --workers N`: a primary and N worker processes on one listener and one
// database. Real processes over HTTP: writes from concurrent clients land through every worker and
// the audit chain stays whole (SQLite, where the workers take turns at the write lock, and
// PostgreSQL); a signing key rotated through one worker signs at once on the others; a worker killed
// with SIGKILL is replaced while the others keep answering, and so is one that hangs before it
// listens; the primary killed with SIGKILL takes
// its workers with it and loses no acknowledged write; SIGTERM drains every worker, exit code 0.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { createTestDatabase } from '../support/postgres.js'
import { repoRoot, runCli, type ServerProcess, startServer } from '../support/server-process.js'
import { allIdentifiers, waitFor, whoami, writeLoad } from './write-load.js'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The pid of each worker, from its `strongroom listening` log line (the latest one per slot). */
function workerPids(server: ServerProcess): Map<number, number> {
  const pids = new Map<number, number>()
  for (const line of server.logs().split('\n')) {
    if (!line.includes('"msg":"strongroom listening"')) continue
    const entry = JSON.parse(line) as { pid: number; worker?: number }
    if (entry.worker !== undefined) pids.set(entry.worker, entry.pid)
  }
  return pids
}

/** A metric summed per worker, from the merged metrics (`worker` label). */
async function perWorker(server: ServerProcess, token: string, metric: string): Promise<Map<string, number>> {
  const res = await fetch(`${server.url}/admin/v1/metrics`, { headers: { authorization: `Bearer ${token}` } })
  expect(res.status).toBe(200)
  const counts = new Map<string, number>()
  const sample = new RegExp(`^${metric}\\{worker="(\\d+)"[^}]*\\} ([0-9.e+-]+)$`)
  for (const line of (await res.text()).split('\n')) {
    const match = sample.exec(line)
    if (match) counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + Number(match[2]))
  }
  return counts
}

/** Requests each worker has answered. */
const answeredByWorker = (server: ServerProcess, token: string) =>
  perWorker(server, token, 'strongroom_http_request_duration_seconds_count')

async function verifyChain(server: ServerProcess, token: string) {
  const verify = await runCli(['audit', 'verify'], {
    env: { STRONGROOM_URL: server.url, STRONGROOM_ADMIN_TOKEN: token },
  })
  expect(verify.code, verify.stdout + verify.stderr).toBe(0)
  expect(verify.stdout).toMatch(/intact/)
}

describe('serve --workers', () => {
  let server: ServerProcess | undefined
  afterEach(async () => {
    await server?.stop()
    server = undefined
  })

  it('on SQLite: every worker writes, no acknowledged write is lost, the chain is whole, SIGTERM drains all', async () => {
    server = await startServer({ args: ['--workers', '2'] })
    expect(server.logs()).toContain('workers:  2 processes share this address and the database')
    expect([...workerPids(server).keys()].sort()).toEqual([0, 1])
    const token = await server.adminToken()
    const { defaultInstanceId } = await whoami(server, token)
    const load = writeLoad(server, token, defaultInstanceId, 100)
    await waitFor(() => load.answered() >= 600, 60_000)
    // Both workers answered part of the load: the listener hands connections round robin.
    const answered = await answeredByWorker(server, token)
    expect(answered.get('0')).toBeGreaterThan(50)
    expect(answered.get('1')).toBeGreaterThan(50)
    // Their commits took turns at the write lock, and say how long they held it.
    const held = await perWorker(server, token, 'strongroom_write_lock_held_seconds_total')
    expect(held.get('0')).toBeGreaterThan(0)
    expect(held.get('1')).toBeGreaterThan(0)
    await server.stop()
    await load.stop()
    expect(server.exitCode).toBe(0)
    expect(server.logs()).toMatch(/"reason":"asked by the primary","msg":"shutting down/)

    const acknowledged = load.outcomes.filter((o) => o.status === 201).map((o) => o.identifier)
    // Nothing but 201 or a connection cut by the shutdown.
    expect(load.outcomes.every((o) => o.status === 201 || o.status === 0 || o.status === 503)).toBe(true)
    server = await startServer({ dataDir: server.dataDir })
    const present = await allIdentifiers(server)
    expect(acknowledged.filter((id) => !present.has(id))).toEqual([])
    await verifyChain(server, token)
  }, 120_000)

  it('a signing key rotated through one worker signs at once through the others', async () => {
    server = await startServer({ args: ['--workers', '2'] })
    const token = await server.adminToken()
    const admin = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const { defaultInstanceId } = await whoami(server, token)
    const { readFile } = await import('node:fs/promises')
    const demo = JSON.parse(await readFile(`${server.dataDir}/client-config.json`, 'utf8')) as {
      clientId: string
    }
    const secret = (await readFile(`${server.dataDir}/client-secret`, 'utf8')).trim()
    const kidOfToken = async () => {
      // A new connection each time, so the requests spread over the workers.
      const res = await fetch(
        `${server!.url}/v2/${defaultInstanceId}/authorizationServer/iauths_system/oauth2/token`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', connection: 'close' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: demo.clientId,
            client_secret: secret,
            scope: 'urn:cloud:idaas:pam|.all',
          }).toString(),
        },
      )
      expect(res.status).toBe(200)
      const { access_token } = (await res.json()) as { access_token: string }
      return (JSON.parse(Buffer.from(access_token.split('.')[0]!, 'base64url').toString()) as { kid: string })
        .kid
    }
    // Warm: both workers have the first key cached.
    for (let n = 0; n < 6; n++) await kidOfToken()
    const rotated = await fetch(`${server.url}/admin/v1/instances/${defaultInstanceId}/signing-keys/rotate`, {
      method: 'POST',
      headers: { ...admin, connection: 'close' },
      body: JSON.stringify({ activateAfterSeconds: 0 }),
    })
    expect(rotated.status).toBe(201)
    const { kid } = (await rotated.json()) as { kid: string }
    await sleep(5) // the new key is active from the millisecond after its activation time
    const kids = new Set<string>()
    for (let n = 0; n < 8; n++) kids.add(await kidOfToken())
    expect([...kids]).toEqual([kid])
    const answered = await answeredByWorker(server, token)
    expect(answered.size).toBe(2)
  }, 60_000)

  it('an address spends one budget of failed admin authentications, whichever worker it reaches', async () => {
    server = await startServer({ args: ['--workers', '2'] })
    const token = await server.adminToken()
    // A new connection each time, so the attempts spread over the workers.
    const whoamiWith = (bearer: string) =>
      fetch(`${server!.url}/admin/v1/whoami`, {
        headers: { authorization: `Bearer ${bearer}`, connection: 'close' },
      }).then(async (res) => {
        await res.body?.cancel()
        return res.status
      })
    const statuses: number[] = []
    for (let n = 0; n < 20; n++) statuses.push(await whoamiWith('srat_not-a-token'))
    expect(statuses).toEqual(Array(20).fill(401))
    // The budget is 20: with one per worker each would still have about ten failures left, and
    // none of these would be refused. (One failure comes back every 2 s on the real clock.)
    const after: number[] = []
    for (let n = 0; n < 6; n++) after.push(await whoamiWith('srat_not-a-token'))
    expect(after.every((status) => status === 429 || status === 401)).toBe(true)
    expect(after.filter((status) => status === 429).length).toBeGreaterThanOrEqual(4)
    expect(await whoamiWith(token)).toBe(200)
    const answered = await answeredByWorker(server, token)
    expect(answered.size).toBe(2)
  }, 60_000)

  it('replaces a worker killed with SIGKILL while the other keeps answering, and loses no acknowledged write', async () => {
    server = await startServer({ args: ['--workers', '2'] })
    const token = await server.adminToken()
    const { defaultInstanceId } = await whoami(server, token)
    // A connection the primary was handing to the worker as it died is neither served nor closed
    // (node:cluster's round robin keeps it): the client's own timeout ends it, as it would for a
    // server that stopped answering. The README says so.
    const load = writeLoad(server, token, defaultInstanceId, 50, 'load', 10_000)
    await waitFor(() => load.answered() >= 200, 60_000)
    const victim = workerPids(server).get(1)!
    process.kill(victim, 'SIGKILL')
    const atKill = load.answered()
    await waitFor(() => /worker 1 killed by SIGKILL; starting another/.test(server!.logs()), 10_000)
    // Writes go on through the survivor, then through both again.
    await waitFor(() => load.answered() >= atKill + 200, 30_000)
    await waitFor(() => workerPids(server!).get(1) !== victim, 20_000)
    await load.stop()
    // Only the connections the killed worker held were cut.
    const cut = load.outcomes.filter((o) => o.status !== 201)
    expect(cut.every((o) => o.status === 0)).toBe(true)

    const acknowledged = load.outcomes.filter((o) => o.status === 201).map((o) => o.identifier)
    const present = await allIdentifiers(server)
    expect(acknowledged.filter((id) => !present.has(id))).toEqual([])
    await verifyChain(server, token)
    await server.stop()
    expect(server.exitCode).toBe(0)
  }, 120_000)

  it('stops at once, exit code 0, when SIGTERM comes while a worker is being started again', async () => {
    server = await startServer({ args: ['--workers', '2'] })
    const primary = server.pid
    const victim = workerPids(server).get(1)!
    const survivor = workerPids(server).get(0)!
    process.kill(victim, 'SIGKILL')
    // The replacement is forked after a second and takes a while to load: SIGTERM goes in while it
    // loads, before it has asked the primary what to serve.
    let replacement: number | undefined
    await waitFor(() => {
      replacement = childrenOf(primary).find((pid) => pid !== victim && pid !== survivor)
      return replacement !== undefined
    }, 10_000)
    const asked = Date.now()
    await server.stop()
    // Not the 30 s drain timeout, not a worker killed: the replacement was told to stop as it asked.
    expect(Date.now() - asked).toBeLessThan(10_000)
    expect(server.exitCode).toBe(0)
    expect(alive(replacement!)).toBe(false)
    expect(server.logs()).not.toMatch(/killing them/)
  }, 60_000)

  it('kills a worker that does not start serving in time, starts another, and serves throughout', async () => {
    // Every process of the server loads the preload; one started while the marker exists hangs.
    const marker = join(mkdtempSync(join(tmpdir(), 'strongroom-hang-')), 'hang')
    server = await startServer({
      args: ['--workers', '2'],
      env: {
        STRONGROOM_WORKER_START_TIMEOUT_MS: '3000',
        NODE_OPTIONS: [
          process.env.NODE_OPTIONS,
          `--require ${JSON.stringify(join(repoRoot, 'test', 'support', 'hang-on-marker.cjs'))}`,
        ]
          .filter(Boolean)
          .join(' '),
        HANG_MARKER: marker,
      },
    })
    const token = await server.adminToken()
    const primary = server.pid
    const victim = workerPids(server).get(1)!
    const survivor = workerPids(server).get(0)!
    writeFileSync(marker, '')
    process.kill(victim, 'SIGKILL')
    // The replacement says it is about to hang (its pid), then the marker goes: the preload reads
    // it once, as a process starts, so the worker after it starts.
    let hung: number | undefined
    await waitFor(() => {
      const note = readdirSync(dirname(marker)).find((name) => name.startsWith('hang.'))
      hung = note === undefined ? undefined : Number(note.slice('hang.'.length))
      return hung !== undefined
    }, 10_000)
    rmSync(dirname(marker), { recursive: true })
    expect(childrenOf(primary)).toContain(hung)
    // Meanwhile the survivor serves: a worker that has not listened is handed no connection.
    expect((await whoami(server, token)).defaultInstanceId).toBeTruthy()
    await waitFor(() => /worker 1 did not start serving within 3 s: killing it/.test(server!.logs()), 15_000)
    await waitFor(() => !alive(hung!), 5_000)
    // The primary's line about its exit comes through a pipe: it may arrive after the exit.
    await waitFor(
      () =>
        /worker 1 did not start serving within 3 s and was killed; starting another in \d+ ms/.test(
          server!.logs(),
        ),
      5_000,
    )
    // The next one starts and serves.
    await waitFor(() => ![victim, hung].includes(workerPids(server!).get(1)), 20_000)
    await waitFor(() => /"msg":"worker started again and is serving"/.test(server!.logs()), 5_000)
    // Only the hung one was touched: worker 0 listened in time and is the same process.
    expect(workerPids(server).get(0)).toBe(survivor)
    expect(alive(survivor)).toBe(true)
    expect(server.logs()).not.toMatch(/worker 0 did not start serving/)
    await server.stop()
    expect(server.exitCode).toBe(0)
  }, 60_000)

  // Found by a reviewer: a worker stopped (SIGSTOP, a debugger) while it held the SQLite write
  // lock held every other worker's writes for good, and the connections handed to a stopped
  // worker hung; the primary only logged a warning every 10 s.
  it('kills a worker that stops answering, starts another, and the writes go on', async () => {
    server = await startServer({ args: ['--workers', '2'], env: { STRONGROOM_WORKER_WATCHDOG_MS: '2000' } })
    const token = await server.adminToken()
    const { defaultInstanceId } = await whoami(server, token)
    const load = writeLoad(server, token, defaultInstanceId, 30, 'stuck', 20_000)
    await waitFor(() => load.answered() >= 200, 60_000)
    const victim = workerPids(server).get(1)!
    process.kill(victim, 'SIGSTOP')
    const atStop = load.answered()
    await waitFor(
      () =>
        /worker 1 has (held the database's write lock|not answered) for \d+ s.*: killing it/.test(
          server!.logs(),
        ),
      15_000,
    )
    await waitFor(() => !alive(victim), 5_000)
    await waitFor(() => /worker 1 has .* and was killed; starting another/.test(server!.logs()), 5_000)
    // Writes go on through the other worker, then through both again.
    await waitFor(() => load.answered() >= atStop + 200, 30_000)
    await waitFor(() => workerPids(server!).get(1) !== victim, 20_000)
    await load.stop()
    // Only the connections the stopped worker held were cut; nothing was refused.
    expect(load.outcomes.filter((o) => o.status !== 201 && o.status !== 0)).toEqual([])
    const acknowledged = load.outcomes.filter((o) => o.status === 201).map((o) => o.identifier)
    const present = await allIdentifiers(server)
    expect(acknowledged.filter((id) => !present.has(id))).toEqual([])
    await verifyChain(server, token)
  }, 120_000)

  // Found by a reviewer of the watchdog: a primary stopped for a while (a frozen container, a
  // suspended VM) came back to read its workers' answers after its timer, and killed them all.
  it('does not kill its workers when the primary itself was stopped for longer than the watchdog', async () => {
    server = await startServer({ args: ['--workers', '2'], env: { STRONGROOM_WORKER_WATCHDOG_MS: '2000' } })
    const token = await server.adminToken()
    const before = workerPids(server)
    process.kill(server.pid, 'SIGSTOP')
    await sleep(4_000)
    process.kill(server.pid, 'SIGCONT')
    await waitFor(
      () => /the primary did not run for \d+ s: the workers' watchdog starts again/.test(server!.logs()),
      5_000,
    )
    // Several watchdog terms later, still the same two workers, serving.
    await sleep(3_000)
    expect(server.logs()).not.toMatch(/killing it/)
    expect(workerPids(server)).toEqual(before)
    for (const pid of before.values()) expect(alive(pid)).toBe(true)
    expect((await whoami(server, token)).defaultInstanceId).toBeTruthy()
  }, 60_000)

  // Found by a reviewer: with its primary killed, a stopped worker stayed (node:cluster ends a
  // worker only when its event loop runs), holding the database's write lock; a new server on the
  // same folder started, answered every write with an error and called itself ready.
  it('waits a while for workers of a killed primary, then refuses to start beside them, naming them', async () => {
    server = await startServer({ args: ['--workers', '2'] })
    const dataDir = server.dataDir
    let orphan = workerPids(server).get(1)!
    let other = workerPids(server).get(0)!
    process.kill(orphan, 'SIGSTOP')
    try {
      await server.kill9()
      await waitFor(() => !alive(other), 10_000)
      expect(alive(orphan)).toBe(true)
      const refused = await runCli(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'])
      expect(refused.code).toBe(1)
      expect(refused.stderr).toMatch(
        new RegExp(`\\(process ${orphan}\\): waiting up to 15 s for them to end`),
      )
      expect(refused.stderr).toMatch(
        new RegExp(
          `workers of an earlier strongroom server still run on .*: process ${orphan}\\) after 15 s.*kill -CONT`,
        ),
      )
    } finally {
      process.kill(orphan, 'SIGKILL')
    }
    await waitFor(() => !alive(orphan), 5_000)

    // A leftover that ends while the new server waits (a busy worker finishing its batch, or here
    // one let run again) lets it start: a process manager restarting at once is not refused.
    server = await startServer({ dataDir, args: ['--workers', '2'] })
    orphan = workerPids(server).get(1)!
    other = workerPids(server).get(0)!
    process.kill(orphan, 'SIGSTOP')
    await server.kill9()
    await waitFor(() => !alive(other), 10_000)
    setTimeout(() => process.kill(orphan, 'SIGCONT'), 2_000)
    server = await startServer({ dataDir, args: ['--workers', '2'] })
    await waitFor(() => !alive(orphan), 5_000)
    expect(server.logs()).toMatch(/waiting up to 15 s for them to end/)
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
  }, 120_000)

  it('the primary killed with SIGKILL under 100 writers takes its workers along and loses no acknowledged write', async () => {
    server = await startServer({ args: ['--workers', '2'] })
    const token = await server.adminToken()
    const { defaultInstanceId } = await whoami(server, token)
    const pids = [...workerPids(server).values()]
    const load = writeLoad(server, token, defaultInstanceId, 100)
    await waitFor(() => load.answered() >= 300, 60_000)
    await server.kill9()
    await load.stop()
    // The workers follow their primary out.
    await waitFor(() => pids.every((pid) => !alive(pid)), 10_000)
    const acknowledged = load.outcomes.filter((o) => o.status === 201).map((o) => o.identifier)
    expect(acknowledged.length).toBeGreaterThanOrEqual(300)

    server = await startServer({ dataDir: server.dataDir })
    const present = await allIdentifiers(server)
    expect(acknowledged.filter((id) => !present.has(id))).toEqual([])
    await verifyChain(server, token)
  }, 120_000)

  it('on PostgreSQL: every worker writes, and the chain is whole', async () => {
    const db = await createTestDatabase(inject('postgresUrl'))
    server = await startServer({
      args: ['--workers', '2'],
      env: { STRONGROOM_DB: db, STRONGROOM_ROOT_KEY: randomBytes(32).toString('base64') },
    })
    const token = await server.adminToken()
    const { defaultInstanceId } = await whoami(server, token)
    const load = writeLoad(server, token, defaultInstanceId, 50)
    await waitFor(() => load.answered() >= 300, 60_000)
    await load.stop()
    expect(load.outcomes.every((o) => o.status === 201)).toBe(true)
    const answered = await answeredByWorker(server, token)
    expect(answered.get('0')).toBeGreaterThan(20)
    expect(answered.get('1')).toBeGreaterThan(20)
    const present = await allIdentifiers(server)
    expect(load.outcomes.filter((o) => !present.has(o.identifier))).toEqual([])
    const verify = await runCli(['audit', 'verify', '--db', db])
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)
    expect(verify.stdout).toMatch(/intact/)
  }, 120_000)

  it('stops, exit code 1 and saying why, once five workers of a slot in a row fail to start', async () => {
    const base = inject('postgresUrl')
    const db = await createTestDatabase(base)
    server = await startServer({
      args: ['--workers', '2'],
      env: { STRONGROOM_DB: db, STRONGROOM_ROOT_KEY: randomBytes(32).toString('base64') },
    })
    // From now on the database refuses new connections: a worker started again cannot open its
    // pool, while the running one keeps the connections it has.
    const admin = new pg.Client({ connectionString: base })
    await admin.connect()
    try {
      await admin.query(`alter database "${new URL(db).pathname.slice(1)}" allow_connections false`)
    } finally {
      await admin.end()
    }
    process.kill(workerPids(server).get(1)!, 'SIGKILL')
    // Started again after 1, 2, 4, 8 and 16 s, each failing: the fifth failure stops the server.
    await waitFor(() => server!.exitCode !== null, 100_000)
    expect(server.exitCode).toBe(1)
    expect(server.logs().match(/strongroom worker 1 could not start/g)?.length).toBe(5)
    expect(server.logs()).toMatch(
      /strongroom: worker 1 exited with code 1; 5 workers of its slot in a row failed before they could serve/,
    )
  }, 120_000)

  it('a worker that cannot listen stops the start, saying why, with exit code 1', async () => {
    const taken: Server = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    try {
      const { mkdtemp } = await import('node:fs/promises')
      const { tmpdir } = await import('node:os')
      const { join } = await import('node:path')
      const dataDir = await mkdtemp(join(tmpdir(), 'strongroom-e2e-'))
      const result = await runCli(['serve', '--workers', '2', '--listen', `127.0.0.1:${port}`], {
        dataDir,
        timeoutMs: 30_000,
      })
      expect(result.code).toBe(1)
      expect(result.stderr).toContain('EADDRINUSE')
      expect(result.stderr).toMatch(/worker \d exited with code 1 before the server could serve/)
    } finally {
      taken.close()
    }
  }, 60_000)

  it('refuses a worker count it cannot run, naming the setting', async () => {
    for (const [value, rule] of [
      ['0', /workers "0" from --workers must be a whole number from 1 to 64, or auto/],
      ['two', /workers "two" from --workers must be a whole number/],
    ] as const) {
      const result = await runCli(['serve', '--workers', value], { timeoutMs: 15_000 })
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(rule)
    }
    const memory = await runCli(['serve', '--workers', '2', '--db', 'sqlite::memory:'], {
      env: { STRONGROOM_ROOT_KEY: randomBytes(32).toString('base64') },
      timeoutMs: 15_000,
    })
    expect(memory.code).toBe(1)
    expect(memory.stderr).toMatch(/an in-memory SQLite database belongs to one process/)
  })
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The pids of a process's children (Linux: /proc/PID/task/TID/children). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter((p) => p.trim() !== '')
      .map(Number)
  } catch {
    return []
  }
}
