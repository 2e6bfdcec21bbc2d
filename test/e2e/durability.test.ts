import { afterEach, describe, expect, it } from 'vitest'
import { runCli, type ServerProcess, startServer } from '../support/server-process.js'
import { allIdentifiers, waitFor, whoami, writeLoad } from './write-load.js'

describe('durability', () => {
  let server: ServerProcess | undefined
  afterEach(async () => server?.stop())

  it('keeps every write answered 2xx when the server is killed with SIGKILL under 200 concurrent writes', async () => {
    server = await startServer()
    const token = await server.adminToken()
    const { defaultInstanceId } = await whoami(server, token)
    const load = writeLoad(server, token, defaultInstanceId, 200)
    await waitFor(() => load.answered() >= 300)
    await server.kill9()
    await load.stop()
    const acknowledged = load.outcomes.filter((o) => o.status === 201).map((o) => o.identifier)
    expect(acknowledged.length).toBeGreaterThanOrEqual(300)
    expect(load.outcomes.some((o) => o.status === 0)).toBe(true) // the kill really cut writes short

    const dataDir = server.dataDir
    server = await startServer({ dataDir })
    const present = await allIdentifiers(server)
    expect(acknowledged.filter((id) => !present.has(id))).toEqual([])
    const verify = await runCli(['audit', 'verify'], {
      env: { STRONGROOM_URL: server.url, STRONGROOM_ADMIN_TOKEN: token },
    })
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)
  })

  it('drains on SIGTERM: requests in flight finish, the audit queue is flushed, the exit code is 0', async () => {
    server = await startServer()
    const token = await server.adminToken()
    const { defaultInstanceId } = await whoami(server, token)
    const load = writeLoad(server, token, defaultInstanceId, 50)
    await waitFor(() => load.answered() >= 100)
    await server.stop()
    await load.stop()
    expect(server.exitCode).toBe(0)
    expect(server.logs()).toMatch(/shutting down/)
    const acknowledged = load.outcomes.filter((o) => o.status === 201).map((o) => o.identifier)
    const dataDir = server.dataDir
    server = await startServer({ dataDir })
    const present = await allIdentifiers(server)
    expect(acknowledged.filter((id) => !present.has(id))).toEqual([])
    // Nothing was half-written: every stored credential was acknowledged or cut off mid-flight, never answered non-2xx.
    const refused = new Set(load.outcomes.filter((o) => o.status >= 400).map((o) => o.identifier))
    expect([...present].filter((id) => refused.has(id))).toEqual([])
  })
})
