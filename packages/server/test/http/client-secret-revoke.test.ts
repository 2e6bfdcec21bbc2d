import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const PAM = 'urn:cloud:idaas:pam'
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

describe.each(ENGINES)('revoking a client secret on %s', (engine) => {
  let t: TestServer
  let i: string
  let base: string
  let app: { applicationId: string; clientId: string }
  const secrets = `/applications/:app/client-secrets`
  beforeAll(async () => {
    t = await openTestServer(engine, { app: { authFailures: { burst: 1000, refillPerSecond: 1 } } })
    t.services.publicUrl = 'https://pam.example'
    i = `/admin/v1/instances/${t.instanceId}`
    base = `/v2/${t.instanceId}/authorizationServer/iauths_system`
    app = (await call(t, 'POST', `${i}/applications`, { name: 'revoker', allowedScopes: [`${PAM}|.all`] }))
      .body
    await call(t, 'POST', `${i}/credentials`, {
      credentialIdentifier: 'revoke/key',
      credentialType: 'api_key',
      value: { apiKey: 'revoke-value' },
    })
    await call(t, 'POST', `${i}/grants`, {
      applicationId: app.applicationId,
      resourceType: 'credential',
      resource: 'revoke/key',
      actions: ['obtain'],
    })
  })
  afterAll(async () => t?.close())

  const path = (rest: string) => `${i}${secrets.replace(':app', app.applicationId)}${rest}`
  const newSecret = async (): Promise<{ clientSecretId: string; clientSecret: string }> =>
    (await call(t, 'POST', path(''), {})).body

  const token = async (fields: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = await t.app.inject({
      method: 'POST',
      url: `${base}/oauth2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams({ grant_type: 'client_credentials', ...fields }).toString(),
    })
    expect(res.statusCode, res.body).toBe(200)
    return res.json().access_token as string
  }
  /** One token by each secret method: client_secret_post, client_secret_basic, client_secret_jwt. */
  const tokensOf = async (secret: string) => [
    await token({ client_id: app.clientId, client_secret: secret }),
    await token(
      {},
      { authorization: `Basic ${Buffer.from(`${app.clientId}:${secret}`).toString('base64')}` },
    ),
    await token({
      client_id: app.clientId,
      client_assertion_type: JWT_BEARER,
      client_assertion: await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(app.clientId)
        .setSubject(app.clientId)
        .setAudience(`https://pam.example${base}/oauth2/token`)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret)),
    }),
  ]
  const obtain = async (accessToken: string) =>
    (
      await call(
        t,
        'GET',
        `/v2/${t.instanceId}/credentials/_/actions/obtain?credentialIdentifier=revoke/key`,
        undefined,
        { authorization: `Bearer ${accessToken}` },
      )
    ).status
  const introspect = async (accessToken: string, secret: string) =>
    (
      await t.app.inject({
        method: 'POST',
        url: `${base}/oauth2/introspect`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          client_id: app.clientId,
          client_secret: secret,
          token: accessToken,
        }).toString(),
      })
    ).json().active as boolean

  it('leaves its tokens valid until they expire, unless revokeTokens revokes them at once', async () => {
    const a = await newSecret()
    const b = await newSecret()
    const ofA = await tokensOf(a.clientSecret)
    const ofB = await tokensOf(b.clientSecret)

    const plain = await call(t, 'POST', path(`/${a.clientSecretId}/revoke`))
    expect(plain.status).toBe(200)
    expect(plain.body).toMatchObject({ clientSecretId: a.clientSecretId, revoked: true, tokensRevoked: 0 })
    for (const at of ofA) expect(await obtain(at)).toBe(200)

    // Asked again with revokeTokens, on the secret already revoked: its three tokens go.
    const withTokens = await call(t, 'POST', path(`/${a.clientSecretId}/revoke`), { revokeTokens: true })
    expect(withTokens.status).toBe(200)
    expect(withTokens.body).toMatchObject({ revoked: true, tokensRevoked: 3 })
    for (const at of ofA) {
      expect(await obtain(at)).toBe(401)
      expect(await introspect(at, b.clientSecret)).toBe(false)
    }
    // The other secret's tokens are untouched; asking again revokes nothing more.
    for (const at of ofB) expect(await obtain(at)).toBe(200)
    const again = await call(t, 'POST', path(`/${a.clientSecretId}/revoke`), { revokeTokens: true })
    expect(again.body.tokensRevoked).toBe(0)

    const fresh = await newSecret()
    const ofFresh = await tokensOf(fresh.clientSecret)
    const atOnce = await call(t, 'POST', path(`/${fresh.clientSecretId}/revoke`), { revokeTokens: true })
    expect(atOnce.body).toMatchObject({ revoked: true, tokensRevoked: 3 })
    for (const at of ofFresh) expect(await obtain(at)).toBe(401)

    const events = await call(t, 'GET', `${i}/audit/events?action=client_secret.revoke`)
    expect(events.body.entities.map((e: { details: unknown }) => e.details)).toEqual([
      { clientSecretId: a.clientSecretId, revokeTokens: false, tokensRevoked: 0 },
      { clientSecretId: a.clientSecretId, revokeTokens: true, tokensRevoked: 3 },
      { clientSecretId: a.clientSecretId, revokeTokens: true, tokensRevoked: 0 },
      { clientSecretId: fresh.clientSecretId, revokeTokens: true, tokensRevoked: 3 },
    ])
    const issued = await call(t, 'GET', `${i}/audit/events?action=oauth.token`)
    const bySecret = issued.body.entities.filter(
      (e: { details: { clientSecretId?: string } }) => e.details.clientSecretId === b.clientSecretId,
    )
    expect(bySecret).toHaveLength(3)
  })

  it('lets no token issued during the revocation outlive it', async () => {
    // Racing a token request against the revocation: either the request is refused, or its
    // token is among those revoked. Never a working token from a secret revoked with its tokens.
    for (let round = 0; round < 5; round++) {
      const s = await newSecret()
      const [issued, revoked] = await Promise.all([
        t.app.inject({
          method: 'POST',
          url: `${base}/oauth2/token`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: app.clientId,
            client_secret: s.clientSecret,
          }).toString(),
        }),
        call(t, 'POST', path(`/${s.clientSecretId}/revoke`), { revokeTokens: true }),
      ])
      expect(revoked.status).toBe(200)
      if (issued.statusCode === 200) expect(await obtain(issued.json().access_token)).toBe(401)
      else expect(issued.statusCode).toBe(401)
    }
  })

  it('refuses a revokeTokens that is not a boolean, naming the field', async () => {
    const s = await newSecret()
    const res = await call(t, 'POST', path(`/${s.clientSecretId}/revoke`), { revokeTokens: 'yes' })
    expect(res.status).toBe(400)
    expect(res.body.field).toBe('revokeTokens')
    expect(
      (await call(t, 'GET', path(''))).body.entities.find(
        (e: { clientSecretId: string }) => e.clientSecretId === s.clientSecretId,
      ).revoked,
    ).toBe(false)
  })
})
