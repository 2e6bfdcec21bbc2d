import { generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ProofAlgorithm } from '../../../sdk/src/proof/proof-key.js'
import { ENGINES } from '../support/engines.js'
import {
  API,
  auditEvents,
  type BoundTokenServer,
  bindingKeyOf,
  dpopHeaders,
  exchange,
  issueScoped,
  newKey,
  oauth,
  obtainPath,
  obtainUrl,
  openBoundTokenServer,
  otherApplicationToken,
  PAM,
  START,
  send,
} from './bound-tokens-support.js'

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'))
const headerOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString('utf8'))

describe.each(ENGINES)('POST /v2/{i}/scopedTokens/_/actions/issue on %s', (engine) => {
  let b: BoundTokenServer
  let bearer: string
  beforeAll(async () => {
    b = await openBoundTokenServer(engine)
    bearer = await b.accessToken()
  })
  afterAll(async () => b?.close())

  it.each<[ProofAlgorithm, 'jwk' | 'pem']>([
    ['ES256', 'jwk'],
    ['ES256', 'pem'],
    ['EdDSA', 'jwk'],
    ['EdDSA', 'pem'],
    ['RS256', 'jwk'],
    ['RS256', 'pem'],
  ])('binds a token to a %s key given as %s, and that key proves it', async (alg, form) => {
    const key = await newKey(alg)
    const res = await issueScoped(b, bearer, {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(key, form),
    })
    expect(res.status, res.raw).toBe(200)
    expect(Object.keys(res.body).sort()).toEqual(
      ['accessToken', 'expirationTime', 'expiresIn', 'jkt', 'scope', 'tokenId', 'tokenType'].sort(),
    )
    expect(res.body).toMatchObject({
      tokenType: 'DPoP',
      scope: `${PAM}|credential:obtain`,
      expiresIn: 900,
      expirationTime: START + 900_000,
      jkt: key.thumbprint,
    })
    const token = res.body.accessToken as string
    expect(headerOf(token)).toMatchObject({ typ: 'at+jwt' })
    expect(claimsOf(token)).toMatchObject({
      iss: `${b.t.services.publicUrl}${b.v2}/authorizationServer/iauths_system`,
      aud: PAM,
      scope: 'credential:obtain',
      sub: b.app.applicationId,
      client_id: b.app.clientId,
      cnf: { jkt: key.thumbprint },
      jti: res.body.tokenId,
      exp: START / 1000 + 900,
    })
    expect(claimsOf(token).sid).toBeUndefined()
    const used = await send(b.t, 'GET', obtainUrl(b), await dpopHeaders(b, key, token, 'GET', obtainPath(b)))
    expect(used.status, used.raw).toBe(200)
  })

  it('refuses keys it cannot bind with 400 naming the field, never quoting the key', async () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const privateJwk = ec.privateKey.export({ format: 'jwk' })
    const cases: [string, unknown, RegExp][] = [
      ['RSA 1024 (JWK)', { jwk: rsa1024.publicKey.export({ format: 'jwk' }) }, /^publicKey/],
      [
        'RSA 1024 (PEM)',
        { pem: rsa1024.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
        /^publicKey/,
      ],
      ['P-384 (JWK)', { jwk: p384.publicKey.export({ format: 'jwk' }) }, /^publicKey/],
      [
        'P-384 (PEM)',
        { pem: p384.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
        /^publicKey/,
      ],
      ['a private JWK', { jwk: privateJwk }, /^publicKey/],
      [
        'a private PEM',
        { pem: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
        /^publicKey/,
      ],
      [
        'a symmetric key',
        { jwk: { kty: 'oct', k: 'c2VjcmV0LXN5bW1ldHJpYy1rZXktbWF0ZXJpYWw' } },
        /^publicKey/,
      ],
      ['no key at all', {}, /^publicKey/],
      ['both forms', { jwk: { ...ec.publicKey.export({ format: 'jwk' }) }, pem: 'x' }, /^publicKey/],
      ['not a PEM', { pem: 'not a key' }, /^publicKey/],
    ]
    for (const [name, publicKey, field] of cases) {
      const res = await issueScoped(b, bearer, { scope: `${PAM}|credential:obtain`, publicKey })
      expect(res.status, `${name}: ${res.raw}`).toBe(400)
      expect(res.body.Code, name).toMatch(/^InvalidParameter/)
      expect(res.body.field, name).toMatch(field)
      expect(res.raw).not.toContain(String(privateJwk.d))
      expect(res.raw).not.toContain('c2VjcmV0LXN5bW1ldHJpYy1rZXktbWF0ZXJpYWw')
    }
  })

  it('narrows a partly held scope to what the calling token carries, and says so', async () => {
    const narrow = await b.accessToken(`${PAM}|credential:obtain`)
    const key = await newKey()
    const res = await issueScoped(b, narrow, { scope: `${PAM}|.all`, publicKey: bindingKeyOf(key) })
    expect(res.status, res.raw).toBe(200)
    expect(res.body.scope).toBe(`${PAM}|credential:obtain`)
    expect(claimsOf(res.body.accessToken).scope).toBe('credential:obtain')

    // Several values, as the token endpoint takes them: the part held is granted.
    const listed = await issueScoped(b, narrow, {
      scope: `${PAM}|credential:obtain account:obtain ${PAM}|authentication_token:read`,
      publicKey: bindingKeyOf(key),
    })
    expect(listed.status, listed.raw).toBe(200)
    expect(listed.body.scope).toBe(`${PAM}|credential:obtain`)
  })

  it('refuses a scope the caller does not hold at all with 403 InsufficientScope naming it, audited', async () => {
    const narrow = await b.accessToken(`${PAM}|credential:obtain`)
    const res = await issueScoped(b, narrow, {
      scope: `${PAM}|authentication_token:read`,
      publicKey: bindingKeyOf(await newKey()),
    })
    expect(res.status).toBe(403)
    expect(res.body).toMatchObject({ Code: 'InsufficientScope', error: 'insufficient_scope' })
    expect(res.body.Message).toContain(`${PAM}|authentication_token:read`)
    const denied = (await auditEvents(b, 'token.scoped.issue')).filter((e) => e.outcome === 'denied')
    expect(denied.length).toBeGreaterThan(0)
    expect(JSON.parse(denied.at(-1)!.details)).toMatchObject({
      why: 'insufficient_scope',
      code: 'InsufficientScope',
      requestedScope: `${PAM}|authentication_token:read`,
    })
  })

  it('grants another audience what the application is allowed there, to its own token only', async () => {
    const key = await newKey('EdDSA')
    const res = await issueScoped(b, bearer, { scope: `${API}|read`, publicKey: bindingKeyOf(key) })
    expect(res.status, res.raw).toBe(200)
    expect(claimsOf(res.body.accessToken)).toMatchObject({
      aud: API,
      scope: 'read',
      cnf: { jkt: key.thumbprint },
    })
    const beyond = await issueScoped(b, bearer, { scope: `${API}|admin`, publicKey: bindingKeyOf(key) })
    expect(beyond.status).toBe(403)
    expect(beyond.body.Code).toBe('InsufficientScope')

    // A bound token may narrow further within its own audience, not reach another one.
    const bound = await issueScoped(b, bearer, { scope: `${PAM}|.all`, publicKey: bindingKeyOf(key) })
    const caller = { token: bound.body.accessToken as string, key }
    const again = await issueScoped(b, caller, {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(key),
    })
    expect(again.status, again.raw).toBe(200)
    expect(again.body.scope).toBe(`${PAM}|credential:obtain`)
    const widened = await issueScoped(b, caller, { scope: `${API}|read`, publicKey: bindingKeyOf(key) })
    expect(widened.status).toBe(403)
    expect(widened.body.Code).toBe('InsufficientScope')
  })

  it('refuses another audience to an exchanged token (RFC 8693), which only narrows within its own', async () => {
    const key = await newKey('EdDSA')
    const other = await otherApplicationToken(b, 'exchange-subject', [`${PAM}|credential:obtain`])
    // About another subject: token exchange itself refuses that subject's token for API.
    const direct = await oauth(b, 'token', {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: other.token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      scope: `${API}|read`,
    })
    expect(direct.status).toBe(400)
    expect(direct.body.error).toBe('invalid_scope')
    const aboutOther = await exchange(b, other.token, { scope: `${PAM}|credential:obtain` })
    expect(claimsOf(aboutOther)).toMatchObject({ sub: other.applicationId, client_id: b.app.clientId })
    // About the application itself, but acting for another (act).
    const acting = await exchange(b, bearer, {
      scope: `${PAM}|credential:obtain`,
      actor_token: other.token,
      actor_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    })
    expect(claimsOf(acting)).toMatchObject({ sub: b.app.applicationId, act: { sub: other.applicationId } })
    for (const caller of [aboutOther, acting]) {
      const widened = await issueScoped(b, caller, {
        scope: `${API}|read write`,
        publicKey: bindingKeyOf(key),
      })
      expect(widened.status, widened.raw).toBe(403)
      expect(widened.body.Code).toBe('InsufficientScope')
      expect(widened.body.Message).toContain('token exchange')
      // Within its own audience it narrows as any token does, and the subject carries over.
      const narrowed = await issueScoped(b, caller, {
        scope: `${PAM}|credential:obtain`,
        publicKey: bindingKeyOf(key),
      })
      expect(narrowed.status, narrowed.raw).toBe(200)
      expect(claimsOf(narrowed.body.accessToken).sub).toBe(claimsOf(caller).sub)
    }
  })

  it('answers 400 InvalidParameter.Scope for a scope that cannot exist, and 400 for lifetimes out of 60-3600', async () => {
    const publicKey = bindingKeyOf(await newKey())
    const unknown = await issueScoped(b, bearer, { scope: `${PAM}|no_such_scope`, publicKey })
    expect(unknown.status).toBe(400)
    expect(unknown.body).toMatchObject({ Code: 'InvalidParameter.Scope', field: 'scope' })
    for (const expiration of [59, 3601, 1.5]) {
      const res = await issueScoped(b, bearer, { scope: `${PAM}|credential:obtain`, publicKey, expiration })
      expect(res.status).toBe(400)
      expect(res.body.field).toBe('expiration')
    }
  })

  it('lives `expiration` seconds, never beyond the calling token', async () => {
    const publicKey = bindingKeyOf(await newKey())
    const short = await issueScoped(b, bearer, {
      scope: `${PAM}|credential:obtain`,
      publicKey,
      expiration: 60,
    })
    expect(short.body).toMatchObject({ expiresIn: 60, expirationTime: START + 60_000 })
    const callerExp = claimsOf(bearer).exp as number
    b.clock.now = callerExp * 1000 - 120_000
    try {
      const capped = await issueScoped(b, bearer, {
        scope: `${PAM}|credential:obtain`,
        publicKey,
        expiration: 3600,
      })
      expect(capped.status, capped.raw).toBe(200)
      expect(capped.body.expiresIn).toBe(120)
      expect(claimsOf(capped.body.accessToken).exp).toBe(callerExp)
    } finally {
      b.clock.now = START
    }
  })

  it('audits every issue with the key thumbprint, scope and token id, never the token', async () => {
    const key = await newKey()
    const res = await issueScoped(b, bearer, {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(key),
    })
    const events = await auditEvents(b, 'token.scoped.issue')
    const event = events.find((e) => JSON.parse(e.details).tokenId === res.body.tokenId)
    expect(event).toMatchObject({
      outcome: 'success',
      actor_type: 'application',
      actor_id: b.app.applicationId,
    })
    expect(JSON.parse(event!.details)).toMatchObject({
      jkt: key.thumbprint,
      scope: `${PAM}|credential:obtain`,
      expirationTime: START + 900_000,
    })
    const all = JSON.stringify(await b.t.services.store.db.selectFrom('audit_events').selectAll().execute())
    expect(all).not.toContain(res.body.accessToken)
    expect(all).not.toContain((res.body.accessToken as string).split('.')[2])
  })

  it('refuses to issue without an access token, with the Bearer challenge', async () => {
    const res = await send(
      b.t,
      'POST',
      `${b.v2}/scopedTokens/_/actions/issue`,
      {},
      {
        scope: `${PAM}|credential:obtain`,
        publicKey: bindingKeyOf(await newKey()),
      },
    )
    expect(res.status).toBe(401)
    expect(res.body.Code).toBe('InvalidToken')
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"')
  })
})
