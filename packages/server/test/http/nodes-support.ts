// Several nodes on one PostgreSQL database, in one process: each node is the real start-up path
// (openServices) and the real app (buildApp), with its own pool, caches, committer and throttles,
// exactly as separate processes would have. Each pool names its connections `application_name =
// <node>` so a test can kill one node's connections with pg_terminate_backend.
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import { type AppOptions, buildApp } from '../../src/http/app.js'
import { closeServices, openServices } from '../../src/server.js'
import type { PostgresOptions } from '../../src/store/postgres-pool.js'
import { type Engine, freshDatabase, type TestServer } from '../support/engines.js'
import { sharedWriteLocks } from '../support/write-locks.js'
import { ScriptedSts } from './cloud-fixtures.js'

export const PAM = 'urn:cloud:idaas:pam'
export const START = 1_800_000_000_000

export interface Cluster {
  /** The database URL, without a node's application name. */
  readonly db: string
  readonly nodes: TestServer[]
  /** One clock for every node: frozen unless a test moves it, so no cache expires by itself. */
  readonly clock: { now: number }
  readonly instanceId: string
  /** The bootstrap admin token's header: it works on every node. */
  readonly auth: { authorization: string }
  readonly sts: ScriptedSts
  /** Terminates the database connections of the named nodes; returns how many it terminated. */
  kill(...names: string[]): Promise<number>
  close(): Promise<void>
}

export interface ClusterOptions {
  /**
   * `sqlite`: the nodes share one SQLite file as the workers of `serve --workers N` do (the change
   * sequence read, batches taking turns through one write lock). PostgreSQL by default.
   */
  engine?: Engine
  app?: AppOptions
  /** A database of the caller's (its own PostgreSQL server); a fresh one on the harness's by default. */
  db?: string
  postgres?: PostgresOptions
  /** The nodes' clock; a frozen one at START by default. */
  now?: () => number
}

/** Opens one node per name on one database (PostgreSQL unless `engine`); the first one bootstraps it. */
export async function openCluster(names: readonly string[], options: ClusterOptions = {}): Promise<Cluster> {
  const engine = options.engine ?? 'postgres'
  const db = options.db ?? (await freshDatabase(engine)).db
  const locks = sharedWriteLocks()
  const rootKey = randomBytes(32).toString('base64')
  const clock = { now: START }
  const now = options.now ?? (() => clock.now)
  const sts = new ScriptedSts(now)
  const open = async (name: string): Promise<TestServer> => {
    // The real start-up path and app, as engines.ts's openTestServer, with the pool's settings.
    const url = engine === 'postgres' ? `${db}?application_name=${name}` : db
    const { services, boot } = await openServices(
      { db: url, rootKey: { kind: 'env', base64: rootKey }, dataDir: null, postgres: options.postgres },
      now,
      { sts },
      engine === 'postgres' ? {} : { otherWriters: true, writeLock: locks.lockFor(names.indexOf(name)) },
    )
    const app = buildApp(services, { authFailures: { burst: 100_000, refillPerSecond: 1 }, ...options.app })
    await app.ready()
    return {
      engine,
      db: url,
      rootKey,
      services,
      app,
      adminToken: boot.adminToken ?? '',
      instanceId: boot.defaultInstanceId,
      auth: { authorization: `Bearer ${boot.adminToken ?? ''}` },
      close: async () => {
        await app.close()
        await closeServices(services)
      },
    }
  }
  const first = await open(names[0]!)
  const nodes = [first, ...(await Promise.all(names.slice(1).map(open)))]
  return {
    db,
    nodes,
    clock,
    instanceId: first.instanceId,
    auth: first.auth,
    sts,
    async kill(...victims) {
      if (engine !== 'postgres') throw new Error('kill: only nodes on PostgreSQL have connections to end')
      const killed = await sql<{ pid: number }>`
        select pid from pg_stat_activity
        where datname = current_database() and application_name in (${sql.join(victims)})
          and pg_terminate_backend(pid, 5000)`.execute(first.services.store.db)
      return killed.rows.length
    },
    async close() {
      for (const node of nodes.reverse()) await node.close()
    },
  }
}

export interface Answer {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field by the assertions
  body: any
  headers: Record<string, unknown>
}

