// Revoking an access-token signing key that leaked. Rotating with --activate-after 0 left the old
// key published, and verifying, for one maximum token lifetime (a day): whoever held it could mint
// tokens with new jtis all that time, which no revocation by jti can stop. A revoked key leaves the
// JWKS at once and every token it signed is refused wherever tokens are verified: the developer
// API, introspection, token exchange, session refresh; through any node, once it has read the
// change (and within a second while it verifies tokens).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ProofKey } from '../../../sdk/src/proof/proof-key.js'
import { verifyAccessToken } from '../../src/oauth/access-tokens.js'
import { call, ENGINES, type TestServer } from '../support/engines.js'
import {
  auditEvents,
  type BoundTokenServer,
  bindingKeyOf,
  issueSession,
  newKey,
  oauth,
  obtainUrl,
  openBoundTokenServer,
  PAM,
  send,
  sessionAction,
} from './bound-tokens-support.js'
import {
  admin,
  type Cluster,
  createWorkload,
  kidOf,
  openCluster,
  pam,
  send as sendTo,
  tokenFrom,
  type Workload,
} from './nodes-support.js'

const OBTAIN = (identifier: string) => `/credentials/_/actions/obtain?credentialIdentifier=${identifier}`

describe.each(ENGINES)('revoking a signing key on %s', (engine) => {
  let b: BoundTokenServer
  let key: ProofKey
  beforeAll(async () => {
    b = await openBoundTokenServer(engine)
    key = await newKey('EdDSA')
  })
  afterAll(async () => b?.close())

  const keysPath = () => `/admin/v1/instances/${b.t.instanceId}/signing-keys`
  const rotateNow = async () => {
    // A key activated in the same millisecond as the one before it would be ordered by kid.
    b.clock.now += 1000
    const res = await call(b.t, 'POST', `${keysPath()}/rotate`, { activateAfterSeconds: 0 })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    return res.body.kid as string
  }
  const revoke = (kid: string, body: unknown = { reason: 'INC-4711: the key leaked' }) =>
    call(b.t, 'POST', `${keysPath()}/${encodeURIComponent(kid)}/revoke`, body)
  const jwksKids = async () =>
    (await send(b.t, 'GET', `${b.v2}/authorizationServer/iauths_system/jwks`)).body.keys.map(
      (k: { kid: string }) => k.kid,
    )
  const obtain = (token: string) => send(b.t, 'GET', obtainUrl(b), { authorization: `Bearer ${token}` })
  const introspect = async (token: string) => (await oauth(b, 'introspect', { token })).body
  const exchangeOf = (token: string) =>
    oauth(b, 'token', {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    })

  it('unpublishes the key and refuses every token it signed at once, everywhere tokens are verified', async () => {
    const token = await b.accessToken()
    const leaked = kidOf(token)
    const session = await issueSession(b, token, {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(key),
      sessionExpirationInMinutes: 30,
    })
    expect(session.status, session.raw).toBe(200)
    // Used everywhere first, so every cache (keys, verified signatures) holds the key and the token.
    expect((await obtain(token)).status).toBe(200)
    expect(await introspect(token)).toMatchObject({ active: true })
    expect((await exchangeOf(token)).status).toBe(200)
    expect(await jwksKids()).toContain(leaked)

    const successor = await rotateNow()
    const fresh = await b.accessToken()
    expect(kidOf(fresh)).toBe(successor)
    // Rotating alone leaves the old key published and trusted for a day.
    expect((await obtain(token)).status).toBe(200)

    const revoked = await revoke(leaked)
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200)
    expect(revoked.body).toMatchObject({
      kid: leaked,
      status: 'revoked',
      revokedTime: b.clock.now,
      unpublishTime: b.clock.now,
      revokedReason: 'INC-4711: the key leaked',
    })

    expect(await jwksKids()).toEqual([successor])
    const refused = await obtain(token)
    expect(refused.status).toBe(401)
    expect(refused.body.Code).toBe('InvalidToken')
    expect(await introspect(token)).toEqual({ active: false })
    expect((await exchangeOf(token)).body).toMatchObject({ error: 'invalid_grant' })
    const refresh = await sessionAction(b, 'refresh', session.body.accessToken, key)
    expect(refresh.status, refresh.raw).toBe(401)
    await expect(
      verifyAccessToken(b.t.services, b.t.services.signingKeys, token, {
        instanceId: b.t.instanceId,
        issuer: `${b.t.services.publicUrl}${b.v2}/authorizationServer/iauths_system`,
      }),
    ).rejects.toThrow(/not signed by a key of this instance/)
    // The key that signs now is untouched.
    expect((await obtain(fresh)).status).toBe(200)

    // Listed as revoked, with the other keys' fields as before.
    const listed = await call(b.t, 'GET', keysPath())
    const entry = listed.body.entities.find((k: { kid: string }) => k.kid === leaked)
    expect(entry).toMatchObject({
      status: 'revoked',
      revokedTime: b.clock.now,
      retireTime: expect.any(Number),
    })
    expect(listed.body.entities.find((k: { kid: string }) => k.kid === successor)).toMatchObject({
      status: 'active',
      revokedTime: null,
      revokedReason: null,
    })
  })

  it('audits the revocation once, with its reason; revoking again answers 200 and changes nothing', async () => {
    const old = kidOf(await b.accessToken())
    await rotateNow()
    b.clock.now += 1000
    expect((await revoke(old, { reason: 'rotated after a leak' })).status).toBe(200)
    b.clock.now += 1000
    const again = await revoke(old, { reason: 'a second time' })
    expect(again.status).toBe(200)
    expect(again.body).toMatchObject({ status: 'revoked', revokedReason: 'rotated after a leak' })
    expect(again.body.revokedTime).toBe(b.clock.now - 1000)
    const events = (await auditEvents(b, 'signing_key.revoke')).filter((e) => e.resource_id === old)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      outcome: 'success',
      resource_type: 'signing_key',
      reason: 'rotated after a leak',
      actor_type: 'admin_token',
    })
  })

  it('refuses to revoke the active key while no other key signs (409: rotate first)', async () => {
    const active = kidOf(await b.accessToken())
    const res = await revoke(active)
    expect(res.status).toBe(409)
    expect(res.body).toMatchObject({ Code: 'Conflict', field: 'kid' })
    expect(res.body.Message).toContain(active)
    expect(res.body.Message).toContain('signing-key rotate --activate-after 0')
    // A key published to sign later does not sign yet: still refused.
    const later = await call(b.t, 'POST', `${keysPath()}/rotate`, { activateAfterSeconds: 600 })
    expect(later.status).toBe(201)
    expect((await revoke(active)).status).toBe(409)
    expect(kidOf(await b.accessToken())).toBe(active)
    expect((await obtain(await b.accessToken())).status).toBe(200)
  })

  it('revokes a key that is still to come: it never signs, and the active key goes on signing', async () => {
    // Past the activation of every key the tests before made.
    b.clock.now += 86_400_000
    const active = kidOf(await b.accessToken())
    const next = await call(b.t, 'POST', `${keysPath()}/rotate`, { activateAfterSeconds: 600 })
    expect(await jwksKids()).toContain(next.body.kid)
    const res = await revoke(next.body.kid)
    expect(res.body).toMatchObject({ status: 'revoked', retireTime: null })
    expect(await jwksKids()).not.toContain(next.body.kid)
    b.clock.now += 3_600_000
    // Its activation time has passed: the key before it still signs, and is still the active one.
    const token = await b.accessToken()
    expect(kidOf(token)).toBe(active)
    expect((await obtain(token)).status).toBe(200)
    const listed = (await call(b.t, 'GET', keysPath())).body.entities
    expect(listed.find((k: { kid: string }) => k.kid === active)).toMatchObject({
      status: 'active',
      retireTime: null,
    })
    expect(await jwksKids()).toContain(active)
  })

  it('answers 404 for an unknown kid and 400 naming the field without a reason', async () => {
    const unknown = await revoke('a'.repeat(43))
    expect(unknown.status).toBe(404)
    expect(unknown.body.Code).toBe('NotFound')
    const kid = kidOf(await b.accessToken())
    for (const body of [{}, { reason: '' }]) {
      const res = await revoke(kid, body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.field).toBe('reason')
    }
    const badKid = await revoke('not a kid!')
    expect(badKid).toMatchObject({ status: 400, body: { field: 'kid' } })
  })
})

