// A token's signing key revoked, and a token exchanged, while requests are in flight, on two
// PostgreSQL nodes and on one (found by an attacker's review of what nodes keep in memory):
// - a request verified before its key's revocation reached its unit after the revocation was
//   acknowledged, and was answered: the unit re-read the token's revocation but not its key's;
// - a node whose read of the keys was answered late (a stalled link) handed that read's answer,
//   from before a revocation, to requests arriving long after it, far past the one second the
//   security model promises;
// - a token exchange in flight issued a token after its subject's revocation was acknowledged,
//   and exchanged the token of a disabled application at any time.
import { type AddressInfo, createServer, Socket as NetSocket, type Socket } from 'node:net'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ProofKey } from '../../../sdk/src/proof/proof-key.js'
import { buildApp } from '../../src/http/app.js'
import { closeServices, openServices } from '../../src/server.js'
import type { TestServer } from '../support/engines.js'
import {
  type BoundTokenServer,
  bindingKeyOf,
  issueSession,
  newKey,
  oauth,
  openBoundTokenServer,
  PAM,
  send as sendAs,
  sessionAction,
} from './bound-tokens-support.js'
import {
  admin,
  type Cluster,
  createWorkload,
  holdHead,
  kidOf,
  openCluster,
  pam,
  send,
  tokenFrom,
  type Workload,
} from './nodes-support.js'

const OBTAIN = (id: string) => `/credentials/_/actions/obtain?credentialIdentifier=${encodeURIComponent(id)}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Starts `change`, then `use` while a third party holds the head; answers their order. */
async function race(
  c: Cluster,
  holder: TestServer,
  change: () => Promise<{ status: number }>,
  use: () => Promise<{ status: number; body: unknown }>,
) {
  const order: string[] = []
  const unlock = await holdHead(holder, c.instanceId)
  const changed = change().then((x) => order.push(`change ${x.status}`))
  await sleep(100) // the change's unit has written and waits for the head
  const used = use().then((x) => {
    order.push(`use ${x.status}`)
    return x
  })
  await sleep(100) // the use's unit waits for the head (or is queued behind one that does)
  await unlock()
  const [, answer] = await Promise.all([changed, used])
  return { order, answer }
}

async function grantCredential(c: Cluster, node: TestServer, w: Workload, id: string) {
  const created = await admin(c, node, 'POST', '/credentials', {
    credentialIdentifier: id,
    credentialType: 'api_key',
    value: { apiKey: `${id}-value` },
  })
  expect(created.status).toBe(201)
  const granted = await admin(c, node, 'POST', '/grants', {
    applicationId: w.applicationId,
    resourceType: 'credential',
    resource: id,
    actions: ['obtain'],
  })
  expect(granted.status).toBe(201)
}

/** A fresh token of `w` signed by a key that is no longer the active one, and that key's id. */
async function tokenOfRetiredKey(c: Cluster, node: TestServer, w: Workload) {
  const token = await tokenFrom(c, node, w)
  c.clock.now += 1
  expect((await admin(c, node, 'POST', '/signing-keys/rotate', { activateAfterSeconds: 0 })).status).toBe(201)
  return { token, kid: kidOf(token) }
}

describe('signing key revocation vs a request in flight (PostgreSQL, two nodes)', () => {
  let c: Cluster
  let a: TestServer
  let b: TestServer
  let w: Workload

  beforeAll(async () => {
    c = await openCluster(['keyrace_a', 'keyrace_b'])
    ;[a, b] = c.nodes as [TestServer, TestServer]
    w = await createWorkload(c, a, 'keyrace')
    await grantCredential(c, a, w, 'keyrace/x')
  })
  afterAll(async () => {
    await c?.close()
  })

  for (const [label, on] of [
    ['on the node that revokes', 'a'],
    ['on another node', 'b'],
  ] as const) {
    it(`refuses a use verified before the key's revocation was acknowledged, ${label}`, async () => {
      const user = on === 'a' ? a : b
      const { token, kid } = await tokenOfRetiredKey(c, a, w)
      expect((await pam(c, user, token, 'GET', OBTAIN('keyrace/x'))).status).toBe(200)
      const { order, answer } = await race(
        c,
        a,
        () => admin(c, a, 'POST', `/signing-keys/${kid}/revoke`, { reason: 'leaked' }),
        () => pam(c, user, token, 'GET', OBTAIN('keyrace/x')),
      )
      expect(order).toEqual(['change 200', 'use 401'])
      expect(JSON.stringify(answer.body)).not.toContain('keyrace/x-value')
      expect(JSON.stringify(answer.body)).toContain('signed by a key that has been revoked')
      const chain = await sql<{ action: string; outcome: string }>`
        select action, outcome from audit_events where instance_id = ${c.instanceId}
        and action in ('signing_key.revoke', 'credential.obtain') order by seq desc limit 2`.execute(
        a.services.store.db,
      )
      expect(chain.rows.reverse()).toEqual([
        { action: 'signing_key.revoke', outcome: 'success' },
        { action: 'credential.obtain', outcome: 'denied' },
      ])
    })
  }
})

