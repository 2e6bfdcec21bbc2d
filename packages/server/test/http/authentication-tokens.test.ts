import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { UNAUTHENTICATED_RATE } from '../../src/http/route-table.js'
import { recountTokens } from '../../src/store/token-counts-table.js'
import { endlessAnswer } from '../support/endless-answer.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const PAM = 'urn:cloud:idaas:pam'
const START = 1_800_000_000_000

describe.each(ENGINES)('authentication tokens of the developer API on %s', (engine) => {
  let t: TestServer
  let now = START
  afterEach(async () => t?.close())

  async function setup() {
    now = START
    t = await openTestServer(engine, {
      now: () => now,
      app: { authFailures: { burst: 10_000, refillPerSecond: 1 } },
    })
    const i = `/admin/v1/instances/${t.instanceId}`
    const v2 = `/v2/${t.instanceId}`
    const client = async (name: string, scopes: string[], lifetime = 3600) => {
      const app = (
        await call(t, 'POST', `${i}/applications`, {
          name,
          allowedScopes: scopes,
          accessTokenLifetime: lifetime,
        })
      ).body
      const secret = (await call(t, 'POST', `${i}/applications/${app.applicationId}/client-secrets`, {})).body
        .clientSecret as string
      const token = async (scope = `${PAM}|.all`) => {
        const res = await t.app.inject({
          method: 'POST',
          url: `${v2}/authorizationServer/iauths_system/oauth2/token`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: app.clientId,
            client_secret: secret,
            scope,
          }).toString(),
        })
        expect(res.statusCode, res.body).toBe(200)
        return res.json().access_token as string
      }
      return { id: app.applicationId as string, clientId: app.clientId as string, secret, token }
    }
    const grant = (applicationId: string, resource: string, actions: string[]) =>
      call(t, 'POST', `${i}/grants`, {
        applicationId,
        resourceType: 'credential_provider',
        resource,
        actions,
      })
    const provider = async (body: Record<string, unknown>) => {
      const res = await call(t, 'POST', `${i}/credential-providers`, body)
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      return res.body
    }
    /** A developer-API call the way the official client makes it: JSON, a bearer token or none. */
    const pam = async (method: 'GET' | 'POST', path: string, body: unknown, bearer?: string) => {
      const res = await t.app.inject({
        method,
        url: `${v2}${path}`,
        headers: {
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
          ...(method === 'POST' ? { 'content-type': 'application/json; charset=utf-8' } : {}),
        },
        ...(method === 'POST' ? { payload: JSON.stringify(body) } : {}),
      })
      // biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field
      return { status: res.statusCode, body: res.json() as any, headers: res.headers }
    }
    return { i, v2, client, grant, provider, pam }
  }

  it('generates a JWT that verifies against the provider’s JWKS with exactly the requested claims; revoke, reinstate and expiry apply to both forms', async () => {
    const { client, grant, provider, pam } = await setup()
    const consumer = await client('consumer', [`${PAM}|.all`])
    const signer = await provider({
      credentialProviderIdentifier: 'signer',
      credentialProviderType: 'jwt',
      jwt: { allowedIssuers: ['https://issuer.example.com'], maxExpiration: 600 },
    })
    await grant(consumer.id, 'signer', ['use', 'read', 'manage'])
    const at = await consumer.token()

    const generated = await pam(
      'POST',
      '/authenticationTokens/_/actions/generateJwt',
      {
        credentialProviderIdentifier: 'signer',
        subject: 'svc-payments',
        audiences: ['https://api.example.com'],
        customClaims: { tenant: 't-1', roles: ['reader'], nested: { a: 1 } },
        expiration: 300,
        includeDerivedShortToken: true,
      },
      at,
    )
    expect(generated.status, JSON.stringify(generated.body)).toBe(200)
    const token = generated.body
    expect(Object.keys(token).sort()).toEqual(
      [
        'authenticationTokenId',
        'authenticationTokenType',
        'consumerId',
        'consumerType',
        'createTime',
        'creatorId',
        'creatorType',
        'credentialProviderId',
        'expirationTime',
        'instanceId',
        'jwtContent',
        'revoked',
        'updateTime',
      ].sort(),
    )
    expect(token).toMatchObject({
      authenticationTokenType: 'jwt',
      consumerId: consumer.id,
      consumerType: 'application',
      creatorId: consumer.id,
      creatorType: 'application',
      credentialProviderId: signer.credentialProviderId,
      instanceId: t.instanceId,
      revoked: false,
      createTime: START,
      updateTime: START,
      expirationTime: START + 300_000,
    })
    expect(token.authenticationTokenId).toMatch(/^atntkn_[0-9a-z]{26}$/)
    const jwt = token.jwtContent.jwtValue as string
    const short = token.jwtContent.derivedShortToken as string
    expect(short).toMatch(/^sk-[0-9A-Za-z]{49}$/)

    // jose, against the JWKS the provider publishes at its jwksUri.
    const jwksPath = new URL(signer.jwt.jwksUri).pathname
    const jwks = await t.app.inject({ method: 'GET', url: jwksPath })
    expect(jwks.statusCode).toBe(200)
    const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(jwks.json()), {
      issuer: signer.jwt.issuer,
      audience: 'https://api.example.com',
      currentDate: new Date(now),
      algorithms: ['EdDSA'],
    })
    expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: signer.jwt.keyId })
    expect(payload).toEqual({
      tenant: 't-1',
      roles: ['reader'],
      nested: { a: 1 },
      iss: signer.jwt.issuer,
      sub: 'svc-payments',
      aud: 'https://api.example.com',
      iat: START / 1000,
      nbf: START / 1000,
      exp: START / 1000 + 300,
      jti: token.authenticationTokenId,
    })
    expect(decodeProtectedHeader(jwt).kid).toBe(JSON.parse(jwks.body).keys[0].kid)

    const byShort = await pam('POST', '/authenticationTokens/_/actions/obtainJwtByDerivedShortToken', {
      derivedShortToken: short,
    })
    expect(byShort.status).toBe(200)
    expect(byShort.body.jwtContent).toEqual({ jwtValue: jwt, derivedShortToken: short })
    expect(byShort.body.authenticationTokenId).toBe(token.authenticationTokenId)
    const obtained = await pam(
      'POST',
      '/authenticationTokens/_/actions/obtainJwt',
      { consumerId: consumer.id, authenticationTokenId: token.authenticationTokenId },
      at,
    )
    expect(obtained.status).toBe(200)
    expect(obtained.body.jwtContent.jwtValue).toBe(jwt)

    const validate = async (value: string) => {
      const res = await pam('POST', '/authenticationTokens/_/actions/validate', { token: value })
      expect(res.status).toBe(200)
      expect(Object.keys(res.body)).toEqual(['active'])
      return res.body.active as boolean
    }
    const both = async () => [await validate(jwt), await validate(short)]
    expect(await both()).toEqual([true, true])
    // A forged JWT naming the real token id, and a made-up short token: inactive, not errors.
    const [h, p] = jwt.split('.')
    expect(await validate(`${h}.${p}.${'A'.repeat(86)}`)).toBe(false)
    expect(await validate(`sk-${'a'.repeat(49)}`)).toBe(false)

    const revoke = await pam('POST', '/authenticationTokens/_/actions/revoke', { token: jwt }, at)
    expect(revoke.status).toBe(200)
    expect(revoke.body).toEqual({})
    expect(await both()).toEqual([false, false])
    expect(
      (
        await pam('POST', '/authenticationTokens/_/actions/obtainJwtByDerivedShortToken', {
          derivedShortToken: short,
        })
      ).body.Code,
    ).toBe('AuthenticationTokenRevoked')
    // Idempotent.
    expect((await pam('POST', '/authenticationTokens/_/actions/revoke', { token: short }, at)).status).toBe(
      200,
    )
    expect(
      (await pam('POST', '/authenticationTokens/_/actions/reinstate', { token: short }, at)).body,
    ).toEqual({})
    expect(await both()).toEqual([true, true])

    now += 301_000
    expect(await both()).toEqual([false, false])
    expect((await pam('POST', '/authenticationTokens/_/actions/reinstate', { token: jwt }, at)).status).toBe(
      200,
    )
    expect(await both()).toEqual([false, false])
    const expired = await pam('POST', '/authenticationTokens/_/actions/obtainJwtByDerivedShortToken', {
      derivedShortToken: short,
    })
    expect(expired.status).toBe(403)
    expect(expired.body.Code).toBe('AuthenticationTokenExpired')
  })

  it('refuses what the provider does not allow, naming the field, with both error key sets', async () => {
    const { client, grant, provider, pam } = await setup()
    const consumer = await client('consumer', [`${PAM}|.all`])
    await provider({
      credentialProviderIdentifier: 'strict',
      credentialProviderType: 'jwt',
      jwt: {
        algorithm: 'ES256',
        allowedAudiences: ['https://api.example.com/*'],
        maxExpiration: 600,
        allowDerivedShortToken: false,
      },
    })
    await grant(consumer.id, 'strict', ['use'])
    const at = await consumer.token()
    const generate = (fields: Record<string, unknown>) =>
      pam(
        'POST',
        '/authenticationTokens/_/actions/generateJwt',
        {
          credentialProviderIdentifier: 'strict',
          subject: 's',
          audiences: ['https://api.example.com/orders'],
          ...fields,
        },
        at,
      )
    const ok = await generate({})
    expect(ok.status, JSON.stringify(ok.body)).toBe(200)
    expect(decodeProtectedHeader(ok.body.jwtContent.jwtValue).alg).toBe('ES256')
    expect(ok.body.expirationTime - ok.body.createTime).toBe(600_000) // the default, capped by the maximum
    expect(ok.body.jwtContent.derivedShortToken).toBeUndefined()
    const cases: [Record<string, unknown>, string, string][] = [
      [{ issuer: 'https://evil.example.com' }, 'InvalidParameter.Issuer', 'issuer'],
      [{ audiences: ['urn:cloud:idaas:pam'] }, 'InvalidParameter.Audiences', 'audiences[0]'],
      [
        { audiences: ['https://api.example.com/x', 'https://other.example.com'] },
        'InvalidParameter.Audiences',
        'audiences[1]',
      ],
      [{ expiration: 601 }, 'InvalidParameter.Expiration', 'expiration'],
      [{ customClaims: { sub: 'root' } }, 'InvalidParameter.CustomClaims', 'customClaims.sub'],
      [{ customClaims: { big: 'x'.repeat(9000) } }, 'InvalidParameter.CustomClaims', 'customClaims'],
      [{ includeDerivedShortToken: true }, 'DerivedShortTokenNotAllowed', 'includeDerivedShortToken'],
      [{ audiences: [] }, 'InvalidParameter', 'audiences'],
      [{ expiration: '300' }, 'InvalidParameter', 'expiration'],
    ]
    for (const [fields, code, field] of cases) {
      const res = await generate(fields)
      expect(res.status, JSON.stringify(fields)).toBe(400)
      expect(res.body, JSON.stringify(fields)).toMatchObject({
        Code: code,
        error: expect.any(String),
        error_description: expect.any(String),
        RequestId: expect.any(String),
        request_id: expect.any(String),
        field,
      })
    }
  })

  it('fetches upstream OAuth tokens once for 100 concurrent callers, reuses them until near expiry, then refreshes', async () => {
    const { client, grant, provider, pam } = await setup()
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    const port = (t.app.server.address() as AddressInfo).port
    // The upstream is a second application of this same server, its tokens living 600 s.
    const upstream = await client('upstream-service', [`${PAM}|credential:obtain`], 600)
    const consumer = await client('consumer', [`${PAM}|.all`])
    const other = await client('other-consumer', [`${PAM}|.all`])
    const endpoint = `http://127.0.0.1:${port}/v2/${t.instanceId}/authorizationServer/iauths_system/oauth2/token`
    await provider({
      credentialProviderIdentifier: 'upstream',
      credentialProviderType: 'oauth',
      oauth: {
        tokenEndpoint: endpoint,
        clientId: upstream.clientId,
        clientSecret: upstream.secret,
        authMethod: 'client_secret_basic',
        defaultScope: `${PAM}|credential:obtain`,
      },
    })
    await provider({
      credentialProviderIdentifier: 'broken',
      credentialProviderType: 'oauth',
      oauth: { tokenEndpoint: endpoint, clientId: upstream.clientId, clientSecret: 'not-the-secret-canary' },
    })
    await grant(consumer.id, 'upstream', ['use', 'read'])
    await grant(other.id, 'upstream', ['use'])
    await grant(consumer.id, 'broken', ['use'])
    const at = await consumer.token()
    const fetchToken = (bearer = at, fields: Record<string, unknown> = {}) =>
      pam(
        'POST',
        '/authenticationTokens/_/actions/fetchOAuthAccessToken',
        { credentialProviderIdentifier: 'upstream', ...fields },
        bearer,
      )
    const issuedUpstream = async () =>
      (
        await t.services.store.db
          .selectFrom('audit_events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('action', '=', 'oauth.token')
          .where('outcome', '=', 'success')
          .where('actor_id', '=', upstream.id)
          .executeTakeFirstOrThrow()
      ).n
    const before = Number(await issuedUpstream())
    const requests = () => t.services.providers.upstream.requests

    const results = await Promise.all(Array.from({ length: 100 }, () => fetchToken()))
    expect(results.map((r) => r.status)).toEqual(Array(100).fill(200))
    expect(requests()).toBe(1)
    expect(Number(await issuedUpstream()) - before).toBe(1)
    const first = results[0]!.body
    expect(new Set(results.map((r) => r.body.oauthAccessTokenContent.accessTokenValue)).size).toBe(1)
    expect(new Set(results.map((r) => r.body.authenticationTokenId)).size).toBe(1)
    expect(first).toMatchObject({
      authenticationTokenType: 'oauth_access_token',
      consumerId: consumer.id,
      creatorId: consumer.id,
      revoked: false,
      expirationTime: START + 600_000,
      oauthAccessTokenContent: { scope: `${PAM}|credential:obtain`, tokenType: 'Bearer' },
    })
    // The upstream token is real: the upstream's own introspection would accept it; here its claims say who it is.
    const claims = JSON.parse(
      Buffer.from(first.oauthAccessTokenContent.accessTokenValue.split('.')[1], 'base64url').toString(),
    )
    expect(claims.client_id).toBe(upstream.clientId)

    // Another consumer shares the upstream token but gets its own record.
    const second = await fetchToken(await other.token())
    expect(second.body.oauthAccessTokenContent.accessTokenValue).toBe(
      first.oauthAccessTokenContent.accessTokenValue,
    )
    expect(second.body.authenticationTokenId).not.toBe(first.authenticationTokenId)
    expect(second.body.consumerId).toBe(other.id)

    now += 500_000 // 100 s left: more than the last tenth of its life, reused
    expect((await fetchToken()).body.oauthAccessTokenContent.accessTokenValue).toBe(
      first.oauthAccessTokenContent.accessTokenValue,
    )
    expect(requests()).toBe(1)
    now += 45_000 // 55 s left: inside the last 60 s, refreshed
    const refreshed = await fetchToken()
    expect(requests()).toBe(2)
    expect(refreshed.body.oauthAccessTokenContent.accessTokenValue).not.toBe(
      first.oauthAccessTokenContent.accessTokenValue,
    )
    expect(refreshed.body.expirationTime).toBe(now + 600_000)
    await fetchToken(at, { forceAuthentication: true })
    expect(requests()).toBe(3)

    const refused = await pam(
      'POST',
      '/authenticationTokens/_/actions/fetchOAuthAccessToken',
      { credentialProviderIdentifier: 'broken' },
      at,
    )
    expect(refused.status).toBe(502)
    expect(refused.body.Code).toBe('UpstreamError')
    expect(refused.body.Message).toContain('broken')
    expect(refused.body.Message).toContain('401')
    expect(JSON.stringify(refused.body)).not.toContain('not-the-secret-canary')
    const badScope = await fetchToken(at, { scope: `${PAM}|authentication_token:manage` })
    expect(badScope.status).toBe(400)
    expect(badScope.body).toMatchObject({ Code: 'InvalidParameter.Scope', field: 'scope' })
    const reserved = await fetchToken(at, { customParameters: { client_secret: 'x' } })
    expect(reserved.status).toBe(400)
    expect(reserved.body.field).toBe('customParameters.client_secret')
    const events = await t.services.store.db
      .selectFrom('audit_events')
      .select(['details', 'outcome'])
      .where('action', '=', 'authentication_token.fetch_oauth')
      .execute()
    expect(events.length).toBeGreaterThanOrEqual(105)
    expect(JSON.stringify(events)).not.toContain(first.oauthAccessTokenContent.accessTokenValue)
    expect(JSON.stringify(events)).not.toContain('not-the-secret-canary')
  })

  it('gives up on an upstream answer as soon as it passes 64 KiB, however long the upstream would go on', async () => {
    const { client, grant, provider, pam } = await setup()
    // An upstream that never stops answering: read whole, it would fill the server's memory until
    // the 10 s timeout; read as it comes, the answer is refused once past the limit.
    const endless = await endlessAnswer()
    try {
      const consumer = await client('consumer', [`${PAM}|.all`])
      await provider({
        credentialProviderIdentifier: 'endless',
        credentialProviderType: 'oauth',
        oauth: {
          tokenEndpoint: `${endless.url}/token`,
          clientId: 'c',
          clientSecret: 'endless-secret-canary',
        },
      })
      await grant(consumer.id, 'endless', ['use'])
      const refused = await pam(
        'POST',
        '/authenticationTokens/_/actions/fetchOAuthAccessToken',
        { credentialProviderIdentifier: 'endless' },
        await consumer.token(),
      )
      expect(refused.status).toBe(502)
      expect(refused.body).toMatchObject({ Code: 'UpstreamError' })
      expect(refused.body.Message).toContain('more than 64 KiB')
      expect(JSON.stringify(refused.body)).not.toContain('endless-secret-canary')
      await expect.poll(endless.closed).toBe(true)
      // The server stopped reading: what the upstream got out is bounded by socket buffers, not time.
      expect(endless.sent()).toBeLessThan(16 * 1024 * 1024)
    } finally {
      await endless.close()
    }
  })

  it('refuses an upstream access token that is not printable ASCII (a terminal escape, say)', async () => {
    const { client, grant, provider, pam } = await setup()
    const hostile = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          access_token: 'tok\u001b]52;c;cHduZWQ=\u0007',
          token_type: 'Bearer',
          expires_in: 600,
        }),
      )
    })
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve))
    try {
      const consumer = await client('consumer', [`${PAM}|.all`])
      await provider({
        credentialProviderIdentifier: 'hostile',
        credentialProviderType: 'oauth',
        oauth: {
          tokenEndpoint: `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/token`,
          clientId: 'c',
          clientSecret: 's',
        },
      })
      await grant(consumer.id, 'hostile', ['use'])
      const refused = await pam(
        'POST',
        '/authenticationTokens/_/actions/fetchOAuthAccessToken',
        { credentialProviderIdentifier: 'hostile' },
        await consumer.token(),
      )
      expect(refused.status).toBe(502)
      expect(refused.body).toMatchObject({ Code: 'UpstreamError' })
      expect(refused.body.Message).toContain('RFC 6749 does not allow')
      expect(JSON.stringify(refused.body)).not.toContain('cHduZWQ')
    } finally {
      await new Promise<void>((resolve) => hostile.close(() => resolve()))
    }
  })

  it('lets an administrator list and revoke a provider’s tokens: one, one consumer’s, or all', async () => {
    const { i, client, grant, provider, pam } = await setup()
    const alice = await client('alice', [`${PAM}|.all`])
    const bob = await client('bob', [`${PAM}|.all`])
    await provider({ credentialProviderIdentifier: 'signer', credentialProviderType: 'jwt' })
    for (const app of [alice, bob]) await grant(app.id, 'signer', ['use'])
    const mint = async (app: typeof alice) =>
      (
        await pam(
          'POST',
          '/authenticationTokens/_/actions/generateJwt',
          { credentialProviderIdentifier: 'signer', subject: app.id, audiences: ['a'] },
          await app.token(),
        )
      ).body
    const [a1, a2, b1] = [await mint(alice), await mint(alice), await mint(bob)]
    const active = async (t: { jwtContent: { jwtValue: string } }) =>
      (await pam('POST', '/authenticationTokens/_/actions/validate', { token: t.jwtContent.jwtValue })).body
        .active
    const tokens = `${i}/credential-providers/signer/tokens`

    const all = await call(t, 'GET', tokens)
    expect(all.status).toBe(200)
    expect(all.body.totalCount).toBe(3)
    expect(JSON.stringify(all.body)).not.toContain(a1.jwtContent.jwtValue)
    expect(
      (await call(t, 'GET', `${tokens}?consumerId=${bob.id}`)).body.entities.map(
        (e: { authenticationTokenId: string }) => e.authenticationTokenId,
      ),
    ).toEqual([b1.authenticationTokenId])

    expect((await call(t, 'POST', `${tokens}/revoke`, { consumerId: alice.id })).body).toEqual({ changed: 2 })
    expect([await active(a1), await active(a2), await active(b1)]).toEqual([false, false, true])
    expect((await call(t, 'POST', `${tokens}/revoke`, { consumerId: alice.id })).body).toEqual({ changed: 0 })
    expect(
      (await call(t, 'POST', `${tokens}/reinstate`, { authenticationTokenId: a2.authenticationTokenId }))
        .body,
    ).toEqual({ changed: 1 })
    expect([await active(a1), await active(a2)]).toEqual([false, true])
    expect((await call(t, 'POST', `${tokens}/revoke`, {})).body).toEqual({ changed: 2 })
    expect((await call(t, 'GET', `${tokens}?revoked=false`)).body.totalCount).toBe(0)
    expect((await call(t, 'POST', `${i}/credential-providers/nothing/tokens/revoke`, {})).status).toBe(404)
    const bad = await call(t, 'POST', `${tokens}/revoke`, { authenticationTokenId: 'nope' })
    expect(bad.status).toBe(400)
    expect(bad.body.field).toBe('authenticationTokenId')
  })

  it('limits the unauthenticated operations per source address, with Retry-After', async () => {
    const { pam } = await setup()
    const validate = () => pam('POST', '/authenticationTokens/_/actions/validate', { token: 'not-a-token' })
    const answers = []
    for (let n = 0; n < UNAUTHENTICATED_RATE.burst; n++) answers.push((await validate()).status)
    expect(answers.every((status) => status === 200)).toBe(true)
    const limited = await validate()
    expect(limited.status).toBe(429)
    expect(limited.body.Code).toBe('Throttling.User')
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(limited.headers['x-acs-retry-after']).toBe(String(Number(limited.headers['retry-after']) * 1000))
    // The short-token exchange shares the budget; time earns it back.
    const byShort = () =>
      pam('POST', '/authenticationTokens/_/actions/obtainJwtByDerivedShortToken', {
        derivedShortToken: 'sk-x',
      })
    expect((await byShort()).status).toBe(429)
    now += 1000
    expect((await byShort()).status).toBe(404)
  })

  it('lists 10,000 tokens page by page while new ones are inserted: each pre-existing token exactly once', async () => {
    const { client, grant, provider, pam } = await setup()
    const consumer = await client('consumer', [`${PAM}|.all`])
    const signer = await provider({ credentialProviderIdentifier: 'signer', credentialProviderType: 'jwt' })
    await grant(consumer.id, 'signer', ['use', 'read'])
    const at = await consumer.token()
    // The pre-existing tokens are written straight to the table: the listing is what is under test.
    const existing: string[] = []
    for (let batch = 0; batch < 20; batch++) {
      const rows = Array.from({ length: 500 }, (_, k) => {
        const n = batch * 500 + k
        const id = `atntkn_${String(n).padStart(26, '0')}`
        existing.push(id)
        return {
          id,
          instance_id: t.instanceId,
          provider_id: signer.credentialProviderId,
          type: 'jwt' as const,
          consumer_id: consumer.id,
          consumer_type: 'application' as const,
          creator_id: consumer.id,
          creator_type: 'application' as const,
          revoked: n % 7 === 0 ? 1 : 0,
          value_hash: `hash-${n}`,
          value_ciphertext: null,
          key_version: null,
          short_token_hash: null,
          created_at: START - 1000,
          updated_at: START - 1000,
          expires_at: n % 5 === 0 ? START - 1 : START + 3_600_000,
        }
      })
      await t.services.store.db.insertInto('authentication_tokens').values(rows).execute()
    }
    // Written around the services, so counted again as the migration counts them.
    await recountTokens(t.services.store.db)
    const seen = new Map<string, number>()
    let nextToken: string | undefined
    let pages = 0
    let total = 0
    do {
      const query = new URLSearchParams({
        consumerId: consumer.id,
        credentialProviderIdentifier: 'signer',
        maxResults: '100',
        ...(nextToken ? { nextToken } : {}),
      })
      const page = await pam('GET', `/authenticationTokens?${query}`, undefined, at)
      expect(page.status, JSON.stringify(page.body)).toBe(200)
      if (pages === 0) total = page.body.totalCount
      for (const e of page.body.entities)
        seen.set(e.authenticationTokenId, (seen.get(e.authenticationTokenId) ?? 0) + 1)
      expect(page.body.maxResults).toBe(100)
      nextToken = page.body.nextToken ?? undefined
      pages++
      // A new token between pages.
      const added = await pam(
        'POST',
        '/authenticationTokens/_/actions/generateJwt',
        { credentialProviderIdentifier: 'signer', subject: `new-${pages}`, audiences: ['a'] },
        at,
      )
      expect(added.status).toBe(200)
    } while (nextToken)
    expect(total).toBe(10_000)
    for (const id of existing) expect(seen.get(id)).toBe(1)
    expect(pages).toBeGreaterThanOrEqual(100)

    const count = async (fields: Record<string, string>) =>
      (
        await pam(
          'GET',
          `/authenticationTokens?${new URLSearchParams({ consumerId: consumer.clientId, credentialProviderIdentifier: signer.credentialProviderId, ...fields })}`,
          undefined,
          at,
        )
      ).body
    const revoked = await count({ revoked: 'true', maxResults: '5' })
    expect(revoked.totalCount).toBe(existing.filter((_, n) => n % 7 === 0).length)
    expect(revoked.entities).toHaveLength(5)
    expect(revoked.entities.every((e: { revoked: boolean }) => e.revoked)).toBe(true)
    const expired = await count({ expired: 'true', revoked: 'false' })
    expect(expired.totalCount).toBe(existing.filter((_, n) => n % 5 === 0 && n % 7 !== 0).length)
    expect(expired.maxResults).toBe(20)
    expect(expired.entities).toHaveLength(20)
  })
})
