// Issue 16, stage 2: a database outage is answered 503 with Retry-After (never 500, never a hang
// past the statement or connect timeout), /readyz says so, and every node recovers by itself when
// the database is back, with no acknowledged write lost. Three nodes (real start-up path and app,
// each with its own pool) on a PostgreSQL server of this file's own, since it is stopped.
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type PostgresServer, startPostgres } from '../../../../test/support/postgres.js'
import { verifyChain } from '../../src/audit/verify.js'
import type { PostgresOptions } from '../../src/store/postgres-pool.js'
import {
  admin,
  type Cluster,
  createWorkload,
  openCluster,
  pam,
  send,
  tokenFrom,
} from '../http/nodes-support.js'
import type { TestServer } from '../support/engines.js'

const POSTGRES: PostgresOptions = { poolSize: 4, statementTimeoutMs: 1_000, connectTimeoutMs: 1_000 }
/** The longest any request may take while the database is gone: the timeouts, and some slack. */
const BOUND_MS = POSTGRES.statementTimeoutMs + 2_000 + POSTGRES.connectTimeoutMs + 1_500

/**
 * Every node answers /readyz 200 at a slightly different moment: a request that started on one
 * node just before the last one did may still have met the database coming back.
 */
const SETTLE_MS = 250

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

interface Outcome {
  node: number
  what: 'read' | 'write' | 'ready'
  status: number
  retryAfter: unknown
  startedAt: number
  ms: number
  identifier?: string
}

/** Requests from every node in a loop until stopped: reads of a credential, writes of new ones, readiness. */
function load(c: Cluster, token: string) {
  const outcomes: Outcome[] = []
  let running = true
  let n = 0
  const record = async (
    node: number,
    what: Outcome['what'],
    run: () => Promise<{ status: number; headers: Record<string, unknown> }>,
    identifier?: string,
  ) => {
    const startedAt = Date.now()
    const answer = await run()
    outcomes.push({
      node,
      what,
      status: answer.status,
      retryAfter: answer.headers['retry-after'],
      startedAt,
      ms: Date.now() - startedAt,
      ...(identifier === undefined ? {} : { identifier }),
    })
  }
  const worker = async (node: TestServer, index: number) => {
    while (running) {
      await record(index, 'read', () =>
        pam(c, node, token, 'GET', '/credentials/_/actions/obtain?credentialIdentifier=load/read'),
      )
      const identifier = `load/n${index}-${n++}`
      await record(
        index,
        'write',
        () =>
          admin(c, node, 'POST', '/credentials', {
            credentialIdentifier: identifier,
            credentialType: 'api_key',
            value: { apiKey: identifier },
          }),
        identifier,
      )
    }
  }
  const ready = async (node: TestServer, index: number) => {
    while (running) {
      await record(index, 'ready', () => send(node, 'GET', '/readyz'))
      await sleep(100)
    }
  }
  const workers = c.nodes.flatMap((node, index) => [
    worker(node, index),
    worker(node, index),
    worker(node, index),
    ready(node, index),
  ])
  return {
    outcomes,
    async stop() {
      running = false
      await Promise.all(workers)
    },
  }
}

let server: PostgresServer
beforeAll(async () => {
  server = await startPostgres()
})
afterAll(async () => {
  await server?.stop()
})

/** Three nodes on a new database of this file's server (through `port`), with a workload and its token. */
async function loadedCluster(names: string[], port?: number) {
  let db = await createTestDatabase(server.url)
  if (port !== undefined) db = db.replace(`:${server.port}/`, `:${port}/`)
  const c = await openCluster(names, { db, postgres: POSTGRES, now: Date.now })
  const w = await createWorkload(c, c.nodes[0]!, 'load')
  await admin(c, c.nodes[0]!, 'POST', '/credentials', {
    credentialIdentifier: 'load/read',
    credentialType: 'api_key',
    value: { apiKey: 'read-me' },
  })
  await admin(c, c.nodes[0]!, 'POST', '/grants', {
    applicationId: w.applicationId,
    resourceType: 'credential',
    resource: 'load/read',
    actions: ['obtain'],
  })
  return { c, token: await tokenFrom(c, c.nodes[0]!, w) }
}

/** Polls until every node's /readyz answers 200; the time it did, or 0 after `withinMs`. */
async function allReady(c: Cluster, withinMs: number): Promise<number> {
  const from = Date.now()
  while (Date.now() - from < withinMs) {
    const statuses = await Promise.all(
      c.nodes.map(async (node) => (await send(node, 'GET', '/readyz')).status),
    )
    if (statuses.every((s) => s === 200)) return Date.now()
    await sleep(50)
  }
  return 0
}