describe.each([
  ['on PostgreSQL', 'postgres'],
  ['as workers of one SQLite file', 'sqlite'],
] as const)('a signing key revoked through node A, %s', (_label, engine) => {
  let c: Cluster
  let a: TestServer
  let other: TestServer
  let w: Workload
  beforeAll(async () => {
    c = await openCluster(['node_a', 'node_b'], { engine })
    ;[a, other] = c.nodes as [TestServer, TestServer]
    w = await createWorkload(c, a, 'workload')
    await admin(c, a, 'POST', '/credentials', {
      credentialIdentifier: 'k/plain',
      credentialType: 'api_key',
      value: { apiKey: 'v1' },
    })
    const grant = await admin(c, a, 'POST', '/grants', {
      applicationId: w.applicationId,
      resourceType: 'credential',
      resource: 'k/plain',
      actions: ['obtain'],
    })
    expect(grant.status).toBe(201)
  })
  afterAll(async () => c?.close())

  const obtainOn = (node: TestServer, token: string) => pam(c, node, token, 'GET', OBTAIN('k/plain'))
  const jwksOn = async (node: TestServer) =>
    (await sendTo(node, 'GET', `/v2/${c.instanceId}/authorizationServer/iauths_system/jwks`)).body.keys.map(
      (k: { kid: string }) => k.kid,
    )
  /** Mints on A, uses on both nodes (their caches warm), rotates through A at once; the old kid. */
  async function leakedToken(): Promise<{ token: string; kid: string }> {
    const token = await tokenFrom(c, a, w)
    for (const node of [a, other]) expect((await obtainOn(node, token)).status).toBe(200)
    // A key activated in the same millisecond as the one before it would be ordered by kid.
    c.clock.now += 1
    expect((await admin(c, a, 'POST', '/signing-keys/rotate', { activateAfterSeconds: 0 })).status).toBe(201)
    expect((await obtainOn(other, token)).status).toBe(200)
    return { token, kid: kidOf(token) }
  }
  const revokeThrough = async (node: TestServer, kid: string) => {
    const res = await admin(c, node, 'POST', `/signing-keys/${kid}/revoke`, { reason: 'leaked' })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
  }

  it('is refused at once on A, and on B once B has read the change', async () => {
    const { token, kid } = await leakedToken()
    await revokeThrough(a, kid)
    expect((await obtainOn(a, token)).body.Code).toBe('InvalidToken')
    expect(await jwksOn(a)).not.toContain(kid)
    // B reads the change sequence (as /readyz, a signature or the JWKS make it do).
    expect((await sendTo(other, 'GET', '/readyz')).status).toBe(200)
    const refused = await obtainOn(other, token)
    expect(refused.status).toBe(401)
    expect(refused.body.Code).toBe('InvalidToken')
    expect(await jwksOn(other)).not.toContain(kid)
    // The key that signs now still works on both.
    const fresh = await tokenFrom(c, other, w)
    for (const node of [a, other]) expect((await obtainOn(node, fresh)).status).toBe(200)
  })

  it('is refused on B within a second, by the verification alone', async () => {
    const { token, kid } = await leakedToken()
    await revokeThrough(a, kid)
    c.clock.now += 1_000
    const refused = await obtainOn(other, token)
    expect(refused.status).toBe(401)
    expect(refused.body.Code).toBe('InvalidToken')
  })

  it('lets B refuse to revoke the key A made active a moment ago', async () => {
    const active = kidOf(await tokenFrom(c, a, w))
    const res = await admin(c, other, 'POST', `/signing-keys/${active}/revoke`, { reason: 'leaked' })
    expect(res.status).toBe(409)
  })
})