describe('token exchange vs its subject (PostgreSQL, two nodes)', () => {
  let c: Cluster
  let a: TestServer
  let b: TestServer
  let x: Workload

  beforeAll(async () => {
    c = await openCluster(['exchange_a', 'exchange_b'])
    ;[a, b] = c.nodes as [TestServer, TestServer]
    x = await createWorkload(c, a, 'exchanger')
  })
  afterAll(async () => {
    await c?.close()
  })

  const oauth = (node: TestServer, path: string, form: Record<string, string>) =>
    send(node, 'POST', `/v2/${c.instanceId}/authorizationServer/iauths_system/oauth2/${path}`, { form })
  const exchange = (node: TestServer, subject: string) =>
    oauth(node, 'token', {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subject,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      client_id: x.clientId,
      client_secret: x.secret,
    })

  it('issues nothing for a subject whose revocation on another node was acknowledged first', async () => {
    const w = await createWorkload(c, a, 'subject-revoked')
    const subject = await tokenFrom(c, a, w)
    expect((await exchange(a, subject)).status).toBe(200)
    const { order, answer } = await race(
      c,
      a,
      () => oauth(b, 'revoke', { token: subject, client_id: w.clientId, client_secret: w.secret }),
      () => exchange(a, subject),
    )
    expect(order).toEqual(['change 200', 'use 400'])
    expect(answer.body).toMatchObject({ error: 'invalid_grant' })
    expect(JSON.stringify(answer.body)).toContain('has been revoked')
  })

  it('issues nothing for a subject whose signing key was revoked meanwhile', async () => {
    const w = await createWorkload(c, a, 'subject-key')
    const { token: subject, kid } = await tokenOfRetiredKey(c, a, w)
    expect((await exchange(b, subject)).status).toBe(200)
    const { order } = await race(
      c,
      a,
      () => admin(c, a, 'POST', `/signing-keys/${kid}/revoke`, { reason: 'leaked' }),
      () => exchange(b, subject),
    )
    expect(order).toEqual(['change 200', 'use 400'])
  })

  it('refuses the token of a disabled application as a subject, as introspection calls it inactive', async () => {
    const v = await createWorkload(c, a, 'subject-disabled')
    const subject = await tokenFrom(c, a, v)
    expect((await admin(c, b, 'POST', `/applications/${v.applicationId}/disable`)).status).toBe(200)
    const introspected = await oauth(a, 'introspect', {
      token: subject,
      client_id: x.clientId,
      client_secret: x.secret,
    })
    expect(introspected.body).toMatchObject({ active: false })
    const exchanged = await exchange(a, subject)
    expect(exchanged.status).toBe(400)
    expect(exchanged.body).toMatchObject({ error: 'invalid_grant' })
    expect(JSON.stringify(exchanged.body)).toContain('its application is disabled or gone')
  })
})

