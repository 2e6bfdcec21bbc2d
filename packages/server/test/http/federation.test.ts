import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { endlessAnswer } from '../support/endless-answer.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const ID_TOKEN_BEARER = 'urn:cloud:idaas:params:oauth:client-assertion-type:id-token-bearer'
const K8S = 'https://kubernetes.default.svc'
const SUBJECT = 'system:serviceaccount:payments:worker'

/** An OIDC issuer on loopback: it publishes a JWKS and signs tokens, like a Kubernetes API server. */
async function loopbackIssuer() {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k8s-1', alg: 'RS256', use: 'sig' }
  let fetches = 0
  const server: Server = createServer((req, res) => {
    if (req.url !== '/openid/v1/jwks') {
      res.writeHead(404).end()
      return
    }
    fetches++
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    jwksUri: `http://127.0.0.1:${port}/openid/v1/jwks`,
    jwk,
    publicKey,
    privateKey,
    fetches: () => fetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

describe.each(ENGINES)('federated OIDC client authentication on %s', (engine) => {
  let t: TestServer
  let issuer: Awaited<ReturnType<typeof loopbackIssuer>>
  let now = 1_800_000_000_000
  afterEach(async () => {
    await t?.close()
    await issuer?.close()
  })

  async function setup() {
    now = 1_800_000_000_000
    issuer = await loopbackIssuer()
    t = await openTestServer(engine, {
      now: () => now,
      app: { authFailures: { burst: 1000, refillPerSecond: 1 } },
    })
    const i = `/admin/v1/instances/${t.instanceId}`
    const app = (
      await call(t, 'POST', `${i}/applications`, {
        name: 'payments',
        allowedScopes: ['urn:cloud:idaas:pam|.all'],
      })
    ).body
    const fc = await call(t, 'POST', `${i}/applications/${app.applicationId}/federated-credentials`, {
      name: 'k8s-payments',
      issuer: K8S,
      subject: SUBJECT,
      audiences: ['strongroom'],
      jwksUri: issuer.jwksUri,
    })
    expect(fc.status).toBe(201)
    return { app, i, base: `/v2/${t.instanceId}/authorizationServer/iauths_system` }
  }

  const serviceAccountToken = (claims: Record<string, unknown> = {}) =>
    new SignJWT({ 'kubernetes.io': { namespace: 'payments' }, ...claims })
      .setIssuer(K8S)
      .setSubject(SUBJECT)
      .setAudience('strongroom')
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(now / 1000) + 600)

  const signed = (jwt: SignJWT) =>
    jwt.setProtectedHeader({ alg: 'RS256', kid: 'k8s-1' }).sign(issuer.privateKey)

  const present = (base: string, clientId: string, token: string, name = 'k8s-payments') =>
    t.app.inject({
      method: 'POST',
      url: `${base}/oauth2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_assertion_type: ID_TOKEN_BEARER,
        client_assertion: token,
        application_federated_credential_name: name,
      }).toString(),
    })

  it('accepts a matching service-account token, fetching the JWKS once', async () => {
    const { app, i, base } = await setup()
    for (let n = 0; n < 3; n++) {
      const res = await present(base, app.clientId, await signed(serviceAccountToken()))
      expect(res.statusCode, res.body).toBe(200)
    }
    expect(issuer.fetches()).toBe(1)
    const events = await call(t, 'GET', `${i}/audit/events?action=oauth.token&outcome=success`)
    expect(events.body.entities[0].details.method).toBe('federated_oidc')
  })

  it('refuses wrong audience, wrong subject, expired, not yet valid, unknown issuer, alg none and HS256 keyed with the public key', async () => {
    const { app, i, base } = await setup()
    const nowS = Math.floor(now / 1000)
    const pem = await exportSPKI(issuer.publicKey)
    const payload = Buffer.from(
      JSON.stringify({ iss: K8S, sub: SUBJECT, aud: 'strongroom', exp: nowS + 600, iat: nowS }),
    ).toString('base64url')
    const cases: [string, string, string][] = [
      ['wrong audience', await signed(serviceAccountToken().setAudience('another-api')), 'aud'],
      [
        'wrong subject',
        await signed(serviceAccountToken().setSubject('system:serviceaccount:payments:intruder')),
        'sub',
      ],
      [
        'expired',
        await signed(
          serviceAccountToken()
            .setIssuedAt(nowS - 7200)
            .setExpirationTime(nowS - 3600),
        ),
        'ERR_JWT_EXPIRED',
      ],
      ['not yet valid', await signed(serviceAccountToken().setNotBefore(nowS + 3600)), 'nbf'],
      ['unknown issuer', await signed(serviceAccountToken().setIssuer('https://evil.example')), 'iss'],
      [
        'alg none',
        `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'k8s-1' })).toString('base64url')}.${payload}.`,
        'ERR_JOSE',
      ],
      [
        'HS256 keyed with the public key',
        await serviceAccountToken()
          .setProtectedHeader({ alg: 'HS256', kid: 'k8s-1' })
          .sign(new TextEncoder().encode(pem)),
        'ERR_JOSE_ALG_NOT_ALLOWED',
      ],
    ]
    for (const [what, token] of cases) {
      const res = await present(base, app.clientId, token)
      expect(res.statusCode, what).toBe(401)
      expect(res.json().error, what).toBe('invalid_client')
    }
    const events = await call(t, 'GET', `${i}/audit/events?action=oauth.token&outcome=failure&maxResults=100`)
    const details = events.body.entities.map(
      (e: { details: { why: string; detail: string } }) => `${e.details.why} ${e.details.detail}`,
    )
    cases.forEach(([what, , detail], n) => {
      expect(details[n], what).toMatch(/^bad_assertion /)
      expect(details[n], what).toContain(detail)
    })
    expect((await present(base, app.clientId, await signed(serviceAccountToken()), 'nope')).statusCode).toBe(
      401,
    )
    const missingName = await t.app.inject({
      method: 'POST',
      url: `${base}/oauth2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&client_id=${app.clientId}&client_assertion_type=${encodeURIComponent(ID_TOKEN_BEARER)}&client_assertion=x`,
    })
    expect(missingName.json()).toMatchObject({
      error: 'invalid_request',
      error_description: /application_federated_credential_name/,
    })
  })

  it('takes keys only over https (or loopback http), and gives up on a JWKS answer past 128 KiB', async () => {
    const { app, i, base } = await setup()
    const path = `${i}/applications/${app.applicationId}/federated-credentials`
    const ci = { issuer: K8S, subject: SUBJECT, audiences: ['strongroom'] }
    const plain = await call(t, 'POST', path, { ...ci, name: 'plain', jwksUri: 'http://issuer.example/jwks' })
    expect(plain).toMatchObject({ status: 400, body: { field: 'jwksUri' } })
    expect(plain.body.rule).toContain('https')
    // A row written before that rule held is refused when used: its keys could be anyone's.
    await t.services.store.db
      .updateTable('federated_credentials')
      .set({ jwks_uri: 'http://issuer.example/openid/v1/jwks' })
      .where('name', '=', 'k8s-payments')
      .execute()
    expect((await present(base, app.clientId, await signed(serviceAccountToken()))).statusCode).toBe(401)

    const endless = await endlessAnswer('{"keys":[')
    try {
      const jwksUri = `${endless.url}/jwks`
      expect((await call(t, 'POST', path, { ...ci, name: 'endless', jwksUri })).status).toBe(201)
      const res = await present(base, app.clientId, await signed(serviceAccountToken()), 'endless')
      expect(res.statusCode).toBe(401)
      await expect.poll(endless.closed).toBe(true)
    } finally {
      await endless.close()
    }
    const events = await call(t, 'GET', `${i}/audit/events?action=oauth.token&outcome=failure&maxResults=100`)
    const details = events.body.entities.map(
      (e: { details: { why: string; detail: string } }) => `${e.details.why} ${e.details.detail}`,
    )
    expect(details).toEqual([
      'bad_assertion jwks_uri must use https (plain http only on a loopback address)',
      'bad_assertion ERR_ANSWER_TOO_LARGE',
    ])
  })

  it('accepts a static JWKS instead of a URL, and refuses both or neither', async () => {
    const { app, i, base } = await setup()
    const path = `${i}/applications/${app.applicationId}/federated-credentials`
    const ci = { name: 'ci', issuer: K8S, subject: SUBJECT, audiences: ['strongroom'] }
    expect((await call(t, 'POST', path, { ...ci, jwks: { keys: [issuer.jwk] } })).status).toBe(201)
    expect(
      (
        await call(t, 'POST', path, {
          ...ci,
          name: 'both',
          jwks: { keys: [issuer.jwk] },
          jwksUri: issuer.jwksUri,
        })
      ).status,
    ).toBe(400)
    expect((await call(t, 'POST', path, { ...ci, name: 'neither' })).body).toMatchObject({ field: 'jwksUri' })
    expect((await call(t, 'POST', path, { ...ci, jwks: { keys: [issuer.jwk] } })).status).toBe(409)
    const fetchesBefore = issuer.fetches()
    const res = await present(base, app.clientId, await signed(serviceAccountToken()), 'ci')
    expect(res.statusCode, res.body).toBe(200)
    expect(issuer.fetches()).toBe(fetchesBefore)
    const listed = await call(t, 'GET', path)
    expect(
      listed.body.entities.map((f: { name: string; staticJwks: boolean }) => [f.name, f.staticJwks]),
    ).toEqual([
      ['k8s-payments', false],
      ['ci', true],
    ])
  })
})
