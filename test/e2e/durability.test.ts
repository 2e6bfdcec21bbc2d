import { afterEach, describe, expect, it } from 'vitest'
import { runCli, type ServerProcess, startServer } from '../support/server-process.js'
import { okJson } from './cli.js'

interface Outcome {
  identifier: string
  status: number
}

/** Keeps `concurrency` credential writes in flight until told to stop; records every answer. */
function writeLoad(server: ServerProcess, token: string, instanceId: string, concurrency: number) {
  const outcomes: Outcome[] = []
  let stopped = false
  let n = 0
  const one = async (): Promise<void> => {
    while (!stopped) {
      const identifier = `load/${n++}`
      try {
        const res = await fetch(`${server.url}/admin/v1/instances/${instanceId}/credentials`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            credentialIdentifier: identifier,
            credentialType: 'api_key',
            value: { apiKey: `v-${identifier}` },
          }),
        })
        await res.arrayBuffer()
        outcomes.push({ identifier, status: res.status })
      } catch {
        outcomes.push({ identifier, status: 0 })
        return
      }
    }
  }
  const loops = Promise.all(Array.from({ length: concurrency }, one))
  return {
    outcomes,
    answered: () => outcomes.filter((o) => o.status === 201).length,
    stop: async () => {
      stopped = true
      await loops
    },
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

async function whoami(server: ServerProcess, token: string): Promise<{ defaultInstanceId: string }> {
  const res = await fetch(`${server.url}/admin/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })
  return (await res.json()) as { defaultInstanceId: string }
}

async function allIdentifiers(server: ServerProcess): Promise<Set<string>> {
  const creds = await okJson<{ credentialIdentifier: string }[]>(server, ['credential', 'list'])
  return new Set(creds.map((c) => c.credentialIdentifier))
}

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