/** A TCP proxy to PostgreSQL that can hold back what PostgreSQL answers (a stalled link). */
async function stallingProxy(target: string) {
  const upstreamUrl = new URL(target)
  let holding = false
  const held: (() => void)[] = []
  const server = createServer((client: Socket) => {
    const upstream = new NetSocket()
    upstream.connect(Number(upstreamUrl.port), upstreamUrl.hostname)
    client.on('data', (d) => upstream.write(d))
    upstream.on('data', (d) => {
      if (holding) held.push(() => client.write(d))
      else client.write(d)
    })
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = new URL(target)
  url.port = String((server.address() as AddressInfo).port)
  return {
    url: url.toString(),
    hold() {
      holding = true
    },
    release() {
      holding = false
      for (const write of held.splice(0)) write()
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

describe('a read of the signing keys answered late (PostgreSQL, a node behind a stalling link)', () => {
  let c: Cluster
  let a: TestServer
  let b: TestServer
  let closeB: () => Promise<void>
  let proxy: Awaited<ReturnType<typeof stallingProxy>>
  let w: Workload

  beforeAll(async () => {
    c = await openCluster(['stall_a'])
    a = c.nodes[0]!
    proxy = await stallingProxy(c.db)
    const { services } = await openServices(
      {
        db: `${proxy.url}?application_name=stall_b`,
        rootKey: { kind: 'env', base64: a.rootKey },
        dataDir: null,
      },
      () => c.clock.now,
      { sts: c.sts },
    )
    const app = buildApp(services, { authFailures: { burst: 100_000, refillPerSecond: 1 } })
    await app.ready()
    b = { ...a, services, app } as TestServer
    closeB = async () => {
      await app.close()
      await closeServices(services)
    }
    w = await createWorkload(c, a, 'stall')
  })
  afterAll(async () => {
    await closeB?.()
    await c?.close()
    await proxy?.close()
  })

  it('does not hand a verification arriving after a revocation a read of the keys started before it', async () => {
    const { kid } = await tokenOfRetiredKey(c, a, w)
    // What every verification of a token of this instance asks B's copy of the keys (its cache).
    const published = () => b.services.signingKeys.published(c.instanceId, kid)
    expect(await published()).toBeDefined() // B's copy is warm
    c.clock.now += 1_500 // and now more than a second old
    proxy.hold()
    const first = published() // starts B's read of the keys, whose answer is held back
    await sleep(200)
    expect((await admin(c, a, 'POST', `/signing-keys/${kid}/revoke`, { reason: 'leaked' })).status).toBe(200)
    c.clock.now += 5_000
    const second = published() // five seconds after the revocation was acknowledged
    await sleep(200)
    proxy.release()
    const [, late] = await Promise.all([first, second])
    expect(late).toBeUndefined()
  })
})

describe('a session refresh in flight when its token is revoked or its key revoked (PostgreSQL)', () => {
  let b: BoundTokenServer
  beforeAll(async () => {
    b = await openBoundTokenServer('postgres')
  })
  afterAll(async () => b?.close())

  async function session() {
    const key = await newKey('ES256')
    const res = await issueSession(b, await b.accessToken(), {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(key),
      sessionExpirationInMinutes: 30,
    })
    expect(res.status, res.raw).toBe(200)
    return { key, token: res.body.accessToken as string }
  }

  /** The race on one node: the change's unit waits for the held head, then the refresh's. */
  async function raceRefresh(change: () => Promise<{ status: number }>, token: string, key: ProofKey) {
    const order: string[] = []
    const unlock = await holdHead(b.t, b.t.instanceId)
    const changed = change().then((x) => order.push(`change ${x.status}`))
    await sleep(100)
    const refreshed = sessionAction(b, 'refresh', token, key).then((x) => {
      order.push(`refresh ${x.status}`)
      return x
    })
    await sleep(100)
    await unlock()
    const [, answer] = await Promise.all([changed, refreshed])
    return { order, answer }
  }

  it('renews nothing once the token presented was revoked', async () => {
    const { key, token } = await session()
    b.clock.now += 60_000
    const { order, answer } = await raceRefresh(() => oauth(b, 'revoke', { token }), token, key)
    expect(order).toEqual(['change 200', 'refresh 401'])
    expect(answer.raw).not.toContain('accessToken')
  })

  it('renews nothing once the key that signed the token presented was revoked', async () => {
    const { key, token } = await session()
    b.clock.now += 1_000
    const rotated = await sendAs(
      b.t,
      'POST',
      `/admin/v1/instances/${b.t.instanceId}/signing-keys/rotate`,
      b.t.auth,
      {
        activateAfterSeconds: 0,
      },
    )
    expect(rotated.status).toBe(201)
    const kid = kidOf(token)
    const { order } = await raceRefresh(
      () =>
        sendAs(b.t, 'POST', `/admin/v1/instances/${b.t.instanceId}/signing-keys/${kid}/revoke`, b.t.auth, {
          reason: 'leaked',
        }),
      token,
      key,
    )
    expect(order).toEqual(['change 200', 'refresh 401'])
  })
})
