// Issue 16, stage 3: what must be shared between nodes is kept in the database, so three nodes on
// one PostgreSQL behave as one: one upstream OAuth request per token lifetime for the whole cluster,
// one failure budget at the token endpoint, one use of each client assertion's jti, one audit chain.
import { randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyChain } from '../../src/audit/verify.js'
import { mintSecret } from '../../src/crypto/minted-secret.js'
import type { TestServer } from '../support/engines.js'
import {
  admin,
  type Cluster,
  createWorkload,
  openCluster,
  pam,
  requestToken,
  send,
  startUpstream,
  tokenFrom,
  type Upstream,
  type Workload,
} from './nodes-support.js'

const FETCH_OAUTH = '/authenticationTokens/_/actions/fetchOAuthAccessToken'
const BURST = 20

describe.each([
  ['three nodes on one PostgreSQL database', 'postgres'],
  ['three workers on one SQLite file', 'sqlite'],
] as const)('%s share what must be shared', (_, engine) => {
  let c: Cluster
  let upstream: Upstream
  let w: Workload
  let token: string

  beforeAll(async () => {
    c = await openCluster(['shared_a', 'shared_b', 'shared_c'], {
      engine,
      app: { authFailures: { burst: BURST, refillPerSecond: 0.5 } },
    })
    // Slow enough that every node is asking while the first request is still out.
    upstream = await startUpstream({ delayMs: 300, lifetimeS: 600 })
    w = await createWorkload(c, c.nodes[0]!, 'consumer')
    const provider = await admin(c, c.nodes[0]!, 'POST', '/credential-providers', {
      credentialProviderIdentifier: 'upstream',
      credentialProviderType: 'oauth',
      oauth: { tokenEndpoint: upstream.url, clientId: 'strongroom', clientSecret: 'upstream-secret' },
    })
    expect(provider.status).toBe(201)
    await admin(c, c.nodes[0]!, 'POST', '/grants', {
      applicationId: w.applicationId,
      resourceType: 'credential_provider',
      resource: 'upstream',
      actions: ['use'],
    })
    token = await tokenFrom(c, c.nodes[0]!, w)
  })
  afterAll(async () => {
    await upstream?.close()
    await c?.close()
  })

  const fetchOAuth = (node: TestServer, body: Record<string, unknown> = {}) =>
    pam(c, node, token, 'POST', FETCH_OAUTH, { credentialProviderIdentifier: 'upstream', ...body })

  it('100 concurrent FetchOAuth calls spread over three nodes make one upstream request, and one record', async () => {
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => fetchOAuth(c.nodes[i % 3]!)))
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200))
    expect(upstream.requests).toBe(1)
    const values = new Set(answers.map((a) => a.body.oauthAccessTokenContent.accessTokenValue))
    expect(values.size).toBe(1)
    expect(new Set(answers.map((a) => a.body.authenticationTokenId)).size).toBe(1)
    // Each node made its own request to the database, none to the upstream but one.
    expect(c.nodes.map((n) => n.services.providers.upstream.requests).sort()).toEqual([0, 0, 1])

    // Until near its expiry every node hands out the same token; then one node refreshes it for all.
    c.clock.now += 500_000
    for (const node of c.nodes) {
      expect((await fetchOAuth(node)).body.oauthAccessTokenContent.accessTokenValue).toBe([...values][0])
    }
    expect(upstream.requests).toBe(1)
    c.clock.now += 45_000
    const refreshed = await Promise.all(Array.from({ length: 30 }, (_, i) => fetchOAuth(c.nodes[i % 3]!)))
    expect(refreshed.map((a) => a.status)).toEqual(Array(30).fill(200))
    expect(upstream.requests).toBe(2)
    expect(new Set(refreshed.map((a) => a.body.oauthAccessTokenContent.accessTokenValue)).size).toBe(1)
    // Asking to authenticate again, from every node at once: one more request, shared.
    const forced = await Promise.all(c.nodes.map((node) => fetchOAuth(node, { forceAuthentication: true })))
    expect(forced.map((a) => a.status)).toEqual([200, 200, 200])
    expect(upstream.requests).toBe(3)
  })

  it('failed client authentications spread over three nodes hit the throttle as if on one node', async () => {
    const victim = await createWorkload(c, c.nodes[0]!, 'victim')
    const wrong = { ...victim, secret: 'srcs_wrong' }
    // Per address: one bad client from one address, round-robin over the nodes.
    for (let n = 0; n < BURST; n++) {
      const res = await requestToken(c, c.nodes[n % 3]!, wrong)
      expect(res.status, `failure ${n + 1}`).toBe(401)
    }
    for (const node of c.nodes) {
      const res = await requestToken(c, node, victim)
      expect(res.status).toBe(429)
      expect(res.body.Code).toBe('Throttling.User')
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    }

    // Per client id: the same client from ever-changing addresses.
    const other = await createWorkload(c, c.nodes[0]!, 'other')
    const form = (secret: string) => ({
      grant_type: 'client_credentials',
      client_id: other.clientId,
      client_secret: secret,
    })
    const from = (node: TestServer, n: number, secret: string) =>
      node.app.inject({
        method: 'POST',
        url: `/v2/${c.instanceId}/authorizationServer/iauths_system/oauth2/token`,
        remoteAddress: `10.0.${Math.floor(n / 200)}.${n % 200}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(form(secret)).toString(),
      })
    for (let n = 0; n < BURST; n++)
      expect((await from(c.nodes[n % 3]!, n, 'srcs_wrong')).statusCode).toBe(401)
    for (const [i, node] of c.nodes.entries()) {
      // Refused on every node, though none of them saw the failure that exhausted the id...
      const res = await from(node, 1000 + i, 'srcs_wrong')
      expect(res.statusCode).toBe(429)
      expect(res.body).toContain('Throttling.User')
      // ...while the client itself, whose secret verifies, is served everywhere: anyone may
      // know a client id, so its budget refuses only failures.
      expect((await from(node, 1100 + i, other.secret)).statusCode).toBe(200)
    }
    // Time earns it back, on every node.
    c.clock.now += 10_000
    expect((await from(c.nodes[2]!, 2000, 'srcs_wrong')).statusCode).toBe(401)
  })

  it('failed admin and developer-API authentications spread over three nodes spend one budget', async () => {
    const bad = { authorization: `Bearer ${mintSecret('srat_')}` }
    const whoami = (node: TestServer, remoteAddress: string, headers = bad) =>
      send(node, 'GET', '/admin/v1/whoami', { headers, remoteAddress })
    const obtain = (node: TestServer, remoteAddress: string) =>
      send(node, 'GET', `/v2/${c.instanceId}/credentials/_/actions/obtain?credentialIdentifier=none`, {
        headers: bad,
        remoteAddress,
      })
    for (const [surface, attempt] of [
      ['admin', whoami],
      ['developer API', obtain],
    ] as const) {
      const address = surface === 'admin' ? '10.7.0.1' : '10.7.0.2'
      // Round-robin: each node saw a third of the budget's failures, and none knows it is spent.
      for (let n = 0; n < BURST; n++) {
        expect((await attempt(c.nodes[n % 3]!, address)).status, `${surface} failure ${n + 1}`).toBe(401)
      }
      // Every node refuses the next failure: it asks the database, which counted all of them.
      for (const node of c.nodes) {
        const res = await attempt(node, address)
        expect(res.status, surface).toBe(429)
        expect(res.body.Code).toBe('Throttling.User')
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      }
    }
    // A token that works is served from the throttled address, on every node.
    for (const node of c.nodes) {
      const res = await send(node, 'GET', '/admin/v1/whoami', { headers: c.auth, remoteAddress: '10.7.0.1' })
      expect(res.status).toBe(200)
    }
    // Time earns back one failure (0.5 a second) for the whole cluster, not one per node.
    c.clock.now += 2_000
    const after = []
    for (const node of c.nodes) after.push((await whoami(node, '10.7.0.1')).status)
    expect(after).toEqual([401, 429, 429])
  })

  it('accepts a client assertion sent to three nodes at once exactly once', async () => {
    const signer = await createWorkload(c, c.nodes[0]!, 'signer')
    const key = await generateKeyPair('EdDSA', { extractable: true })
    const added = await admin(c, c.nodes[0]!, 'POST', `/applications/${signer.applicationId}/keys`, {
      jwk: await exportJWK(key.publicKey),
    })
    expect(added.status).toBe(201)
    const base = `/v2/${c.instanceId}/authorizationServer/iauths_system`
    const audience = `${c.nodes[0]!.services.publicUrl}${base}/oauth2/token`
    for (let round = 0; round < 3; round++) {
      const now = Math.floor(c.clock.now / 1000)
      const assertion = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'EdDSA' })
        .setIssuer(signer.clientId)
        .setSubject(signer.clientId)
        .setAudience(audience)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(key.privateKey)
      const answers = await Promise.all(
        [...c.nodes, ...c.nodes].map((node, i) =>
          send(node, 'POST', `${base}/oauth2/token`, {
            form: {
              grant_type: 'client_credentials',
              client_id: signer.clientId,
              client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
              client_assertion: assertion,
            },
            remoteAddress: `10.9.9.${round * 10 + i}`,
          }),
        ),
      )
      expect(answers.map((a) => a.status).sort()).toEqual([200, 401, 401, 401, 401, 401])
    }
  })

  it('keeps one unbroken audit chain for the instance, written by every node', async () => {
    const chain = await verifyChain(c.nodes[1]!.services.store.db, c.instanceId)
    expect(chain.ok).toBe(true)
    const writers = await c.nodes[0]!.services.store.db.selectFrom('audit_events')
      .select('action')
      .where('instance_id', '=', c.instanceId)
      .where('action', '=', 'authentication_token.fetch_oauth')
      .execute()
    expect(writers.length).toBeGreaterThanOrEqual(100)
  })
})
