import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

describe.each(ENGINES)('client assertions (RFC 7523) on %s', (engine) => {
  let t: TestServer
  let now = 1_800_000_000_000
  afterEach(async () => t?.close())

  async function setup() {
    now = 1_800_000_000_000
    t = await openTestServer(engine, {
      now: () => now,
      app: { authFailures: { burst: 1000, refillPerSecond: 1 } },
    })
    t.services.publicUrl = 'https://pam.example'
    const i = `/admin/v1/instances/${t.instanceId}`
    const app = (
      await call(t, 'POST', `${i}/applications`, {
        name: 'signer',
        allowedScopes: ['urn:cloud:idaas:pam|.all'],
      })
    ).body
    const base = `/v2/${t.instanceId}/authorizationServer/iauths_system`
    return {
      app,
      i,
      base,
      issuer: `https://pam.example${base}`,
      tokenEndpoint: `https://pam.example${base}/oauth2/token`,
    }
  }

  const assertion = (clientId: string, aud: string, claims: Record<string, unknown> = {}) =>
    new SignJWT({ jti: randomUUID(), ...claims })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(aud)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(now / 1000) + 300)

  const tokenWith = (base: string, clientId: string, jwt: string) =>
    t.app.inject({
      method: 'POST',
      url: `${base}/oauth2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_assertion_type: JWT_BEARER,
        client_assertion: jwt,
      }).toString(),
    })

  it('accepts private_key_jwt signed by a registered RSA, EC or Ed25519 key, as a JWK, a JWKS or a PEM', async () => {
    const { app, i, base, tokenEndpoint, issuer } = await setup()
    const rsa = await generateKeyPair('RS256', { extractable: true })
    const ec = await generateKeyPair('ES256', { extractable: true })
    const ed = await generateKeyPair('EdDSA', { extractable: true })
    const keys = `${i}/applications/${app.applicationId}/keys`
    expect((await call(t, 'POST', keys, { pem: await exportSPKI(rsa.publicKey) })).status).toBe(201)
    expect(
      (await call(t, 'POST', keys, { jwk: { ...(await exportJWK(ec.publicKey)), kid: 'ec-1' } })).status,
    ).toBe(201)
    const viaJwks = await call(t, 'POST', keys, { jwks: { keys: [await exportJWK(ed.publicKey)] } })
    expect(viaJwks.body.entities[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519' })
    const listed = await call(t, 'GET', keys)
    expect(listed.body.entities.map((k: { kty: string }) => k.kty).sort()).toEqual(['EC', 'OKP', 'RSA'])
    for (const [alg, key, aud] of [
      ['RS256', rsa.privateKey, tokenEndpoint],
      ['ES256', ec.privateKey, issuer], // the issuer is accepted as audience too
      ['EdDSA', ed.privateKey, tokenEndpoint],
    ] as const) {
      const jwt = await assertion(app.clientId, aud).setProtectedHeader({ alg }).sign(key)
      const res = await tokenWith(base, app.clientId, jwt)
      expect(res.statusCode, `${alg}: ${res.body}`).toBe(200)
    }
    const methods = await call(t, 'GET', `${i}/audit/events?action=oauth.token&outcome=success`)
    expect(methods.body.entities.map((e: { details: { method: string } }) => e.details.method)).toEqual([
      'private_key_jwt',
      'private_key_jwt',
      'private_key_jwt',
    ])
  })

  it('refuses replays, long-lived, mis-addressed, expired, unsigned, unregistered and alg-confused assertions', async () => {
    const { app, i, base, tokenEndpoint } = await setup()
    const ec = await generateKeyPair('ES256', { extractable: true })
    const publicJwk = await exportJWK(ec.publicKey)
    await call(t, 'POST', `${i}/applications/${app.applicationId}/keys`, { jwk: publicJwk })
    const good = await assertion(app.clientId, tokenEndpoint)
      .setProtectedHeader({ alg: 'ES256' })
      .sign(ec.privateKey)
    expect((await tokenWith(base, app.clientId, good)).statusCode).toBe(200)
    const stranger = await generateKeyPair('ES256')
    const nowS = Math.floor(now / 1000)
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ iss: app.clientId, sub: app.clientId, aud: tokenEndpoint, jti: 'x', exp: nowS + 60 }),
    ).toString('base64url')}.`
    const bad: [string, string][] = [
      ['a replay', good],
      [
        'an hour-long assertion',
        await assertion(app.clientId, tokenEndpoint)
          .setExpirationTime(nowS + 3600)
          .setProtectedHeader({ alg: 'ES256' })
          .sign(ec.privateKey),
      ],
      [
        'another audience',
        await assertion(app.clientId, 'https://elsewhere/token')
          .setProtectedHeader({ alg: 'ES256' })
          .sign(ec.privateKey),
      ],
      [
        'an expired assertion',
        await assertion(app.clientId, tokenEndpoint)
          .setIssuedAt(nowS - 900)
          .setExpirationTime(nowS - 60)
          .setProtectedHeader({ alg: 'ES256' })
          .sign(ec.privateKey),
      ],
      [
        'no jti',
        await new SignJWT({})
          .setIssuer(app.clientId)
          .setSubject(app.clientId)
          .setAudience(tokenEndpoint)
          .setExpirationTime(nowS + 60)
          .setProtectedHeader({ alg: 'ES256' })
          .sign(ec.privateKey),
      ],
      [
        'an unregistered key',
        await assertion(app.clientId, tokenEndpoint)
          .setProtectedHeader({ alg: 'ES256' })
          .sign(stranger.privateKey),
      ],
      ['alg none', unsigned],
      // HS256 keyed with the public key (the classic confusion): there is no such secret.
      [
        'HS256 keyed with the public key',
        await assertion(app.clientId, tokenEndpoint)
          .setProtectedHeader({ alg: 'HS256' })
          .sign(new TextEncoder().encode(JSON.stringify(publicJwk))),
      ],
    ]
    for (const [what, jwt] of bad) {
      const res = await tokenWith(base, app.clientId, jwt)
      expect(res.statusCode, what).toBe(401)
      expect(res.json().error, what).toBe('invalid_client')
    }
    const why = await call(t, 'GET', `${i}/audit/events?action=oauth.token&outcome=failure&maxResults=100`)
    expect(why.body.entities.map((e: { details: { why: string } }) => e.details.why)).toEqual([
      'replayed',
      'assertion_lifetime',
      'bad_assertion',
      'bad_assertion',
      'bad_assertion',
      'bad_assertion',
      'malformed_assertion',
      'no_keys',
    ])
    const keyId = (await call(t, 'GET', `${i}/applications/${app.applicationId}/keys`)).body.entities[0]
      .applicationKeyId
    expect((await call(t, 'DELETE', `${i}/applications/${app.applicationId}/keys/${keyId}`)).status).toBe(204)
    const fresh = await assertion(app.clientId, tokenEndpoint)
      .setProtectedHeader({ alg: 'ES256' })
      .sign(ec.privateKey)
    expect((await tokenWith(base, app.clientId, fresh)).statusCode).toBe(401)
  })

  it('accepts client_secret_jwt (HS256 with a live client secret) and refuses a revoked one', async () => {
    const { app, i, base, tokenEndpoint } = await setup()
    const secret = (await call(t, 'POST', `${i}/applications/${app.applicationId}/client-secrets`, {})).body
    const sign = (key: string) =>
      assertion(app.clientId, tokenEndpoint)
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(key))
    expect((await tokenWith(base, app.clientId, await sign(secret.clientSecret))).statusCode).toBe(200)
    expect((await tokenWith(base, app.clientId, await sign(`${secret.clientSecret}x`))).statusCode).toBe(401)
    await call(
      t,
      'POST',
      `${i}/applications/${app.applicationId}/client-secrets/${secret.clientSecretId}/revoke`,
    )
    expect((await tokenWith(base, app.clientId, await sign(secret.clientSecret))).statusCode).toBe(401)
  })

  it('registers public keys only, of accepted types and sizes', async () => {
    const { app, i } = await setup()
    const keys = `${i}/applications/${app.applicationId}/keys`
    const ec = await generateKeyPair('ES256', { extractable: true })
    // jose will not make a weak key; node:crypto will.
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString()
    const cases: [string, unknown, RegExp, RegExp][] = [
      ['a private JWK', { jwk: await exportJWK(ec.privateKey) }, /^jwk$/, /private/],
      ['a symmetric JWK', { jwk: { kty: 'oct', k: 'c2VjcmV0' } }, /^jwk$/, /private or symmetric/],
      ['a 1024-bit RSA key', { pem: weak }, /^pem$/, /2048/],
      [
        'a private PEM',
        { pem: '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----' },
        /^pem$/,
        /private key/,
      ],
      ['garbage', { pem: 'hello' }, /^pem$/, /not a PEM/],
      ['two forms at once', { pem: 'x', jwk: { kty: 'EC' } }, /./, /./],
    ]
    for (const [what, body, field, rule] of cases) {
      const res = await call(t, 'POST', keys, body)
      expect(res.status, what).toBe(400)
      expect(res.body.field, what).toMatch(field)
      expect(res.body.Message, what).toMatch(rule)
    }
    const jwk = { ...(await exportJWK(ec.publicKey)), kid: 'k1' }
    expect((await call(t, 'POST', keys, { jwk })).status).toBe(201)
    expect((await call(t, 'POST', keys, { jwk })).status).toBe(409)
  })
})
