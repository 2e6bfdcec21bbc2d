// Client authentication at the token endpoint, as two reviews found it:
// - a client id holding NUL (a Basic header's `%00`, or an assertion's `iss`, which the form's own
//   check never sees) reached the application lookup, which PostgreSQL refused: a 500, neither
//   audited nor counted against the address's failure budget;
// - an assertion verified with a registered key just before that key's removal was acknowledged
//   still got a token after it: the issuing unit re-read the client's status and secret, not its key.
import { randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import { admin, type Cluster, holdHead, openCluster, send } from './nodes-support.js'

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const ID_TOKEN_BEARER = 'urn:cloud:idaas:params:oauth:client-assertion-type:id-token-bearer'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe.each(ENGINES)('a client id no application can have, on %s', (engine) => {
  let t: TestServer
  afterEach(async () => t?.close())

  it('is a counted, audited 401, never a 500, however it comes', async () => {
    t = await openTestServer(engine, { app: { authFailures: { burst: 4, refillPerSecond: 0.001 } } })
    const url = `/v2/${t.instanceId}/authorizationServer/iauths_system/oauth2/token`
    const basic = (id: string) => Buffer.from(`${id}:secret`).toString('base64')
    const unsigned = (iss: string) =>
      `${Buffer.from(JSON.stringify({ alg: 'HS256' })).toString('base64url')}.${Buffer.from(
        JSON.stringify({ iss, sub: iss, aud: 'x', jti: randomUUID(), exp: 4_000_000_000 }),
      ).toString('base64url')}.c2ln`
    const requests = [
      { authorization: `Basic ${basic('c%00x')}`, form: { grant_type: 'client_credentials' } },
      {
        form: {
          grant_type: 'client_credentials',
          client_assertion_type: JWT_BEARER,
          client_assertion: unsigned('x\u0000y'),
        },
      },
      {
        form: {
          grant_type: 'client_credentials',
          client_assertion_type: JWT_BEARER,
          client_assertion: unsigned('x\ud800y'),
        },
      },
    ]
    for (const r of requests) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(r.authorization ? { authorization: r.authorization } : {}),
        },
        payload: new URLSearchParams(r.form).toString(),
      })
      expect(res.statusCode, res.body).toBe(401)
      expect(res.json()).toMatchObject({ error: 'invalid_client' })
    }
    const events = await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/audit/events?action=oauth.token`)
    const refused = events.body.entities.filter(
      (e: { details: { why?: string } }) => e.details.why === 'malformed_client_id',
    )
    expect(refused.map((e: { actorId: string }) => e.actorId)).toEqual(
      expect.arrayContaining(['c\uFFFDx', 'x\uFFFDy']),
    )
    // They spend the address's failure budget (4) as any failed authentication does: throttled soon.
    const statuses: number[] = []
    for (let n = 0; n < 3; n++) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${basic('c%00x')}`,
        },
        payload: 'grant_type=client_credentials',
      })
      statuses.push(res.statusCode)
    }
    expect(statuses).toContain(429)
  })
})

describe('an application key removed while its assertion is being exchanged for a token (PostgreSQL)', () => {
  let c: Cluster
  beforeAll(async () => {
    c = await openCluster(['keyremove_a', 'keyremove_b'])
  })
  afterAll(async () => {
    await c?.close()
  })

  it('issues no token once the removal on another node was acknowledged', async () => {
    const [a, b] = c.nodes as [TestServer, TestServer]
    const app = await admin(c, a, 'POST', '/applications', {
      name: 'signer',
      allowedScopes: ['urn:cloud:idaas:pam|.all'],
    })
    const { clientId, applicationId } = app.body as { clientId: string; applicationId: string }
    const ec = await generateKeyPair('ES256', { extractable: true })
    const added = await admin(c, a, 'POST', `/applications/${applicationId}/keys`, {
      jwk: await exportJWK(ec.publicKey),
    })
    expect(added.status).toBe(201)
    const keyId = added.body.entities[0].applicationKeyId as string
    const base = `/v2/${c.instanceId}/authorizationServer/iauths_system`
    const audience = `${a.services.publicUrl}${base}/oauth2/token`
    const nowS = Math.floor(c.clock.now / 1000)
    const signed = () =>
      new SignJWT({ jti: randomUUID() })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(audience)
        .setIssuedAt(nowS)
        .setExpirationTime(nowS + 300)
        .setProtectedHeader({ alg: 'ES256' })
        .sign(ec.privateKey)
    const token = async (jwt: string) =>
      send(a, 'POST', `${base}/oauth2/token`, {
        form: {
          grant_type: 'client_credentials',
          client_id: clientId,
          client_assertion_type: JWT_BEARER,
          client_assertion: jwt,
        },
      })
    expect((await token(await signed())).status).toBe(200)
    const order: string[] = []
    const unlock = await holdHead(a, c.instanceId)
    const removed = admin(c, b, 'DELETE', `/applications/${applicationId}/keys/${keyId}`).then((r) =>
      order.push(`remove ${r.status}`),
    )
    await sleep(100)
    const jwt = await signed()
    const issued = token(jwt).then((r) => {
      order.push(`token ${r.status}`)
      return r
    })
    await sleep(100)
    await unlock()
    const [, answer] = await Promise.all([removed, issued])
    expect(order).toEqual(['remove 204', 'token 401'])
    expect(answer.body).toMatchObject({ error: 'invalid_client' })
  })

  it('issues no token for an external token once its federated credential’s removal was acknowledged', async () => {
    const [a, b] = c.nodes as [TestServer, TestServer]
    const app = await admin(c, a, 'POST', '/applications', {
      name: 'federated',
      allowedScopes: ['urn:cloud:idaas:pam|.all'],
    })
    const { clientId, applicationId } = app.body as { clientId: string; applicationId: string }
    const issuerKey = await generateKeyPair('RS256', { extractable: true })
    const fc = await admin(c, a, 'POST', `/applications/${applicationId}/federated-credentials`, {
      name: 'ci',
      issuer: 'https://ci.example',
      subject: 'repo:payments',
      audiences: ['strongroom'],
      jwks: { keys: [{ ...(await exportJWK(issuerKey.publicKey)), kid: 'ci-1' }] },
    })
    expect(fc.status).toBe(201)
    const nowS = Math.floor(c.clock.now / 1000)
    const external = () =>
      new SignJWT({})
        .setIssuer('https://ci.example')
        .setSubject('repo:payments')
        .setAudience('strongroom')
        .setIssuedAt(nowS)
        .setExpirationTime(nowS + 300)
        .setProtectedHeader({ alg: 'RS256', kid: 'ci-1' })
        .sign(issuerKey.privateKey)
    const token = async (jwt: string) =>
      send(a, 'POST', `/v2/${c.instanceId}/authorizationServer/iauths_system/oauth2/token`, {
        form: {
          grant_type: 'client_credentials',
          client_id: clientId,
          client_assertion_type: ID_TOKEN_BEARER,
          client_assertion: jwt,
          application_federated_credential_name: 'ci',
        },
      })
    expect((await token(await external())).status).toBe(200)
    const order: string[] = []
    const unlock = await holdHead(a, c.instanceId)
    const removed = admin(
      c,
      b,
      'DELETE',
      `/applications/${applicationId}/federated-credentials/${fc.body.federatedCredentialId}`,
    ).then((r) => order.push(`remove ${r.status}`))
    await sleep(100)
    const jwt = await external()
    const issued = token(jwt).then((r) => order.push(`token ${r.status}`))
    await sleep(100)
    await unlock()
    await Promise.all([removed, issued])
    expect(order).toEqual(['remove 204', 'token 401'])
  })
})
