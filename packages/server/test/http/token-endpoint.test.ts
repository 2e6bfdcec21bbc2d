import { generateKeyPairSync } from 'node:crypto'
import fc from 'fast-check'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { clientThrottle } from '../../src/http/shared-failure-throttle.js'
import { verifyAccessToken } from '../../src/oauth/access-tokens.js'
import { handleTokenRequest } from '../../src/oauth/token-endpoint.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const PAM = 'urn:cloud:idaas:pam'

describe.each(ENGINES)('token endpoint on %s', (engine) => {
  let t: TestServer
  let now = 1_800_000_000_000
  afterEach(async () => t?.close())

  async function setup(allowedScopes = [`${PAM}|.all`]) {
    now = 1_800_000_000_000
    t = await openTestServer(engine, {
      now: () => now,
      app: { authFailures: { burst: 1000, refillPerSecond: 1 } },
    })
    t.services.publicUrl = 'https://pam.example'
    const i = `/admin/v1/instances/${t.instanceId}`
    const app = (await call(t, 'POST', `${i}/applications`, { name: 'worker', allowedScopes })).body
    const secret = (await call(t, 'POST', `${i}/applications/${app.applicationId}/client-secrets`, {})).body
    const base = `/v2/${t.instanceId}/authorizationServer/iauths_system`
    return { app, secret: secret.clientSecret as string, base, issuer: `https://pam.example${base}` }
  }

  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()
  const token = (base: string, payload: string, headers: Record<string, string> = {}, query = '') =>
    t.app.inject({
      method: 'POST',
      url: `${base}/oauth2/token${query}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload,
    })
  const jwks = async (base: string) => createLocalJWKSet((await t.app.inject({ url: `${base}/jwks` })).json())

  it('issues at+jwt access tokens to client_secret_post, client_secret_basic and query-string requests', async () => {
    const { app, secret, base, issuer } = await setup()
    const basic = `Basic ${Buffer.from(`${app.clientId}:${secret}`).toString('base64')}`
    const responses = [
      await token(
        base,
        form({
          grant_type: 'client_credentials',
          client_id: app.clientId,
          client_secret: secret,
          scope: `${PAM}|.all`,
        }),
      ),
      await token(base, form({ grant_type: 'client_credentials', scope: `${PAM}|credential:obtain` }), {
        authorization: basic,
      }),
      // The official TypeScript client's form: every field in the query string, an empty body.
      await t.app.inject({
        method: 'POST',
        url: `${base}/oauth2/token?${form({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: secret })}`,
      }),
    ]
    const keys = await jwks(base)
    for (const res of responses) {
      expect(res.statusCode, res.body).toBe(200)
      expect(res.headers['cache-control']).toBe('no-store')
      const body = res.json()
      expect(body).toMatchObject({
        token_type: 'Bearer',
        expires_in: 3600,
        expires_at: Math.floor(now / 1000) + 3600,
      })
      expect(Object.keys(body).sort()).toEqual([
        'access_token',
        'expires_at',
        'expires_in',
        'scope',
        'token_type',
      ])
      const { payload, protectedHeader } = await jwtVerify(body.access_token, keys, {
        issuer,
        audience: PAM,
        typ: 'at+jwt',
        currentDate: new Date(now),
      })
      expect(protectedHeader.alg).toBe('EdDSA')
      expect(payload).toMatchObject({
        sub: app.applicationId,
        client_id: app.clientId,
        instance_id: t.instanceId,
      })
      expect(typeof payload.jti).toBe('string')
    }
    expect(responses[1]!.json().scope).toBe(`${PAM}|credential:obtain`)
    expect(responses[2]!.json().scope).toBe(`${PAM}|.all`) // no scope asked: all the application may have
    // Audited, with the jti and never the token.
    const events = await call(
      t,
      'GET',
      `/admin/v1/instances/${t.instanceId}/audit/events?action=oauth.token&outcome=success`,
    )
    expect(events.body.entities.map((e: { details: { method: string } }) => e.details.method)).toEqual([
      'client_secret_post',
      'client_secret_basic',
      'client_secret_post',
    ])
    expect(JSON.stringify(events.body)).not.toContain(responses[0]!.json().access_token)
    expect(JSON.stringify(events.body)).not.toContain(secret)
  })

  it('answers 404 InstanceNotFound for an instance it does not hold, before and after serving one it does', async () => {
    const { app, secret, base } = await setup()
    const request = (path: string) =>
      token(path, form({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: secret }))
    const missing = '/v2/idaas_00000000000000000000000000/authorizationServer/iauths_system'
    const before = await request(missing)
    expect(before.statusCode).toBe(404)
    expect(before.json()).toMatchObject({ Code: 'InstanceNotFound' })
    expect((await request(base)).statusCode).toBe(200)
    expect((await request(base)).statusCode).toBe(200) // the instance, now known
    const again = await request(missing)
    expect(again.statusCode).toBe(404)
    expect(again.json()).toMatchObject({ Code: 'InstanceNotFound' })
    // An instance made after: found on its first request.
    const created = await call(t, 'POST', '/admin/v1/instances', { name: 'later' })
    expect(created.status).toBe(201)
    const other = await t.app.inject({
      method: 'POST',
      url: `/v2/${created.body.instanceId}/authorizationServer/iauths_system/oauth2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: secret }),
    })
    // The instance exists; the client is another instance's, so it is refused as a client.
    expect(other.statusCode).toBe(401)
  })

  it('refuses bad clients with 401 invalid_client, and audits why', async () => {
    const { app, secret, base } = await setup()
    const i = `/admin/v1/instances/${t.instanceId}`
    const cases = [
      form({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: `${secret.slice(0, -1)}${secret.endsWith('x') ? 'y' : 'x'}`,
      }),
      form({
        grant_type: 'client_credentials',
        client_id: 'app_00000000000000000000000000',
        client_secret: secret,
      }),
      form({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: 'not-even-close' }),
    ]
    for (const payload of cases) {
      const res = await token(base, payload)
      expect(res.statusCode).toBe(401)
      expect(res.headers['www-authenticate']).toBe('Basic realm="strongroom"')
      expect(res.json()).toMatchObject({
        error: 'invalid_client',
        Code: 'InvalidClient',
        error_description: 'client authentication failed',
      })
    }
    const secrets = await call(t, 'GET', `${i}/applications/${app.applicationId}/client-secrets`)
    await call(
      t,
      'POST',
      `${i}/applications/${app.applicationId}/client-secrets/${secrets.body.entities[0].clientSecretId}/revoke`,
    )
    expect(
      (
        await token(
          base,
          form({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: secret }),
        )
      ).statusCode,
    ).toBe(401)
    const events = await call(t, 'GET', `${i}/audit/events?action=oauth.token&outcome=failure`)
    expect(events.body.entities.map((e: { details: { why: string } }) => e.details.why)).toEqual([
      'bad_secret',
      'unknown_client',
      'bad_secret',
      'bad_secret',
    ])
  })

  it('answers each malformed request with the RFC 6749 error that names the problem', async () => {
    const { app, secret, base } = await setup([`${PAM}|credential:obtain`])
    const ok = { client_id: app.clientId, client_secret: secret }
    const basic = `Basic ${Buffer.from(`${app.clientId}:${secret}`).toString('base64')}`
    const cases: [string, string, Record<string, string>, string, RegExp][] = [
      ['no grant_type', form(ok), {}, 'invalid_request', /grant_type is required/],
      [
        'another grant',
        form({ ...ok, grant_type: 'password' }),
        {},
        'unsupported_grant_type',
        /not supported/,
      ],
      [
        'a scope not allowed',
        form({ ...ok, grant_type: 'client_credentials', scope: `${PAM}|authentication_token:read` }),
        {},
        'invalid_scope',
        /not allowed authentication_token:read/,
      ],
      [
        'two audiences',
        form({ ...ok, grant_type: 'client_credentials', scope: `${PAM}|credential:obtain https://api|read` }),
        {},
        'invalid_scope',
        /one audience per request/,
      ],
      [
        'an unknown PAM scope',
        form({ ...ok, grant_type: 'client_credentials', scope: `${PAM}|everything` }),
        {},
        'invalid_scope',
        /not a scope of/,
      ],
      [
        'two methods',
        form({ ...ok, grant_type: 'client_credentials' }),
        { authorization: basic },
        'invalid_request',
        /exactly one client authentication/,
      ],
      [
        'a repeated parameter',
        `${form({ ...ok, grant_type: 'client_credentials' })}&scope=a&scope=b`,
        {},
        'invalid_request',
        /more than once/,
      ],
      [
        'a PKCS#7 assertion',
        form({
          grant_type: 'client_credentials',
          client_id: app.clientId,
          client_assertion_type: 'urn:cloud:idaas:params:oauth:client-assertion-type:pkcs7-bearer',
          client_assertion: 'x',
        }),
        {},
        'unsupported_client_auth_method',
        /PKCS#7/,
      ],
      [
        'an x509 assertion',
        form({
          grant_type: 'client_credentials',
          client_id: app.clientId,
          client_assertion_type: 'urn:cloud:idaas:params:oauth:client-assertion-type:x509-jwt-bearer',
          client_assertion: 'x',
        }),
        {},
        'unsupported_client_auth_method',
        /X\.509/,
      ],
      [
        'no client authentication',
        form({ grant_type: 'client_credentials', client_id: app.clientId }),
        {},
        'invalid_client',
        /required/,
      ],
    ]
    for (const [what, payload, headers, error, description] of cases) {
      const res = await token(base, payload, headers)
      expect(res.statusCode, what).toBe(error === 'invalid_client' ? 401 : 400)
      expect(res.json().error, what).toBe(error)
      expect(res.json().error_description, what).toMatch(description)
      expect(res.json().RequestId).toBe(res.json().request_id)
    }
    const json = await t.app.inject({
      method: 'POST',
      url: `${base}/oauth2/token`,
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    })
    expect(json.statusCode).toBe(400)
    const other = await token(
      `/v2/${t.instanceId}/authorizationServer/iauths_other`,
      form({ ...ok, grant_type: 'client_credentials' }),
    )
    expect(other.json()).toMatchObject({ Code: 'AuthorizationServerNotFound' })
  })

  it('repeats at most 64 printable ASCII characters of the request in an error, controls and bidi as ?', async () => {
    const { app, secret, base } = await setup([`${PAM}|credential:obtain`, 'https://api.example|read'])
    const ok = { client_id: app.clientId, client_secret: secret }
    const bidi = '\u202e\u2066\x07\x1b[2J'
    const long = (n: number) => 'a'.repeat(n)
    const cases: [string, Record<string, string>, string][] = [
      // Answered before the client authenticates: anyone may send it.
      ['grant_type', { grant_type: `${long(60)}${bidi}${long(200)}` }, `grant_type ${long(60)}????... is`],
      [
        'a malformed scope value',
        { ...ok, grant_type: 'client_credentials', scope: `${PAM}|${bidi}${long(16_000)}` },
        `"${PAM}|????[2J${long(37)}..." has a malformed value`,
      ],
      [
        'an unknown PAM scope',
        { ...ok, grant_type: 'client_credentials', scope: `${PAM}|${long(16_000)}` },
        `${long(64)}... is not a scope of`,
      ],
      [
        'a word with no audience',
        { ...ok, grant_type: 'client_credentials', scope: `x\u202e${long(16_000)}` },
        `"x?${long(62)}..." names no audience`,
      ],
      [
        'an audience not allowed',
        { ...ok, grant_type: 'client_credentials', scope: `https://${long(16_000)}|read` },
        `the audience https://${long(56)}...`,
      ],
      [
        'two audiences',
        {
          ...ok,
          grant_type: 'client_credentials',
          scope: `${PAM}|credential:obtain https://${long(16_000)}|read`,
        },
        `both ${PAM} and https://${long(56)}... were`,
      ],
      [
        'values not allowed',
        { ...ok, grant_type: 'client_credentials', scope: `https://api.example|${long(9000)} b c d e` },
        `not allowed ${long(64)}..., b, c and 2 more`,
      ],
      [
        'a requested token type',
        {
          ...ok,
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          requested_token_type: `${bidi}${long(500)}`,
        },
        `requested_token_type ????[2J${long(57)}... is not issued here`,
      ],
    ]
    for (const [what, fields, repeated] of cases) {
      const res = await token(base, form(fields))
      expect(res.statusCode, what).toBe(400)
      const description: string = res.json().error_description
      expect(description, what).toMatch(/^[\x20-\x7e]+$/)
      expect(description.length, what).toBeLessThan(250)
      expect(description, what).toContain(repeated)
      expect(res.json().Message, what).toBe(description)
    }
  })

  it('verifies tokens in one shared verifier: signature, typ, issuer, expiry, revocation', async () => {
    const { app, secret, base, issuer } = await setup()
    const mint = async () =>
      (
        await token(
          base,
          form({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: secret }),
        )
      ).json().access_token as string
    const at = await mint()
    const opts = { instanceId: t.instanceId, issuer, audience: PAM }
    const verify = (tok: string, o = opts) => verifyAccessToken(t.services, t.services.signingKeys, tok, o)
    await expect(verify(at)).resolves.toMatchObject({ sub: app.applicationId })
    const [h, p, sig] = at.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString())
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'app_other' })).toString('base64url')}.${sig}`
    await expect(verify(forged)).rejects.toThrow(/signature does not verify/)
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: decodeProtectedHeader(at).kid })).toString('base64url')}.${p}.`
    await expect(verify(none)).rejects.toThrow(/not signed by a key of this instance/)
    const notAt = `${Buffer.from(JSON.stringify({ ...decodeProtectedHeader(at), typ: 'JWT' })).toString('base64url')}.${p}.${sig}`
    await expect(verify(notAt)).rejects.toThrow(/typ/)
    await expect(verify(at, { ...opts, issuer: 'https://elsewhere' })).rejects.toThrow(/another issuer/)
    await expect(verify(at, { ...opts, audience: 'https://api' })).rejects.toThrow(/another audience/)
    await t.services.store.db
      .insertInto('revoked_access_tokens')
      .values({ jti: claims.jti, instance_id: t.instanceId, expires_at: claims.exp * 1000 })
      .execute()
    await expect(verify(at)).rejects.toThrow(/revoked/)
    const later = await mint()
    now += 3600_000 + 11_000
    await expect(verify(later)).rejects.toThrow(/expired/)
  })

  it('rotates signing keys: published before use, old tokens verify until their key is retired', async () => {
    const { app, secret, base, issuer } = await setup()
    const mint = async () =>
      (
        await token(
          base,
          form({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: secret }),
        )
      ).json().access_token as string
    const first = await mint()
    const firstKid = decodeProtectedHeader(first).kid
    const rotated = await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/signing-keys/rotate`, {
      activateAfterSeconds: 600,
      alg: 'ES256',
    })
    expect(rotated).toMatchObject({ status: 201, body: { status: 'next', alg: 'ES256' } })
    // Published at once, not used yet.
    const published = (await t.app.inject({ url: `${base}/jwks` }))
      .json()
      .keys.map((k: { kid: string }) => k.kid)
    expect(published).toEqual([firstKid, rotated.body.kid])
    expect(decodeProtectedHeader(await mint()).kid).toBe(firstKid)
    now += 600_000
    const second = await mint()
    expect(decodeProtectedHeader(second)).toMatchObject({ kid: rotated.body.kid, alg: 'ES256' })
    const keys = await jwks(base)
    for (const tok of [first, second]) {
      await expect(
        jwtVerify(tok, keys, { issuer, typ: 'at+jwt', currentDate: new Date(now) }),
      ).resolves.toBeTruthy()
    }
    const listed = await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/signing-keys`)
    expect(listed.body.entities.map((k: { status: string }) => k.status)).toEqual(['retired', 'active'])
    now += 86_400_000
    const after = (await t.app.inject({ url: `${base}/jwks` })).json().keys.map((k: { kid: string }) => k.kid)
    expect(after).toEqual([rotated.body.kid])
  })

  // The row's public JWK was trusted: a reviewer inserted a key of their own with any bytes for its
  // private part and minted tokens every workload of the instance took for real.
  it('trusts no signing key whose public part is not its sealed private key', async () => {
    const { app, base, issuer } = await setup()
    await t.services.signingKeys.active(t.instanceId)
    const planted = generateKeyPairSync('ed25519')
    const publicJwk = {
      ...planted.publicKey.export({ format: 'jwk' }),
      kid: 'planted',
      alg: 'EdDSA',
      use: 'sig',
    }
    const real = await t.services.store.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('instance_id', '=', t.instanceId)
      .executeTakeFirstOrThrow()
    // The real key's sealed private part too: its seal names its own kid, not this one.
    for (const privateKey of [Buffer.from([0]), real.private_key]) {
      await t.services.store.db.deleteFrom('signing_keys').where('kid', '=', 'planted').execute()
      await t.services.store.db
        .insertInto('signing_keys')
        .values({
          ...real,
          kid: 'planted',
          public_jwk: JSON.stringify(publicJwk),
          private_key: privateKey,
          activate_at: real.activate_at,
        })
        .execute()
      // Past the keys' cache: the next use reads the rows again.
      now += 61_000
      const forged = await new SignJWT({
        sub: app.applicationId,
        instance_id: t.instanceId,
        scope: `${PAM}|.all`,
      })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'planted' })
        .setIssuer(issuer)
        .setAudience(PAM)
        .setIssuedAt(Math.floor(now / 1000))
        .setExpirationTime(Math.floor(now / 1000) + 600)
        .setJti('forged')
        .sign(planted.privateKey)
      await expect(
        verifyAccessToken(t.services, t.services.signingKeys, forged, {
          instanceId: t.instanceId,
          issuer,
          audience: PAM,
        }),
      ).rejects.toThrow(/integrity|not signed/)
      const jwksAnswer = await t.app.inject({ url: `${base}/jwks` })
      expect(jwksAnswer.body).not.toContain(publicJwk.x)
    }
  })

  it('introspects (RFC 7662) for any client of the instance and revokes (RFC 7009) for the owner only', async () => {
    const { app, secret, base, issuer } = await setup()
    const i = `/admin/v1/instances/${t.instanceId}`
    const rs = (await call(t, 'POST', `${i}/applications`, { name: 'resource-server' })).body
    const rsSecret = (await call(t, 'POST', `${i}/applications/${rs.applicationId}/client-secrets`, {})).body
      .clientSecret
    const owner = { client_id: app.clientId, client_secret: secret }
    const resourceServer = { client_id: rs.clientId, client_secret: rsSecret }
    const post = (path: string, fields: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url: `${base}/oauth2/${path}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form(fields),
      })
    const at = (await post('token', { ...owner, grant_type: 'client_credentials' })).json()
      .access_token as string

    const active = await post('introspect', { ...resourceServer, token: at })
    expect(active.statusCode).toBe(200)
    expect(active.json()).toMatchObject({
      active: true,
      client_id: app.clientId,
      sub: app.applicationId,
      iss: issuer,
      aud: PAM,
      scope: `${PAM}|.all`,
    })
    expect((await post('introspect', { ...resourceServer, token: 'garbage' })).json()).toEqual({
      active: false,
    })
    expect((await post('introspect', { token: at })).statusCode).toBe(401)
    expect((await post('introspect', resourceServer)).json()).toMatchObject({ error: 'invalid_request' })

    const stranger = await post('revoke', { ...resourceServer, token: at })
    // A Forbidden at the revocation endpoint is answered as RFC 6749 §5.2 asks (ERROR_STATUS's atOAuthEndpoint).
    expect(stranger.statusCode).toBe(400)
    expect(stranger.json()).toMatchObject({ Code: 'Forbidden', error: 'unauthorized_client' })
    const unknownHint = await post('revoke', { ...owner, token: at, token_type_hint: 'id_token' })
    expect(unknownHint.statusCode).toBe(400)
    expect(unknownHint.json()).toMatchObject({
      Code: 'UnsupportedTokenType',
      error: 'unsupported_token_type',
    })
    for (let n = 0; n < 2; n++) {
      const revoked = await post('revoke', { ...owner, token: at, token_type_hint: 'access_token' })
      expect(revoked.statusCode).toBe(200) // and again: revocation is idempotent
    }
    expect((await post('revoke', { ...owner, token: 'not-a-token' })).statusCode).toBe(200)
    expect((await post('introspect', { ...resourceServer, token: at })).json()).toEqual({ active: false })
    await expect(
      verifyAccessToken(t.services, t.services.signingKeys, at, { instanceId: t.instanceId, issuer }),
    ).rejects.toThrow(/revoked/)
    const events = await call(t, 'GET', `${i}/audit/events?action=oauth.revoke`)
    expect(events.body.entities).toHaveLength(1)
    expect(JSON.stringify(events.body)).not.toContain(at)
  })

  it('throttles failed client authentications per address and per client id, never a client whose credentials verify', async () => {
    now = 1_800_000_000_000
    t = await openTestServer(engine, {
      now: () => now,
      app: { authFailures: { burst: 3, refillPerSecond: 0.5 } },
    })
    const i = `/admin/v1/instances/${t.instanceId}`
    const app = (
      await call(t, 'POST', `${i}/applications`, { name: 'target', allowedScopes: [`${PAM}|.all`] })
    ).body
    const secret = (await call(t, 'POST', `${i}/applications/${app.applicationId}/client-secrets`, {})).body
      .clientSecret
    const base = `/v2/${t.instanceId}/authorizationServer/iauths_system`
    const attempt = (clientSecret: string, remoteAddress: string) =>
      t.app.inject({
        method: 'POST',
        url: `${base}/oauth2/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({
          grant_type: 'client_credentials',
          client_id: app.clientId,
          client_secret: clientSecret,
        }),
        remoteAddress,
      })
    // Someone who knows the client id spends both its budget and their address's.
    for (let n = 0; n < 3; n++) expect((await attempt('srcs_wrong', '10.6.6.6')).statusCode).toBe(401)
    // Their address now waits, whatever it sends: it is refused before any work.
    const refused = await attempt(secret, '10.6.6.6')
    expect(refused.statusCode).toBe(429)
    expect(refused.headers['retry-after']).toBe('2')
    expect(refused.json()).toMatchObject({ error: 'slow_down', Code: 'Throttling.User' })
    // The client, from its own address, is served: its id's budget refuses only failures.
    const served = await attempt(secret, '10.1.1.1')
    expect(served.statusCode, served.body).toBe(200)
    // A failure from yet another address is refused by the client id's budget, and not audited
    // one by one: the failure that exhausted the budget stands for it.
    const wrong = await attempt('srcs_wrong', '10.7.7.7')
    expect(wrong.statusCode).toBe(429)
    expect(wrong.json()).toMatchObject({ error: 'slow_down', Code: 'Throttling.User' })
    expect((await attempt(secret, '10.7.7.7')).statusCode).toBe(200)
    const failures = await call(t, 'GET', `${i}/audit/events?action=oauth.token&outcome=failure`)
    expect(failures.body.entities).toHaveLength(3)
    now += 2000
    expect((await attempt(secret, '10.6.6.6')).statusCode).toBe(200)
    expect((await attempt('srcs_wrong', '10.1.1.1')).statusCode).toBe(401) // one failure earned back
  })

  it('asks nothing of the client id’s budget for a request whose credentials verify (no read, on either variant)', async () => {
    const { app, secret } = await setup()
    // The budgets the server builds (on PostgreSQL, kept in the database), with each call recorded.
    const asked: string[] = []
    const recorded = <T extends object>(name: string, target: T): T =>
      new Proxy(target, {
        get: (o, key, receiver) => {
          const value = Reflect.get(o, key, receiver)
          if (typeof value !== 'function') return value
          return (...args: unknown[]) => {
            asked.push(`${name}.${String(key)}`)
            return value.apply(o, args)
          }
        },
      })
    const budget = { burst: 2, refillPerSecond: 0.001, now: () => now }
    const throttles = {
      perAddress: recorded('address', clientThrottle(t.services, 'oauth_address', budget)),
      perClient: recorded('client', clientThrottle(t.services, 'oauth_client', budget)),
    }
    const request = (clientSecret: string, sourceIp: string) =>
      handleTokenRequest(t.services, throttles, {
        instanceId: t.instanceId,
        authorizationServerId: 'iauths_system',
        params: new Map([
          ['grant_type', 'client_credentials'],
          ['client_id', app.clientId],
          ['client_secret', clientSecret],
        ]),
        authorization: undefined,
        request: { requestId: null, sourceIp, userAgent: null },
      })
    await request(secret, '10.0.0.1')
    expect(asked).toEqual(['address.reserve'])
    // Failures spend the client id's budget, from any address, and then are refused by it...
    for (const [n, sourceIp] of ['10.0.0.2', '10.0.0.3'].entries()) {
      await expect(request('srcs_wrong', sourceIp), `failure ${n + 1}`).rejects.toMatchObject({
        code: 'InvalidClient',
      })
    }
    await expect(request('srcs_wrong', '10.0.0.4')).rejects.toMatchObject({ code: 'Throttling.User' })
    // ...while the client is still served, and its budget still not asked.
    asked.length = 0
    await request(secret, '10.0.0.1')
    expect(asked).toEqual(['address.reserve'])
  })

  it('serves RFC 8414 metadata at both well-known locations', async () => {
    const { base, issuer } = await setup()
    for (const url of [
      `${base}/.well-known/oauth-authorization-server`,
      `/.well-known/oauth-authorization-server${base}`,
    ]) {
      const res = await t.app.inject({ url })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toMatchObject({
        issuer,
        token_endpoint: `${issuer}/oauth2/token`,
        jwks_uri: `${issuer}/jwks`,
        grant_types_supported: ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
        token_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'client_secret_jwt',
          'private_key_jwt',
        ],
      })
    }
  })

  it('never answers 5xx to random token, introspection and revocation requests (fast-check)', async () => {
    const { app, secret, base } = await setup()
    const names = [
      'grant_type',
      'client_id',
      'client_secret',
      'scope',
      'client_assertion_type',
      'client_assertion',
      'token',
      'token_type_hint',
      'subject_token',
      'subject_token_type',
      'actor_token',
      'requested_token_type',
      'x',
    ]
    const values = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constantFrom(
        'client_credentials',
        'urn:ietf:params:oauth:grant-type:token-exchange',
        'urn:ietf:params:oauth:token-type:access_token',
        'urn:ietf:params:oauth:token-type:jwt',
        app.clientId,
        secret,
        `${PAM}|.all`,
        `${PAM}|credential:obtain a|b`,
        '|',
        '',
      ),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom(...names), values, { maxKeys: 5 }),
        fc.dictionary(fc.constantFrom(...names), values, { maxKeys: 3 }),
        fc.oneof(
          fc.constant(undefined),
          fc.string({ maxLength: 40 }).map((x) => `Basic ${Buffer.from(x).toString('base64')}`),
        ),
        fc.constantFrom('token', 'introspect', 'revoke'),
        async (body, query, authorization, endpoint) => {
          const q = new URLSearchParams(query).toString()
          const res = await t.app.inject({
            method: 'POST',
            url: `${base}/oauth2/${endpoint}${q ? `?${q}` : ''}`,
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              ...(authorization ? { authorization } : {}),
            },
            payload: form(body),
          })
          expect(res.statusCode, res.body).toBeLessThan(500)
          if (res.statusCode >= 400) expect(typeof res.json().error).toBe('string')
        },
      ),
      { numRuns: engine === 'postgres' ? 150 : 300 },
    )
  })

  it('refuses a body that is not a form 400 invalid_request, where the framework refuses an unknown type 415', async () => {
    const { base } = await setup()
    const send = (url: string, contentType: string, payload: string, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'POST', url, headers: { 'content-type': contentType, ...headers }, payload })
    // The token endpoint's own refusal, answered as RFC 6749 §5.2 asks (ERROR_STATUS's atOAuthEndpoint).
    for (const [type, payload] of [
      ['application/json', '{"grant_type":"client_credentials"}'],
      ['text/plain', 'grant_type=client_credentials'],
    ]) {
      const refused = await send(`${base}/oauth2/token`, type!, payload!)
      expect(refused.statusCode, type).toBe(400)
      expect(refused.json()).toMatchObject({ Code: 'InvalidParameter.ContentType', error: 'invalid_request' })
    }
    // A type no parser takes is the framework's refusal, before any endpoint runs: 415 everywhere.
    const applications = `/admin/v1/instances/${t.instanceId}/applications`
    for (const url of [`${base}/oauth2/token`, applications]) {
      const refused = await send(url, 'application/xml', '<grant/>', t.auth)
      expect(refused.statusCode, url).toBe(415)
      expect(refused.json()).toMatchObject({
        Code: 'InvalidParameter.ContentType',
        error: 'invalid_request',
        field: 'content-type',
      })
    }
  })
})
