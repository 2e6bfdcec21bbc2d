import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const PAM = 'urn:cloud:idaas:pam'
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token'
const JWT = 'urn:ietf:params:oauth:token-type:jwt'

describe.each(ENGINES)('token exchange (RFC 8693) on %s', (engine) => {
  let t: TestServer
  let jwksServer: Server | undefined
  let now = 1_800_000_000_000
  afterEach(async () => {
    await t?.close()
    await new Promise<void>((resolve) => (jwksServer ? jwksServer.close(() => resolve()) : resolve()))
    jwksServer = undefined
  })

  async function setup() {
    now = 1_800_000_000_000
    t = await openTestServer(engine, {
      now: () => now,
      app: { authFailures: { burst: 1000, refillPerSecond: 1 } },
    })
    const i = `/admin/v1/instances/${t.instanceId}`
    const base = `/v2/${t.instanceId}/authorizationServer/iauths_system`
    const client = async (name: string, scopes: string[], lifetime = 3600) => {
      const app = (
        await call(t, 'POST', `${i}/applications`, {
          name,
          allowedScopes: scopes,
          accessTokenLifetime: lifetime,
        })
      ).body
      const secret = (await call(t, 'POST', `${i}/applications/${app.applicationId}/client-secrets`, {})).body
        .clientSecret
      return { app, auth: { client_id: app.clientId as string, client_secret: secret as string } }
    }
    const post = (fields: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url: `${base}/oauth2/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(fields).toString(),
      })
    return { i, client, post }
  }

  it('trades a subject token for the client’s own, narrower, shorter-lived token, with act from an actor token', async () => {
    const { i, client, post } = await setup()
    const frontend = await client(
      'frontend',
      [`${PAM}|credential:obtain`, `${PAM}|authentication_token:read`],
      600,
    )
    const backend = await client('backend', [`${PAM}|.all`])
    const subjectToken = (await post({ ...frontend.auth, grant_type: 'client_credentials' })).json()
      .access_token
    const actorToken = (
      await post({ ...backend.auth, grant_type: 'client_credentials', scope: `${PAM}|credential:obtain` })
    ).json().access_token

    const plain = await post({
      ...backend.auth,
      grant_type: EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN,
      scope: `${PAM}|credential:obtain`,
    })
    expect(plain.statusCode, plain.body).toBe(200)
    expect(plain.json()).toMatchObject({
      issued_token_type: ACCESS_TOKEN,
      token_type: 'Bearer',
      scope: `${PAM}|credential:obtain`,
      expires_in: 600,
    })
    const claims = decodeJwt(plain.json().access_token)
    expect(claims).toMatchObject({ sub: frontend.app.applicationId, client_id: backend.app.clientId })
    expect(claims.act).toBeUndefined()

    const delegated = await post({
      ...backend.auth,
      grant_type: EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN,
      actor_token: actorToken,
      actor_token_type: ACCESS_TOKEN,
    })
    expect(delegated.statusCode, delegated.body).toBe(200)
    // No scope asked: the subject's own, as far as the client may have it.
    expect(delegated.json().scope).toBe(`${PAM}|credential:obtain authentication_token:read`)
    expect(decodeJwt(delegated.json().access_token).act).toEqual({ sub: backend.app.applicationId })

    const events = await call(t, 'GET', `${i}/audit/events?action=oauth.token&outcome=success`)
    const exchange = events.body.entities.filter(
      (e: { details: { grantType: string } }) => e.details.grantType === EXCHANGE,
    )
    expect(
      exchange.map((e: { details: { subject: string; actor: string | null } }) => [
        e.details.subject,
        e.details.actor,
      ]),
    ).toEqual([
      [frontend.app.applicationId, null],
      [frontend.app.applicationId, backend.app.applicationId],
    ])
  })

  it('never widens: more scope than the subject carries or the client may have is invalid_scope', async () => {
    const { client, post } = await setup()
    const narrow = await client('narrow', [`${PAM}|credential:obtain`])
    const backend = await client('backend', [`${PAM}|credential:obtain`])
    const subjectToken = (await post({ ...narrow.auth, grant_type: 'client_credentials' })).json()
      .access_token
    const wider = await post({
      ...backend.auth,
      grant_type: EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN,
      scope: `${PAM}|authentication_token:read`,
    })
    expect(wider.json()).toMatchObject({ error: 'invalid_scope' })
  })

  it('refuses bad subject tokens with invalid_grant and malformed requests with invalid_request', async () => {
    const { client, post } = await setup()
    const backend = await client('backend', [`${PAM}|.all`])
    const own = (await post({ ...backend.auth, grant_type: 'client_credentials' })).json().access_token
    const cases: [string, Record<string, string>, string, RegExp][] = [
      ['no subject token', { subject_token_type: ACCESS_TOKEN }, 'invalid_request', /without subject_token/],
      ['no subject token type', { subject_token: own }, 'invalid_request', /subject_token_type is required/],
      [
        'a forged subject token',
        { subject_token: `${own.slice(0, -4)}AAAA`, subject_token_type: ACCESS_TOKEN },
        'invalid_grant',
        /subject token is not an active access token/,
      ],
      [
        'an unknown token type',
        { subject_token: own, subject_token_type: 'urn:x' },
        'invalid_request',
        /not accepted/,
      ],
      [
        'a refresh token asked for',
        {
          subject_token: own,
          subject_token_type: ACCESS_TOKEN,
          requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token',
        },
        'invalid_request',
        /not issued here/,
      ],
      [
        'an external token no credential accepts',
        { subject_token: own, subject_token_type: JWT },
        'invalid_grant',
        /not accepted by any federated credential/,
      ],
    ]
    for (const [what, fields, error, description] of cases) {
      const res = await post({ ...backend.auth, grant_type: EXCHANGE, ...fields })
      expect(res.statusCode, what).toBe(400)
      expect(res.json().error, what).toBe(error)
      expect(res.json().error_description, what).toMatch(description)
    }
    now += 3_700_000
    const expired = await post({
      ...backend.auth,
      grant_type: EXCHANGE,
      subject_token: own,
      subject_token_type: ACCESS_TOKEN,
    })
    expect(expired.json()).toMatchObject({ error: 'invalid_grant', error_description: /expired/ })
  })

  it('never stretches a subject past its exp: one inside the verification leeway is invalid_grant, so chains end', async () => {
    const { client, post } = await setup()
    const frontend = await client('frontend', [`${PAM}|credential:obtain`], 60)
    const backend = await client('backend', [`${PAM}|credential:obtain`])
    const start = Math.floor(now / 1000)
    const exchange = (subject: string) =>
      post({
        ...backend.auth,
        grant_type: EXCHANGE,
        subject_token: subject,
        subject_token_type: ACCESS_TOKEN,
      })
    let subject = (await post({ ...frontend.auth, grant_type: 'client_credentials' })).json().access_token
    // A chain of exchanges: each new token ends when the first did, never later.
    for (const at of [0, 30, 59]) {
      now = (start + at) * 1000
      const res = await exchange(subject)
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toMatchObject({ expires_in: 60 - at, expires_at: start + 60 })
      subject = res.json().access_token
    }
    // At its exp and just past it the subject still verifies (10 s of leeway), but has no second
    // left to give: refused, where a 1 s token used to be minted (accepted 10 s more, and so on).
    for (const at of [60, 61, 69]) {
      now = (start + at) * 1000
      const res = await exchange(subject)
      expect(res.statusCode, `${at}: ${res.body}`).toBe(400)
      expect(res.json()).toMatchObject({
        error: 'invalid_grant',
        error_description: /subject token has expired/,
      })
    }
  })

  it('exchanges an external OIDC token that one of the client’s federated credentials accepts', async () => {
    const { i, client, post } = await setup()
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
    const jwk = { ...(await exportJWK(publicKey)), kid: 'ci-1' }
    jwksServer = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
    )
    await new Promise<void>((resolve) => jwksServer!.listen(0, '127.0.0.1', resolve))
    const backend = await client('backend', [`${PAM}|credential:obtain`])
    await call(t, 'POST', `${i}/applications/${backend.app.applicationId}/federated-credentials`, {
      name: 'ci',
      issuer: 'https://ci.example',
      subject: 'repo:payments:ref:refs/heads/main',
      audiences: ['strongroom'],
      jwksUri: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`,
    })
    const ciToken = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'ci-1' })
      .setIssuer('https://ci.example')
      .setSubject('repo:payments:ref:refs/heads/main')
      .setAudience('strongroom')
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(now / 1000) + 300)
      .sign(privateKey)
    const res = await post({
      ...backend.auth,
      grant_type: EXCHANGE,
      subject_token: ciToken,
      subject_token_type: JWT,
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().expires_in).toBe(300) // never outlives the subject token
    expect(decodeJwt(res.json().access_token)).toMatchObject({
      sub: 'repo:payments:ref:refs/heads/main',
      subject_issuer: 'https://ci.example',
    })
    // The same rule for an external subject: past its exp (inside the 10 s leeway) it is refused,
    // not traded for a last-second token.
    for (const past of [300, 305]) {
      now = 1_800_000_000_000 + past * 1000
      const late = await post({
        ...backend.auth,
        grant_type: EXCHANGE,
        subject_token: ciToken,
        subject_token_type: JWT,
      })
      expect(late.statusCode, `${past}: ${late.body}`).toBe(400)
      expect(late.json()).toMatchObject({
        error: 'invalid_grant',
        error_description: /subject token has expired/,
      })
    }
  })
})
