// Faults of the disk under a running server: a log that cannot be written must not stop the
// service; a database that cannot be written must take the node out of readiness, and back in.
import { execFileSync } from 'node:child_process'
import { closeSync, openSync, readFileSync, statSync, truncateSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'

const LOG_LIMIT = 8 * 1024 * 1024

interface Ready {
  status: number
  body: {
    status?: string
    Code?: string
    Message?: string
    log?: { droppedLines: number; failing: boolean; lastError: string | null }
  }
}

async function readyz(server: ServerProcess): Promise<Ready> {
  const res = await fetch(`${server.url}/readyz`)
  return { status: res.status, body: (await res.json()) as Ready['body'] }
}

/** A mix of unauthenticated and admin requests; each one writes a log line at level info. */
async function traffic(server: ServerProcess, token: string, n: number): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < n; i++) {
    const health = await fetch(`${server.url}/healthz`)
    await health.arrayBuffer()
    const who = await fetch(`${server.url}/admin/v1/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    })
    await who.arrayBuffer()
    statuses.push(health.status, who.status)
  }
  return statuses
}

async function createCredential(server: ServerProcess, token: string, identifier: string): Promise<number> {
  const who = await fetch(`${server.url}/admin/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })
  const { defaultInstanceId } = (await who.json()) as { defaultInstanceId: string }
  const res = await fetch(`${server.url}/admin/v1/instances/${defaultInstanceId}/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      credentialIdentifier: identifier,
      credentialType: 'api_key',
      value: { apiKey: 'k' },
    }),
  })
  await res.arrayBuffer()
  return res.status
}

async function stopsOnSigterm(server: ServerProcess): Promise<void> {
  await server.stop()
  expect(server.signalCode).toBeNull()
  expect(server.exitCode).toBe(0)
}

const setFileSizeLimit = (pid: number, limit: string) =>
  execFileSync('prlimit', ['--pid', String(pid), `--fsize=${limit}:unlimited`])

describe('a log that cannot be written', () => {
  let server: ServerProcess | undefined
  afterEach(async () => server?.stop())

  it('on /dev/full: the server keeps answering, counts the dropped lines on /readyz, and stops on SIGTERM', async () => {
    const full = openSync('/dev/full', 'w')
    try {
      server = await startServer({ stdout: full, env: { STRONGROOM_LOG_LEVEL: 'info' } })
    } finally {
      closeSync(full)
    }
    const statuses = await traffic(server, await server.adminToken(), 50)
    expect(statuses.every((s) => s === 200)).toBe(true)
    const ready = await readyz(server)
    expect(ready.status).toBe(200)
    expect(ready.body.log?.failing).toBe(true)
    expect(ready.body.log?.lastError).toBe('ENOSPC')
    expect(ready.body.log?.droppedLines).toBeGreaterThan(100)
    const metrics = await fetch(`${server.url}/admin/v1/metrics`, {
      headers: { authorization: `Bearer ${await server.adminToken()}` },
    })
    const dropped = /^strongroom_log_lines_dropped_total (\d+)$/m.exec(await metrics.text())
    expect(Number(dropped?.[1])).toBeGreaterThan(100)
    await stopsOnSigterm(server)
  })

  it('past a file-size limit: the server keeps answering, and the log resumes once the limit is lifted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strongroom-fsize-'))
    const logFile = join(dir, 'server.log')
    // Appends start at the limit, so every log write fails with EFBIG; the database stays far below it.
    closeSync(openSync(logFile, 'w'))
    truncateSync(logFile, LOG_LIMIT)
    const fd = openSync(logFile, 'a')
    try {
      server = await startServer({
        stdout: fd,
        wrapper: ['prlimit', `--fsize=${LOG_LIMIT}:unlimited`, '--'],
        env: { STRONGROOM_LOG_LEVEL: 'info' },
      })
    } finally {
      closeSync(fd)
    }
    const token = await server.adminToken()
    expect((await traffic(server, token, 20)).every((s) => s === 200)).toBe(true)
    expect(await createCredential(server, token, 'fsize/one')).toBe(201)
    const limited = await readyz(server)
    expect(limited.status).toBe(200)
    expect(limited.body.log).toMatchObject({ failing: true, lastError: 'EFBIG' })
    expect(statSync(logFile).size).toBe(LOG_LIMIT)

    setFileSizeLimit(server.pid, 'unlimited')
    await traffic(server, token, 5)
    const lifted = await readyz(server)
    expect(lifted.body.log?.failing).toBe(false)
    // Lines queued before the lift may still have failed; none since.
    await traffic(server, token, 5)
    expect((await readyz(server)).body.log?.droppedLines).toBe(lifted.body.log?.droppedLines)
    const written = readFileSync(logFile).subarray(LOG_LIMIT).toString('utf8')
    expect(written).toContain('"path":"/admin/v1/whoami"')
    await stopsOnSigterm(server)
  })
})

describe('a database that cannot be written', () => {
  let server: ServerProcess | undefined
  afterEach(async () => server?.stop())

  it('/readyz turns not-ready, naming why, while writes fail, and ready again once they work', async () => {
    server = await startServer({ env: { STRONGROOM_LOG_LEVEL: 'warn' } })
    const token = await server.adminToken()
    expect(await createCredential(server, token, 'before/limit')).toBe(201)

    // Past the limit, no write of the database or its WAL can land: the audit cannot be written.
    setFileSizeLimit(server.pid, '1')
    expect(await createCredential(server, token, 'during/limit')).toBe(503)
    const down = await readyz(server)
    expect(down.status).toBe(503)
    expect(down.body.Code).toBe('AuditUnavailable')
    expect(down.body.Message).toMatch(/audit cannot be written \(SQLITE_[A-Z_]+\)/)
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)

    setFileSizeLimit(server.pid, 'unlimited')
    const up = await readyz(server)
    expect(up.status).toBe(200)
    expect(up.body.status).toBe('ready')
    expect(await createCredential(server, token, 'after/limit')).toBe(201)
    await stopsOnSigterm(server)
  })
})
