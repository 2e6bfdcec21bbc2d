// A write load for end-to-end tests: `concurrency` loops creating credentials through the admin
// API, each answer recorded, so a test can tell which writes the server acknowledged and when.
import type { ServerProcess } from '../support/server-process.js'
import { okJson } from './cli.js'

export interface Outcome {
  identifier: string
  status: number
}

/** Keeps `concurrency` credential writes in flight until told to stop; records every answer. */
export function writeLoad(
  server: ServerProcess,
  token: string,
  instanceId: string,
  concurrency: number,
  /** Names the writes (`PREFIX/n`): loads on several nodes of one database must not collide. */
  prefix = 'load',
  /** Gives up on a write unanswered this long, as a client with a read timeout does (status 0). */
  timeoutMs?: number,
) {
  const outcomes: Outcome[] = []
  let stopped = false
  let n = 0
  const one = async (): Promise<void> => {
    while (!stopped) {
      const identifier = `${prefix}/${n++}`
      try {
        const res = await fetch(`${server.url}/admin/v1/instances/${instanceId}/credentials`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            credentialIdentifier: identifier,
            credentialType: 'api_key',
            value: { apiKey: `v-${identifier}` },
          }),
          ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
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

export async function waitFor(condition: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

export async function whoami(server: ServerProcess, token: string): Promise<{ defaultInstanceId: string }> {
  const res = await fetch(`${server.url}/admin/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })
  return (await res.json()) as { defaultInstanceId: string }
}

export async function allIdentifiers(server: ServerProcess): Promise<Set<string>> {
  const creds = await okJson<{ credentialIdentifier: string }[]>(server, ['credential', 'list'])
  return new Set(creds.map((c) => c.credentialIdentifier))
}