/** A request to one node through `app.inject`. */
export async function send(
  node: TestServer,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  options: {
    body?: unknown
    form?: Record<string, string>
    headers?: Record<string, string>
    /** The client's address, as the node sees it (127.0.0.1 by default). */
    remoteAddress?: string
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers }
  let payload: string | undefined
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    payload = new URLSearchParams(options.form).toString()
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json'
    payload = JSON.stringify(options.body)
  }
  const res = await node.app.inject({
    method,
    url,
    headers,
    ...(payload === undefined ? {} : { payload }),
    ...(options.remoteAddress === undefined ? {} : { remoteAddress: options.remoteAddress }),
  })
  const text = res.body
  let body: unknown = null
  try {
    body = text === '' ? null : JSON.parse(text)
  } catch {
    body = text
  }
  return { status: res.statusCode, body, headers: res.headers }
}

/** An application with every PAM scope and a client secret, made through `node`. */
export interface Workload {
  applicationId: string
  clientId: string
  secret: string
  clientSecretId: string
}

export async function createWorkload(c: Cluster, node: TestServer, name: string): Promise<Workload> {
  const i = `/admin/v1/instances/${c.instanceId}`
  const app = await send(node, 'POST', `${i}/applications`, {
    headers: c.auth,
    body: { name, allowedScopes: [`${PAM}|.all`] },
  })
  const secret = await send(node, 'POST', `${i}/applications/${app.body.applicationId}/client-secrets`, {
    headers: c.auth,
    body: {},
  })
  if (app.status !== 201 || secret.status !== 201) throw new Error(`workload ${name} not created`)
  return {
    applicationId: app.body.applicationId,
    clientId: app.body.clientId,
    secret: secret.body.clientSecret,
    clientSecretId: secret.body.clientSecretId,
  }
}

/** `oauth2/token` on `node` with the client secret: the whole answer. */
export function requestToken(c: Cluster, node: TestServer, w: Workload, secret = w.secret): Promise<Answer> {
  return send(node, 'POST', `/v2/${c.instanceId}/authorizationServer/iauths_system/oauth2/token`, {
    form: {
      grant_type: 'client_credentials',
      client_id: w.clientId,
      client_secret: secret,
      scope: `${PAM}|.all`,
    },
  })
}

/** An access token from `node`'s token endpoint. */
export async function tokenFrom(c: Cluster, node: TestServer, w: Workload): Promise<string> {
  const res = await requestToken(c, node, w)
  if (res.status !== 200) throw new Error(`no token: ${JSON.stringify(res.body)}`)
  return res.body.access_token
}

/** A developer-API call to `node` with a bearer token. */
export function pam(
  c: Cluster,
  node: TestServer,
  token: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<Answer> {
  return send(node, method, `/v2/${c.instanceId}${path}`, {
    headers: { authorization: `Bearer ${token}` },
    ...(method === 'POST' ? { body: body ?? {} } : {}),
  })
}

/** An admin call to `node` with the bootstrap admin token. */
export function admin(
  c: Cluster,
  node: TestServer,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<Answer> {
  return send(node, method, `/admin/v1/instances/${c.instanceId}${path}`, {
    headers: c.auth,
    ...(body === undefined ? {} : { body }),
  })
}

/** The `kid` in a JWS header. */
export function kidOf(jws: string): string {
  return JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString('utf8')).kid
}

/**
 * An upstream OAuth token endpoint: answers every client-credentials request with a new token
 * living `lifetimeS`, after `delayMs`, and counts the requests.
 */
export interface Upstream {
  readonly url: string
  readonly requests: number
  close(): Promise<void>
}

export async function startUpstream(
  options: { delayMs?: number; lifetimeS?: number } = {},
): Promise<Upstream> {
  let requests = 0
  const server: Server = createServer((req: IncomingMessage, res) => {
    req.resume()
    req.on('end', () => {
      requests++
      const n = requests
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({
            access_token: `upstream-token-${n}-${randomBytes(6).toString('hex')}`,
            token_type: 'Bearer',
            expires_in: options.lifetimeS ?? 600,
          }),
        )
      }, options.delayMs ?? 0)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/token`,
    get requests() {
      return requests
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * Holds the instance's audit chain head from another connection, as a busy batch of a third node
 * would, until the function returned is called: a change and a use started meanwhile are both in
 * flight at once, each waiting for the head.
 */
export async function holdHead(node: TestServer, instanceId: string): Promise<() => Promise<void>> {
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  let locked!: () => void
  const isLocked = new Promise<void>((r) => (locked = r))
  const done = node.services.store.db.transaction().execute(async (trx) => {
    await sql`select seq from audit_heads where instance_id = ${instanceId} for update`.execute(trx)
    locked()
    await released
  })
  await isLocked
  return async () => {
    release()
    await done
  }
}
