import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoryReplayCache } from '../../../sdk/src/proof/memory-replay-cache.js'
import { ProofError } from '../../../sdk/src/proof/proof-error.js'
import type { ProofKey } from '../../../sdk/src/proof/proof-key.js'
import { verifyBoundToken } from '../../../sdk/src/proof/verify-bound-token.js'
import { call, ENGINES } from '../support/engines.js'
import {
  API,
  auditEvents,
  type BoundTokenServer,
  bindingKeyOf,
  CREDENTIAL_VALUE,
  dpopHeaders,
  issueScoped,
  newKey,
  oauth,
  obtainPath,
  obtainUrl,
  openBoundTokenServer,
  otherApplicationToken,
  PAM,
  publicUrlOf,
  START,
  send,
} from './bound-tokens-support.js'

const DPOP_PROOF_CHALLENGE = 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA RS256 PS256"'
const DPOP_TOKEN_CHALLENGE = 'DPoP error="invalid_token", algs="ES256 EdDSA RS256 PS256"'

describe.each(ENGINES)('presenting a key-bound token to the developer API on %s', (engine) => {
  let b: BoundTokenServer
  let key: ProofKey
  let other: ProofKey
  let token: string
  beforeAll(async () => {
    b = await openBoundTokenServer(engine)
    key = await newKey('ES256')
    other = await newKey('ES256')
    const res = await issueScoped(b, await b.accessToken(), {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(key),
    })
    token = res.body.accessToken
  })
  afterAll(async () => b?.close())

  const obtain = (headers: Record<string, string | string[]>) => send(b.t, 'GET', obtainUrl(b), headers)
  const proofFor = (k: ProofKey, o: Parameters<typeof dpopHeaders>[5] = {}) =>
    dpopHeaders(b, k, token, 'GET', obtainPath(b), o)

  /** A 401 with `code`, the DPoP challenge and a body that quotes neither the token nor the proof. */
  function expectRefused(
    res: Awaited<ReturnType<typeof send>>,
    code: string,
    challenge: string,
    proof?: string,
  ) {
    expect(res.status, res.raw).toBe(401)
    expect(res.body.Code).toBe(code)
    expect(res.headers['www-authenticate']).toBe(challenge)
    expect(Object.keys(res.body)).toEqual(
      expect.arrayContaining(['Code', 'Message', 'RequestId', 'error', 'error_description', 'request_id']),
    )
    expect(res.raw).not.toContain(token.split('.')[1]!)
    expect(res.raw).not.toContain(token.split('.')[2]!)
    if (proof) for (const part of proof.split('.')) expect(res.raw).not.toContain(part)
    expect(res.raw).not.toContain(CREDENTIAL_VALUE)
  }

  it("accepts the right key's fresh proof", async () => {
    const res = await obtain(await proofFor(key))
    expect(res.status, res.raw).toBe(200)
    expect(res.body.credentialContent).toEqual({ apiKeyContent: { apiKey: CREDENTIAL_VALUE } })
  })

  it('accepts the DPoP scheme in any case, and proofs up to 60 s off the clock', async () => {
    const early = await proofFor(key, { now: START - 59_000 })
    const late = await proofFor(key, { now: START + 59_000 })
    for (const headers of [early, { ...late, authorization: `dpop ${token}` }]) {
      const res = await obtain(headers)
      expect(res.status, res.raw).toBe(200)
    }
  })

  it('refuses a proof from a different key: 401 ProofKeyMismatch', async () => {
    const headers = await proofFor(other)
    const res = await obtain(headers)
    expectRefused(res, 'ProofKeyMismatch', DPOP_TOKEN_CHALLENGE, headers.dpop)
    expect(res.body).toMatchObject({ error: 'invalid_token', field: 'DPoP.jwk' })
  })

  it('refuses the same proof replayed: 401 ProofReplayed', async () => {
    const headers = await proofFor(key)
    expect((await obtain(headers)).status).toBe(200)
    const replayed = await obtain(headers)
    expectRefused(replayed, 'ProofReplayed', DPOP_PROOF_CHALLENGE, headers.dpop)
    expect(replayed.body).toMatchObject({ error: 'invalid_dpop_proof', field: 'DPoP.jti' })
  })

  it('refuses a bound token with no proof: 401 ProofMissing', async () => {
    expectRefused(await obtain({ authorization: `DPoP ${token}` }), 'ProofMissing', DPOP_PROOF_CHALLENGE)
  })

  it('refuses a proof for another URL or method: 401 ProofRequestMismatch', async () => {
    const elsewhere = await proofFor(key, { url: `http://evil.example${obtainPath(b)}` })
    expectRefused(await obtain(elsewhere), 'ProofRequestMismatch', DPOP_PROOF_CHALLENGE, elsewhere.dpop)
    const otherPath = await proofFor(key, { url: publicUrlOf(b, `${b.v2}/accounts`) })
    expectRefused(await obtain(otherPath), 'ProofRequestMismatch', DPOP_PROOF_CHALLENGE, otherPath.dpop)
    const post = await proofFor(key, { htm: 'POST' })
    const res = await obtain(post)
    expectRefused(res, 'ProofRequestMismatch', DPOP_PROOF_CHALLENGE, post.dpop)
    expect(res.body.field).toBe('DPoP.htm')
  })

  it('refuses a stale or future proof (ProofExpired) and one for another token (ProofTokenMismatch)', async () => {
    const stale = await proofFor(key, { now: START - 61_000 })
    expectRefused(await obtain(stale), 'ProofExpired', DPOP_PROOF_CHALLENGE, stale.dpop)
    const future = await proofFor(key, { now: START + 61_000 })
    expectRefused(await obtain(future), 'ProofExpired', DPOP_PROOF_CHALLENGE, future.dpop)
    const forAnother = await proofFor(key, { accessToken: 'another.access.token' })
    expectRefused(await obtain(forAnother), 'ProofTokenMismatch', DPOP_PROOF_CHALLENGE, forAnother.dpop)
  })

  it('refuses a malformed proof or two DPoP headers: 401 ProofInvalid', async () => {
    const good = await proofFor(key)
    const cases: Record<string, string | string[]>[] = [
      { ...good, dpop: 'not-a-jws' },
      { ...good, dpop: `${good.dpop}x` },
      { ...good, dpop: [good.dpop, good.dpop] },
    ]
    for (const headers of cases) expectRefused(await obtain(headers), 'ProofInvalid', DPOP_PROOF_CHALLENGE)
  })

  it('refuses the bound token sent as Bearer, saying to use DPoP', async () => {
    const res = await obtain({ authorization: `Bearer ${token}`, dpop: (await proofFor(key)).dpop })
    expectRefused(res, 'InvalidToken', DPOP_TOKEN_CHALLENGE)
    expect(res.body.Message).toMatch(/bound to a key.*DPoP/)
  })

  it('refuses an unbound token sent with the DPoP scheme, pointing to Bearer', async () => {
    const plain = await b.accessToken(`${PAM}|credential:obtain`)
    const headers = await dpopHeaders(b, key, plain, 'GET', obtainPath(b))
    const res = await obtain(headers)
    expect(res.status).toBe(401)
    expect(res.body.Code).toBe('InvalidToken')
    expect(res.body.Message).toMatch(/not bound to a key.*Bearer/)
    expect(res.headers['www-authenticate']).toBe(DPOP_TOKEN_CHALLENGE)
    // The same token as Bearer: the hot path, unchanged.
    expect((await obtain({ authorization: `Bearer ${plain}` })).status).toBe(200)
  })

  it('still checks scope and grant: a bound token without credential:obtain gets 403', async () => {
    const readOnly = await issueScoped(b, await b.accessToken(), {
      scope: `${PAM}|authentication_token:read`,
      publicKey: bindingKeyOf(key),
    })
    const t2 = readOnly.body.accessToken as string
    const res = await obtain(await dpopHeaders(b, key, t2, 'GET', obtainPath(b)))
    expect(res.status).toBe(403)
    expect(res.body.Code).toBe('InsufficientScope')
  })

  it('refuses a bound token once revoked at the authorization server', async () => {
    const fresh = await issueScoped(b, await b.accessToken(), {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(key),
    })
    const revoked = await b.t.app.inject({
      method: 'POST',
      url: `${b.v2}/authorizationServer/iauths_system/oauth2/revoke`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        token: fresh.body.accessToken,
        client_id: b.app.clientId,
        client_secret: b.app.secret,
      }).toString(),
    })
    expect(revoked.statusCode).toBe(200)
    const res = await obtain(await dpopHeaders(b, key, fresh.body.accessToken, 'GET', obtainPath(b)))
    expect(res.status).toBe(401)
    expect(res.body.Code).toBe('InvalidToken')
    expect(res.body.Message).toContain('revoked')
  })

  it('cannot be exchanged (RFC 8693) for a token without the binding', async () => {
    const res = await b.t.app.inject({
      method: 'POST',
      url: `${b.v2}/authorizationServer/iauths_system/oauth2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        client_id: b.app.clientId,
        client_secret: b.app.secret,
        subject_token: token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      }).toString(),
    })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ error: 'invalid_grant' })
    expect(res.json().error_description).toContain('bound to a key')
  })

  it('audits refused proofs as failed authentications, with the reason', async () => {
    await obtain({ authorization: `DPoP ${token}` })
    const events = await auditEvents(b, 'pam.authenticate')
    expect(events.map((e) => JSON.parse(e.details).why)).toEqual(
      expect.arrayContaining(['ProofMissing', 'ProofReplayed', 'ProofKeyMismatch']),
    )
    expect(JSON.stringify(events)).not.toContain(token.split('.')[2]!)
  })

  it("is verified by a third-party resource server with the SDK and the instance's JWKS", async () => {
    const apiToken = await issueScoped(b, await b.accessToken(), {
      scope: `${API}|read`,
      publicKey: bindingKeyOf(key),
    })
    const accessToken = apiToken.body.accessToken as string
    const issuer = `${b.t.services.publicUrl}${b.v2}/authorizationServer/iauths_system`
    const jwks = await send(b.t, 'GET', `${b.v2}/authorizationServer/iauths_system/jwks`)
    expect(jwks.status).toBe(200)
    const replay = new MemoryReplayCache({ now: () => b.clock.now })
    const url = `${API}/v1/things`
    const options = {
      issuer,
      audience: API,
      issuerKeys: jwks.body,
      firstUseOfJti: replay.firstUse,
      now: b.clock.now,
    }
    const proof = (await dpopHeaders(b, key, accessToken, 'GET', '', { url })).dpop
    const verified = await verifyBoundToken({ accessToken, proof, method: 'GET', url }, options)
    expect(verified.jkt).toBe(key.thumbprint)
    expect(verified.claims).toMatchObject({ aud: API, scope: 'read', sub: b.app.applicationId })

    const reason = async (request: Parameters<typeof verifyBoundToken>[0]) =>
      verifyBoundToken(request, options).then(
        () => 'accepted',
        (e: unknown) => (e instanceof ProofError ? e.reason : String(e)),
      )
    expect(await reason({ accessToken, proof, method: 'GET', url })).toBe('ProofReplayed')
    const foreign = (await dpopHeaders(b, other, accessToken, 'GET', '', { url })).dpop
    expect(await reason({ accessToken, proof: foreign, method: 'GET', url })).toBe('ProofKeyMismatch')
  })

  it('dies with the bearer token it was made from: a thief’s key-bound copy of a revoked token is refused', async () => {
    const bearer = await b.accessToken()
    const thief = await newKey('ES256')
    const scoped = await issueScoped(b, bearer, {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(thief),
      expiration: 3600,
    })
    expect(scoped.status, scoped.raw).toBe(200)
    // And a scoped token made from that one: the line's first token is what counts.
    const grandchildKey = await newKey('ES256')
    const grandchild = await issueScoped(
      b,
      { token: scoped.body.accessToken, key: thief },
      { scope: `${PAM}|credential:obtain`, publicKey: bindingKeyOf(grandchildKey) },
    )
    expect(grandchild.status, grandchild.raw).toBe(200)
    const use = async (accessToken: string, k: ProofKey) =>
      send(b.t, 'GET', obtainUrl(b), await dpopHeaders(b, k, accessToken, 'GET', obtainPath(b)))
    expect((await use(scoped.body.accessToken, thief)).status).toBe(200)
    expect((await oauth(b, 'introspect', { token: scoped.body.accessToken })).body.active).toBe(true)

    expect((await oauth(b, 'revoke', { token: bearer })).status).toBe(200)
    for (const [token, k] of [
      [scoped.body.accessToken, thief],
      [grandchild.body.accessToken, grandchildKey],
    ] as const) {
      const refused = await use(token, k)
      expect(refused.status).toBe(401)
      expect(refused.body.Code).toBe('InvalidToken')
      expect(refused.body.Message).toContain('was derived from a token that has been revoked')
      expect((await oauth(b, 'introspect', { token })).body).toEqual({ active: false })
    }
    // Tokens of other lines are untouched.
    const fresh = await issueScoped(b, await b.accessToken(), {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(thief),
    })
    expect((await use(fresh.body.accessToken, thief)).status).toBe(200)
  })

  it('is not active at introspection once its application is disabled, as at the developer API', async () => {
    const other = await otherApplicationToken(b, 'to-disable', [`${PAM}|.all`])
    expect((await oauth(b, 'introspect', { token: other.token })).body.active).toBe(true)
    const disabled = await call(
      b.t,
      'POST',
      `/admin/v1/instances/${b.t.instanceId}/applications/${other.applicationId}/disable`,
    )
    expect(disabled.status, JSON.stringify(disabled.body)).toBe(200)
    expect((await oauth(b, 'introspect', { token: other.token })).body).toEqual({ active: false })
  })
})
