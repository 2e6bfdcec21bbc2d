// OCI's identity data plane on both engines, through `app.inject`, with requests signed by the
// official OCI signer (oci-common): the OCI fingerprint of registered keys, GenerateScopedAccessToken
// and GenerateUserSecurityToken answering strongroom's key-bound tokens (verified with the
// instance's JWKS, bound to the key sent, narrowed, audited), the session's life through
// strongroom's own refresh and revoke, and OCI's error bodies.
import { createHash, createPublicKey } from 'node:crypto'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { importProofKey } from '../../../sdk/src/proof/proof-key.js'
import { ENGINES } from '../support/engines.js'
import {
  API,
  type BoundTokenServer,
  bindingKeyOf,
  dpopHeaders,
  issueScoped,
  newKey,
  obtainPath,
  obtainUrl,
  openBoundTokenServer,
  PAM,
  send,
  sessionAction,
} from './bound-tokens-support.js'
import {
  claimsOf,
  newRsaKey,
  type OciApiKey,
  ociPath,
  post,
  registerOciKey,
  SCOPED_PATH,
  signedHeaders,
  signedPost,
  UPST_PATH,
} from './oci-support.js'

/** The sample API key of OCI's documentation and the fingerprint OCI gives it. */
const OCI_SAMPLE_KEY = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA7I6Rmqlm0I60Ehz1WjbE
GcK8PfqljMZpOxSxXOhFf0NsHcqJMYnCbwhlJSSzhs/mohZkgMkbPr8Xd/iNeJSR
62Pk94TcfRnbLDTW+DCkhSYvTdVgjEQVzKBRgWi6GTdEnq6tYMcN68kIjdq75OSN
fol+JnkF2v3LxE2bdinkzUC21QMd5zhGgaoa4AmTeRWbD32P4oZ3sIF4Pt0T+MIj
AvIQ+VU6i+2C/5VO2dYUurseTH5axd90WKopq3ScXVCZeQJY1XQy8MLsSVVK2k6B
S7mfb62t1+bXkSev04gAT9opHbTspDf+YfDx0xPDU2yrUZ0M2hVm1J9fcS/1jUZS
RQIDAQAB
-----END PUBLIC KEY-----
`
const OCI_SAMPLE_FINGERPRINT = '7e:e1:e0:d3:7d:a5:f7:99:1e:97:16:d1:dc:41:f2:58'

describe.each(ENGINES)('OCI identity data plane (%s)', (engine) => {
  let b: BoundTokenServer
  let key: OciApiKey
  beforeAll(async () => {
    b = await openBoundTokenServer(engine)
    key = await registerOciKey(b)
  })
  afterAll(async () => b?.close())

  const events = () =>
    b.t.services.store.db
      .selectFrom('audit_events')
      .select(['seq', 'action', 'outcome', 'actor_type', 'actor_id', 'details'])
      .where('instance_id', '=', b.t.instanceId)
      // The instance's first signing key is made (and audited) when the first token is signed.
      .where('action', '!=', 'signing_key.create')
      .orderBy('seq')
      .execute()

  const jwks = async () => {
    const res = await send(b.t, 'GET', `${b.v2}/authorizationServer/iauths_system/jwks`)
    return createLocalJWKSet(res.body)
  }
  const issuer = () => `${b.t.services.publicUrl}${b.v2}/authorizationServer/iauths_system`
  const pemOf = (k: Awaited<ReturnType<typeof newKey>>) => (bindingKeyOf(k, 'pem') as { pem: string }).pem

  it('shows the OCI fingerprint of RSA keys (MD5 of the DER SubjectPublicKeyInfo), and none for others', async () => {
    const der = createPublicKey(key.publicPem).export({ type: 'spki', format: 'der' })
    const md5 = createHash('md5').update(der).digest('hex')
    expect(key.fingerprint).toBe(md5.match(/../g)?.join(':'))
    const sample = await send(
      b.t,
      'POST',
      `/admin/v1/instances/${b.t.instanceId}/applications/${b.app.applicationId}/keys`,
      b.t.auth,
      { pem: OCI_SAMPLE_KEY },
    )
    expect(sample.status, sample.raw).toBe(201)
    expect(sample.body.entities[0].ociFingerprint).toBe(OCI_SAMPLE_FINGERPRINT)
    const ec = await send(
      b.t,
      'POST',
      `/admin/v1/instances/${b.t.instanceId}/applications/${b.app.applicationId}/keys`,
      b.t.auth,
      { jwk: (await newKey('ES256')).publicJwk },
    )
    expect(ec.status, ec.raw).toBe(201)
    expect(ec.body.entities[0]).not.toHaveProperty('ociFingerprint')
    const listed = await send(
      b.t,
      'GET',
      `/admin/v1/instances/${b.t.instanceId}/applications/${b.app.applicationId}/keys`,
      b.t.auth,
    )
    const byId = new Map(
      listed.body.entities.map((k: { applicationKeyId: string }) => [k.applicationKeyId, k]),
    )
    expect(byId.get(key.applicationKeyId)).toMatchObject({ kty: 'RSA', ociFingerprint: key.fingerprint })
  })

  it('answers GenerateScopedAccessToken with a token of the instance bound to the key sent, narrowed and audited', async () => {
    const bound = await newKey('RS256')
    const before = (await events()).length
    const res = await signedPost(b, key, SCOPED_PATH, {
      scope: `${API}|read delete`,
      publicKey: pemOf(bound),
    })
    expect(res.status, res.raw).toBe(200)
    expect(Object.keys(res.body)).toEqual(['token'])
    expect(res.headers['opc-request-id']).toMatch(/^req_/)
    const { payload } = await jwtVerify(res.body.token, await jwks(), { issuer: issuer(), audience: API })
    expect(payload).toMatchObject({
      sub: b.app.applicationId,
      client_id: b.app.clientId,
      scope: 'read',
      cnf: { jkt: bound.thumbprint },
      scoped: true,
    })
    expect(payload.exp! - payload.iat!).toBe(900)
    const written = (await events()).slice(before)
    expect(written, JSON.stringify(written)).toHaveLength(1)
    expect(written[0]).toMatchObject({
      action: 'token.scoped.issue',
      outcome: 'success',
      actor_type: 'application',
      actor_id: b.app.applicationId,
    })
    expect(JSON.parse(written[0]!.details)).toMatchObject({
      jkt: bound.thumbprint,
      scope: `${API}|read`,
      tokenId: payload.jti,
      accessTokenId: key.applicationKeyId,
    })
    expect(written[0]!.details).not.toContain(res.body.token.split('.')[2])
  })

  it('answers a PAM-scoped token that works with a DPoP proof of the key, and only of that key', async () => {
    const bound = await newKey('RS256')
    const res = await signedPost(b, key, SCOPED_PATH, {
      scope: `${PAM}|credential:obtain`,
      // Some OCI clients send the key's base64 DER alone, without the PEM armour.
      publicKey: pemOf(bound)
        .replace(/-----[A-Z ]+-----/g, '')
        .replace(/\s+/g, ''),
    })
    expect(res.status, res.raw).toBe(200)
    const token = res.body.token as string
    expect(claimsOf(token)).toMatchObject({
      aud: PAM,
      scope: 'credential:obtain',
      cnf: { jkt: bound.thumbprint },
    })
    const used = await send(
      b.t,
      'GET',
      obtainUrl(b),
      await dpopHeaders(b, bound, token, 'GET', obtainPath(b)),
    )
    expect(used.status, used.raw).toBe(200)
    const other = await send(
      b.t,
      'GET',
      obtainUrl(b),
      await dpopHeaders(b, await newKey('RS256'), token, 'GET', obtainPath(b)),
    )
    expect(other.status).toBe(401)
    expect(other.body.Code).toBe('ProofKeyMismatch')
  })

  it('refuses a scope the application is not allowed: 403 NotAuthorized, audited as denied', async () => {
    const before = (await events()).length
    const res = await signedPost(b, key, SCOPED_PATH, {
      scope: `${API}|delete`,
      publicKey: pemOf(await newKey('RS256')),
    })
    expect(res.status, res.raw).toBe(403)
    expect(res.body).toEqual({ code: 'NotAuthorized', message: expect.stringContaining('delete') })
    const written = (await events()).slice(before)
    expect(written.map((e) => [e.action, e.outcome])).toEqual([['token.scoped.issue', 'denied']])
    expect(JSON.parse(written[0]!.details)).toMatchObject({
      why: 'insufficient_scope',
      code: 'InsufficientScope',
      accessTokenId: key.applicationKeyId,
    })
  })

  it('answers GenerateUserSecurityToken with a session token that refreshes and is revoked as sessions are', async () => {
    const sessionKey = newRsaKey()
    const proofKey = await importProofKey(sessionKey.privatePem, { alg: 'RS256' })
    const res = await signedPost(b, key, UPST_PATH, {
      publicKey: sessionKey.publicPem,
      sessionExpirationInMinutes: 15,
    })
    expect(res.status, res.raw).toBe(200)
    expect(Object.keys(res.body)).toEqual(['token'])
    const { payload } = await jwtVerify(res.body.token, await jwks(), { issuer: issuer(), audience: PAM })
    expect(payload).toMatchObject({ sub: b.app.applicationId, cnf: { jkt: proofKey.thumbprint } })
    expect(payload.sid).toMatch(/^sess_/)
    expect(payload.scoped).toBeUndefined()
    expect(payload.exp! - payload.iat!).toBe(300)
    // The whole PAM audience the application is allowed (`.all` here).
    expect(String(payload.scope).split(' ')).toContain('credential:obtain')
    const session = await b.t.services.store.db
      .selectFrom('token_sessions')
      .selectAll()
      .where('id', '=', String(payload.sid))
      .executeTakeFirstOrThrow()
    expect(Number(session.expires_at)).toBe(b.clock.now + 15 * 60_000)
    expect(session.jkt).toBe(proofKey.thumbprint)
    expect(session.parent_jti).toBe(key.applicationKeyId)

    const token = res.body.token as string
    const used = await send(
      b.t,
      'GET',
      obtainUrl(b),
      await dpopHeaders(b, proofKey, token, 'GET', obtainPath(b)),
    )
    expect(used.status, used.raw).toBe(200)
    const refreshed = await sessionAction(b, 'refresh', token, proofKey)
    expect(refreshed.status, refreshed.raw).toBe(200)
    expect(refreshed.body).toMatchObject({ sessionId: payload.sid, jkt: proofKey.thumbprint })
    expect((await sessionAction(b, 'revoke', refreshed.body.accessToken, proofKey)).status).toBe(200)
    const after = await sessionAction(b, 'refresh', refreshed.body.accessToken, proofKey)
    expect(after.status).toBe(401)
    expect(after.body.Code).toBe('SessionRevoked')
  })

  it('ends the sessions a key started, and what was derived from them, when the key is removed', async () => {
    const leaked = await registerOciKey(b)
    const sessionKey = newRsaKey()
    const proofKey = await importProofKey(sessionKey.privatePem, { alg: 'RS256' })
    const started = await signedPost(b, leaked, UPST_PATH, { publicKey: sessionKey.publicPem })
    expect(started.status, started.raw).toBe(200)
    const token = started.body.token as string
    const refreshed = await sessionAction(b, 'refresh', token, proofKey)
    expect(refreshed.status, refreshed.raw).toBe(200)
    const scopedKey = await newKey('ES256')
    const scoped = await issueScoped(
      b,
      { token, key: proofKey },
      { scope: `${PAM}|credential:obtain`, publicKey: bindingKeyOf(scopedKey) },
    )
    expect(scoped.status, scoped.raw).toBe(200)
    // A scoped token straight from a signed request: its parent is the key too.
    const directKey = await newKey('RS256')
    const direct = await signedPost(b, leaked, SCOPED_PATH, {
      scope: `${PAM}|credential:obtain`,
      publicKey: pemOf(directKey),
    })
    expect(direct.status, direct.raw).toBe(200)
    const useDirect = async () =>
      send(b.t, 'GET', obtainUrl(b), await dpopHeaders(b, directKey, direct.body.token, 'GET', obtainPath(b)))
    expect((await useDirect()).status).toBe(200)

    const removed = await send(
      b.t,
      'DELETE',
      `/admin/v1/instances/${b.t.instanceId}/applications/${b.app.applicationId}/keys/${leaked.applicationKeyId}`,
      b.t.auth,
    )
    expect(removed.status, removed.raw).toBe(204)
    // The session, its refreshed token and the scoped token derived from it: all refused at once.
    const afterRefresh = await sessionAction(b, 'refresh', refreshed.body.accessToken, proofKey)
    expect(afterRefresh.status).toBe(401)
    expect(afterRefresh.body.Code).toBe('SessionRevoked')
    const obtain = await send(
      b.t,
      'GET',
      obtainUrl(b),
      await dpopHeaders(b, proofKey, refreshed.body.accessToken, 'GET', obtainPath(b)),
    )
    expect(obtain.status).toBe(401)
    const derived = await send(
      b.t,
      'GET',
      obtainUrl(b),
      await dpopHeaders(b, scopedKey, scoped.body.accessToken, 'GET', obtainPath(b)),
    )
    expect(derived.status).toBe(401)
    expect(derived.body.Code).toBe('SessionRevoked')
    const afterRemoval = await useDirect()
    expect(afterRemoval.status).toBe(401)
    expect(afterRemoval.body.Message).toContain('was derived from a token that has been revoked')
    const removal = (await events()).filter((e) => e.action === 'application_key.remove')
    expect(JSON.parse(String(removal.at(-1)!.details))).toMatchObject({
      applicationKeyId: leaked.applicationKeyId,
      sessionsEnded: 1,
    })
    // The other key's sessions are not touched.
    const other = await signedPost(b, key, UPST_PATH, { publicKey: sessionKey.publicPem })
    expect(other.status, other.raw).toBe(200)
    expect((await sessionAction(b, 'refresh', other.body.token, proofKey)).status).toBe(200)
  })

  it('lasts 60 minutes when the request names no duration, and ends then', async () => {
    const sessionKey = newRsaKey()
    const proofKey = await importProofKey(sessionKey.privatePem, { alg: 'RS256' })
    const res = await signedPost(b, key, UPST_PATH, { publicKey: sessionKey.publicPem })
    expect(res.status, res.raw).toBe(200)
    const sid = claimsOf(res.body.token).sid as string
    const session = await b.t.services.store.db
      .selectFrom('token_sessions')
      .select('expires_at')
      .where('id', '=', sid)
      .executeTakeFirstOrThrow()
    expect(Number(session.expires_at)).toBe(b.clock.now + 60 * 60_000)
    const start = b.clock.now
    try {
      b.clock.now = start + 61 * 60_000
      const ended = await sessionAction(b, 'refresh', res.body.token, proofKey)
      expect(ended.status).toBe(401)
      expect(ended.body.Code).toBe('SessionExpired')
    } finally {
      b.clock.now = start
    }
  })

  it('refuses a session duration outside 5-60 minutes and a key it cannot bind, in OCI error bodies', async () => {
    for (const minutes of [4, 61, 7.5]) {
      const res = await signedPost(b, key, UPST_PATH, {
        publicKey: newRsaKey().publicPem,
        sessionExpirationInMinutes: minutes,
      })
      expect(res.status, res.raw).toBe(400)
      expect(res.body).toEqual({
        code: 'InvalidParameter',
        message: expect.stringContaining('sessionExpirationInMinutes'),
      })
    }
    const weak = await signedPost(b, key, SCOPED_PATH, {
      scope: `${PAM}|.all`,
      publicKey: newRsaKey(1024).publicPem,
    })
    expect(weak.status).toBe(400)
    expect(weak.body).toEqual({ code: 'InvalidParameter', message: expect.stringContaining('publicKey') })
    const missing = await signedPost(b, key, SCOPED_PATH, { publicKey: newRsaKey().publicPem })
    expect(missing.status).toBe(400)
    expect(missing.body.code).toBe('MissingParameter')
    const extra = await signedPost(b, key, UPST_PATH, { publicKey: newRsaKey().publicPem, x: 1 })
    expect(extra.body.code).toBe('InvalidParameter')
    const text = '{"publicKey": '
    const broken = await post(b.t, ociPath(b, UPST_PATH), await signedHeaders(b, key, UPST_PATH, text), text)
    expect(broken.status).toBe(400)
    expect(broken.body.code).toBe('CannotParseRequest')
  })

  it('answers unknown OCI paths and malformed instance ids in OCI error bodies, writing nothing', async () => {
    const before = (await events()).length
    const unknown = await post(
      b.t,
      ociPath(b, '/v1/actions/nothing'),
      { 'content-type': 'application/json' },
      '{}',
    )
    expect(unknown.status).toBe(404)
    expect(unknown.body).toEqual({ code: 'NotFound', message: expect.any(String) })
    expect(unknown.headers['opc-request-id']).toMatch(/^req_/)
    const malformed = await post(
      b.t,
      `/oci/not-an-instance${SCOPED_PATH}`,
      { 'content-type': 'application/json' },
      '{}',
    )
    expect(malformed.status).toBe(400)
    expect(malformed.body).toEqual({
      code: 'InvalidParameter',
      message: expect.stringContaining('instanceId'),
    })
    expect((await events()).length).toBe(before)
  })
})