/** What holds of any outage: 503 with Retry-After or success, never anything else, within the bound. */
function expectOnly503sWithin(outcomes: Outcome[], from: number, readyAt: number) {
  const summary = (list: Outcome[]) =>
    JSON.stringify(list.slice(0, 5).map((o) => ({ ...o, startedAt: o.startedAt - from })))
  const unexpected = outcomes.filter((o) => o.status !== 200 && o.status !== 201 && o.status !== 503)
  expect(unexpected, summary(unexpected)).toEqual([])
  const refused = outcomes.filter((o) => o.status === 503)
  for (const node of [0, 1, 2]) {
    expect(refused.filter((o) => o.node === node && o.what === 'read').length).toBeGreaterThan(0)
    expect(refused.filter((o) => o.node === node && o.what === 'write').length).toBeGreaterThan(0)
  }
  expect(refused.filter((o) => o.retryAfter === undefined)).toEqual([])
  const slow = outcomes.filter((o) => o.ms >= BOUND_MS)
  expect(slow, summary(slow)).toEqual([])
  // Refusals only while the database was away, and the moment it took every node to see it back.
  const early = refused.filter((o) => o.startedAt + o.ms < from)
  expect(early, summary(early)).toEqual([])
  const late = refused.filter((o) => o.startedAt > readyAt + SETTLE_MS)
  expect(late, summary(late)).toEqual([])
  // After it: every node served reads and writes again.
  for (const node of [0, 1, 2]) {
    const after = outcomes.filter(
      (o) => o.node === node && o.startedAt > readyAt + SETTLE_MS && o.what !== 'ready',
    )
    expect(after.length).toBeGreaterThan(0)
    expect(after.filter((o) => o.status >= 300)).toEqual([])
  }
}

describe('a PostgreSQL outage under load, three nodes', () => {
  let c: Cluster
  let token: string

  beforeAll(async () => {
    ;({ c, token } = await loadedCluster(['outage_a', 'outage_b', 'outage_c']))
  })
  afterAll(async () => {
    await c?.close()
  })

  it('answers 503 with Retry-After while PostgreSQL is stopped, none 500, and every node serves again by itself afterwards', async () => {
    const traffic = load(c, token)
    await sleep(600)
    const haltedAt = Date.now()
    await server.halt()
    await sleep(2_500)
    // Not ready while the database cannot be reached; alive all the same.
    for (const node of c.nodes) {
      const ready = await send(node, 'GET', '/readyz')
      expect(ready.status).toBe(503)
      expect(ready.body.Code).toBe('ServiceUnavailable')
      expect(ready.headers['retry-after']).toBe('2')
      expect((await send(node, 'GET', '/healthz')).status).toBe(200)
    }
    await server.resume()
    // Every node becomes ready again by itself: no restart, no operator.
    const readyAt = await allReady(c, 10_000)
    expect(readyAt, 'every node ready again within 10 s').toBeGreaterThan(0)
    await sleep(900)
    await traffic.stop()

    const { outcomes } = traffic
    expectOnly503sWithin(outcomes, haltedAt, readyAt)

    // No acknowledged write lost: every credential answered 201 is there, and the chain is whole.
    const acknowledged = outcomes
      .filter((o) => o.what === 'write' && o.status === 201)
      .map((o) => o.identifier)
    const stored = new Set(
      (
        await c.nodes[1]!.services.store.db.selectFrom('credentials')
          .select('identifier')
          .where('identifier', 'like', 'load/n%')
          .execute()
      ).map((r) => r.identifier),
    )
    expect(acknowledged.length).toBeGreaterThan(10)
    expect(acknowledged.filter((id) => !stored.has(id!))).toEqual([])
    expect(await verifyChain(c.nodes[2]!.services.store.db, c.instanceId)).toMatchObject({ ok: true })
  })
})

/**
 * A TCP proxy in front of PostgreSQL that can freeze: bytes in flight stop both ways and new
 * connections get no answer, as with a hung server or a network partition (a stopped server
 * refuses at once; this one never answers).
 */
async function freezableProxy(target: number) {
  const sockets = new Set<Socket>()
  const held: (() => void)[] = []
  let frozen = false
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }
  const server: Server = createServer((client) => {
    track(client)
    const forward = () => {
      if (client.destroyed) return
      const upstream = connect(target, '127.0.0.1')
      track(upstream)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
      client.pipe(upstream)
      upstream.pipe(client)
    }
    if (frozen) held.push(forward)
    else forward()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    freeze() {
      frozen = true
      for (const socket of sockets) socket.pause()
    },
    thaw() {
      frozen = false
      for (const socket of sockets) socket.resume()
      for (const forward of held.splice(0)) forward()
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

describe('a PostgreSQL server that stops answering (hung, or cut off by the network), three nodes', () => {
  let c: Cluster
  let token: string
  let proxy: Awaited<ReturnType<typeof freezableProxy>>
  beforeAll(async () => {
    proxy = await freezableProxy(server.port)
    ;({ c, token } = await loadedCluster(['hung_a', 'hung_b', 'hung_c'], proxy.port))
  })
  afterAll(async () => {
    await c?.close()
    await proxy?.close()
  })

  it('answers 503 within the statement and connect timeouts, never hangs, and recovers by itself', async () => {
    const traffic = load(c, token)
    await sleep(400)
    const frozenAt = Date.now()
    proxy.freeze()
    // Longer than the statement timeout and its grace: every request in flight has been answered.
    await sleep(POSTGRES.statementTimeoutMs + 3_000)
    for (const node of c.nodes) {
      const started = Date.now()
      const ready = await send(node, 'GET', '/readyz')
      expect(ready.status).toBe(503)
      expect(Date.now() - started).toBeLessThan(BOUND_MS)
    }
    proxy.thaw()
    const readyAt = await allReady(c, 10_000)
    expect(readyAt, 'every node ready again within 10 s').toBeGreaterThan(0)
    await sleep(700)
    await traffic.stop()
    expectOnly503sWithin(traffic.outcomes, frozenAt, readyAt)
  })
})
