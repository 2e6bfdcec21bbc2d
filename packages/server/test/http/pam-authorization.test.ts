import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authenticationTokenRoutes } from '../../src/http/routes/authentication-token-routes.js'
import { credentialRoutes } from '../../src/http/routes/credential-routes.js'
import { mintAccessToken } from '../../src/oauth/access-tokens.js'
import { issuerOf } from '../../src/oauth/issuer.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const PAM = 'urn:cloud:idaas:pam'
const START = 1_800_000_000_000
const T = '/authenticationTokens'

interface Operation {
  name: string
  method: 'GET' | 'POST'
  path: string
  fields: Record<string, unknown>
}

describe.each(ENGINES)('authorization of every developer-API operation on %s', (engine) => {
  let t: TestServer
  let now = START
  const tokens: Record<string, string> = {}
  let ops: Operation[] = []
  let ids: {
    owner: string
    stranger: string
    nobody: string
    otherInstance: string
    ownerJwt: string
    ownerShort: string
    tokenId: string
    jwtProvider: string
  }

  const send = async (
    op: Operation,
    bearer: string | undefined,
    instance = t.instanceId,
    fields = op.fields,
  ) => {
    const query =
      op.method === 'GET'
        ? `?${new URLSearchParams(
            Object.entries(fields).map(([k, v]): [string, string] => [
              k,
              typeof v === 'string' ? v : JSON.stringify(v),
            ]),
          )}`
        : ''
    const res = await t.app.inject({
      method: op.method,
      url: `/v2/${instance}${op.path}${query}`,
      headers: {
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...(op.method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      ...(op.method === 'POST' ? { payload: JSON.stringify(fields) } : {}),
    })
    return { status: res.statusCode, body: res.json() as Record<string, unknown> }
  }

  beforeAll(async () => {
    now = START
    t = await openTestServer(engine, {
      now: () => now,
      app: { authFailures: { burst: 100_000, refillPerSecond: 1 } },
    })
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    const port = (t.app.server.address() as AddressInfo).port
    const i = `/admin/v1/instances/${t.instanceId}`
    const v2 = `/v2/${t.instanceId}`
    const app = async (name: string) => {
      const a = (await call(t, 'POST', `${i}/applications`, { name, allowedScopes: [`${PAM}|.all`] })).body
      const secret = (await call(t, 'POST', `${i}/applications/${a.applicationId}/client-secrets`, {})).body
        .clientSecret
      return { id: a.applicationId as string, clientId: a.clientId as string, secret: secret as string }
    }
    const issue = async (a: { clientId: string; secret: string }, scope = `${PAM}|.all`) => {
      const res = await t.app.inject({
        method: 'POST',
        url: `${v2}/authorizationServer/iauths_system/oauth2/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: a.clientId,
          client_secret: a.secret,
          scope,
        }).toString(),
      })
      return res.json().access_token as string
    }
    const grant = (applicationId: string, resourceType: string, resource: string, actions: string[]) =>
      call(t, 'POST', `${i}/grants`, { applicationId, resourceType, resource, actions })
    const owner = await app('owner')
    const stranger = await app('stranger')
    const nobody = await app('nobody')
    const upstream = await app('upstream')
    await call(t, 'POST', `${i}/credentials`, {
      credentialIdentifier: 'cred-a',
      credentialType: 'api_key',
      value: { apiKey: 'canary-api-key' },
    })
    const jwtProvider = await call(t, 'POST', `${i}/credential-providers`, {
      credentialProviderIdentifier: 'jwt-a',
      credentialProviderType: 'jwt',
    })
    await call(t, 'POST', `${i}/credential-providers`, {
      credentialProviderIdentifier: 'oauth-a',
      credentialProviderType: 'oauth',
      oauth: {
        tokenEndpoint: `http://127.0.0.1:${port}${v2}/authorizationServer/iauths_system/oauth2/token`,
        clientId: upstream.clientId,
        clientSecret: upstream.secret,
        defaultScope: `${PAM}|credential:obtain`,
      },
    })
    await grant(owner.id, 'credential', 'cred-a', ['obtain'])
    await grant(owner.id, 'credential_provider', 'jwt-a', ['use', 'read', 'manage'])
    await grant(owner.id, 'credential_provider', 'oauth-a', ['use'])
    // The stranger may use the same JWT provider: its tokens are its own, the owner's stay the owner's.
    await grant(stranger.id, 'credential_provider', 'jwt-a', ['use', 'read', 'manage'])

    tokens.owner = await issue(owner)
    tokens.stranger = await issue(stranger)
    tokens.nobody = await issue(nobody)
    // A prefix grant `a` on providers: it covers no provider here (identifiers `jwt-a`, `oauth-a`).
    const prefixed = await app('prefixed')
    await grant(prefixed.id, 'credential_provider', 'a', ['use'])
    tokens.prefixed = await issue(prefixed)
    tokens.narrowCredential = await issue(owner, `${PAM}|credential:obtain`)
    tokens.narrowRead = await issue(owner, `${PAM}|authentication_token:read`)
    const minted = await mintAccessToken(t.services.signingKeys, now, {
      instanceId: t.instanceId,
      issuer: issuerOf(t.services, t.instanceId, 'iauths_system'),
      subject: owner.id,
      clientId: owner.clientId,
      scope: { audience: 'https://api.example.com', values: ['.all'] },
      lifetimeSeconds: 3600,
    })
    tokens.wrongAudience = minted.token
    tokens.revoked = await issue(owner)
    await t.app.inject({
      method: 'POST',
      url: `${v2}/authorizationServer/iauths_system/oauth2/revoke`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        token: tokens.revoked,
        client_id: owner.clientId,
        client_secret: owner.secret,
      }).toString(),
    })
    const generated = await send(
      { name: 'g', method: 'POST', path: `${T}/_/actions/generateJwt`, fields: {} },
      tokens.owner,
      t.instanceId,
      {
        credentialProviderIdentifier: 'jwt-a',
        subject: 'x',
        audiences: ['a'],
        includeDerivedShortToken: true,
      },
    )
    expect(generated.status).toBe(200)
    const content = generated.body.jwtContent as { jwtValue: string; derivedShortToken: string }
    const otherInstance = (await call(t, 'POST', '/admin/v1/instances', { name: 'other' })).body.instanceId
    const tokenId = generated.body.authenticationTokenId as string
    ids = {
      owner: owner.id,
      stranger: stranger.id,
      nobody: nobody.id,
      otherInstance,
      ownerJwt: content.jwtValue,
      ownerShort: content.derivedShortToken,
      tokenId,
      jwtProvider: jwtProvider.body.credentialProviderId,
    }
    ops = [
      {
        name: 'ObtainCredential',
        method: 'GET',
        path: '/credentials/_/actions/obtain',
        fields: { credentialIdentifier: 'cred-a' },
      },
      {
        name: 'FetchOAuth',
        method: 'POST',
        path: `${T}/_/actions/fetchOAuthAccessToken`,
        fields: { credentialProviderIdentifier: 'oauth-a' },
      },
      {
        name: 'GenerateJwt',
        method: 'POST',
        path: `${T}/_/actions/generateJwt`,
        fields: { credentialProviderIdentifier: 'jwt-a', subject: 's', audiences: ['a'] },
      },
      {
        name: 'ObtainJwt',
        method: 'POST',
        path: `${T}/_/actions/obtainJwt`,
        fields: { consumerId: owner.id, authenticationTokenId: tokenId },
      },
      {
        name: 'List',
        method: 'GET',
        path: T,
        fields: { consumerId: owner.id, credentialProviderIdentifier: 'jwt-a' },
      },
      { name: 'Revoke', method: 'POST', path: `${T}/_/actions/revoke`, fields: { token: content.jwtValue } },
      {
        name: 'Reinstate',
        method: 'POST',
        path: `${T}/_/actions/reinstate`,
        fields: { token: content.derivedShortToken },
      },
      {
        name: 'RevokeByConsumer',
        method: 'POST',
        path: `${T}/_/actions/revokeByConsumer`,
        fields: { consumerId: owner.id, credentialProviderIdentifier: 'jwt-a' },
      },
      {
        name: 'ReinstateByConsumer',
        method: 'POST',
        path: `${T}/_/actions/reinstateByConsumer`,
        fields: { consumerId: owner.id, credentialProviderIdentifier: 'jwt-a' },
      },
    ]
  })
  afterAll(async () => t?.close())

  /** A refusal: the status and code expected, the error body with both key sets, and no data. */
  const refused = (
    res: { status: number; body: Record<string, unknown> },
    status: number,
    code: string,
    what: string,
  ) => {
    expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(status)
    expect(res.body, what).toMatchObject({
      Code: code,
      error: expect.any(String),
      RequestId: expect.any(String),
    })
    for (const key of [
      'jwtContent',
      'entities',
      'credentialContent',
      'oauthAccessTokenContent',
      'authenticationTokenId',
    ])
      expect(res.body, what).not.toHaveProperty(key)
    const text = JSON.stringify(res.body)
    expect(text).not.toContain('canary-api-key')
    expect(text).not.toContain(ids.ownerJwt)
  }

  it('succeeds for the owner with the scope and the grant', async () => {
    for (const op of ops) {
      const res = await send(op, tokens.owner)
      expect(res.status, `${op.name}: ${JSON.stringify(res.body)}`).toBe(200)
    }
  })

  it('answers 401 to no token, an expired, a revoked or a wrong-audience token, and a token of another instance', async () => {
    for (const op of ops) {
      refused(await send(op, undefined), 401, 'InvalidToken', `${op.name} without a token`)
      refused(await send(op, tokens.revoked), 401, 'InvalidToken', `${op.name} with a revoked token`)
      refused(await send(op, tokens.wrongAudience), 401, 'InvalidToken', `${op.name} for another audience`)
      refused(
        await send(op, tokens.owner, ids.otherInstance),
        401,
        'InvalidToken',
        `${op.name} at another instance`,
      )
    }
    const saved = now
    now += 3_611_000
    try {
      for (const op of ops) refused(await send(op, tokens.owner), 401, 'InvalidToken', `${op.name} expired`)
    } finally {
      now = saved
    }
  })

  it('answers 403 InsufficientScope to a token without the operation’s scope, and PermissionDenied without a grant', async () => {
    for (const op of ops) {
      const narrow = op.name === 'ObtainCredential' ? tokens.narrowRead : tokens.narrowCredential
      refused(await send(op, narrow), 403, 'InsufficientScope', `${op.name} without its scope`)
      // Revoke and Reinstate name the owner's token: another application's token is not there
      // for the caller, grant or no grant (own tokens without a grant: authorization-gate.test.ts).
      const foreignToken = op.name === 'Revoke' || op.name === 'Reinstate'
      const [status, code] = foreignToken ? [404, 'AuthenticationTokenNotFound'] : [403, 'PermissionDenied']
      refused(await send(op, tokens.nobody), status, code, `${op.name} without a grant`)
    }
  })

  it('never shows or changes another application’s tokens, even to an application granted the same provider', async () => {
    const expected: Record<string, [number, string]> = {
      ObtainCredential: [403, 'PermissionDenied'],
      FetchOAuth: [403, 'PermissionDenied'],
      ObtainJwt: [403, 'PermissionDenied'],
      List: [403, 'PermissionDenied'],
      Revoke: [404, 'AuthenticationTokenNotFound'],
      Reinstate: [404, 'AuthenticationTokenNotFound'],
      RevokeByConsumer: [403, 'PermissionDenied'],
      ReinstateByConsumer: [403, 'PermissionDenied'],
    }
    for (const op of ops) {
      const want = expected[op.name]
      if (!want) continue // GenerateJwt: the stranger mints its own token from the shared provider
      refused(await send(op, tokens.stranger), want[0], want[1], `${op.name} by the stranger`)
    }
    // Naming itself as consumer does not reach the owner's token either.
    const obtainJwt = ops.find((o) => o.name === 'ObtainJwt')!
    refused(
      await send(obtainJwt, tokens.stranger, t.instanceId, { ...obtainJwt.fields, consumerId: ids.stranger }),
      404,
      'AuthenticationTokenNotFound',
      'ObtainJwt of the owner’s token as the stranger',
    )
    const list = ops.find((o) => o.name === 'List')!
    const own = await send(list, tokens.stranger, t.instanceId, { ...list.fields, consumerId: ids.stranger })
    expect(own.status).toBe(200)
    expect(own.body).toMatchObject({ entities: [], totalCount: 0 })
    // The owner's token is untouched by all of it.
    const validate = await send(
      { name: 'Validate', method: 'POST', path: `${T}/_/actions/validate`, fields: {} },
      undefined,
      t.instanceId,
      { token: ids.ownerJwt },
    )
    expect(validate.body).toEqual({ active: true })
  })

  it('answers the same whether or not a resource the caller may not see exists', async () => {
    const op = (name: string) => ops.find((o) => o.name === name)!
    const missingId = `${ids.tokenId.slice(0, -1)}${ids.tokenId.endsWith('0') ? '1' : '0'}`
    for (const id of [ids.tokenId, missingId]) {
      const what = id === missingId ? 'a token that does not exist' : 'the owner’s token'
      // A foreign consumerId is refused before anything is looked up.
      refused(
        await send(op('ObtainJwt'), tokens.nobody, t.instanceId, {
          consumerId: ids.owner,
          authenticationTokenId: id,
        }),
        403,
        'PermissionDenied',
        `ObtainJwt naming the owner as consumer, of ${what}`,
      )
      // Its own consumerId: another application's token is as absent as a missing one.
      refused(
        await send(op('ObtainJwt'), tokens.nobody, t.instanceId, {
          consumerId: ids.nobody,
          authenticationTokenId: id,
        }),
        404,
        'AuthenticationTokenNotFound',
        `ObtainJwt of ${what}`,
      )
    }
    for (const token of [ids.ownerJwt, `${ids.ownerJwt.slice(0, -4)}AAAA`]) {
      refused(
        await send(op('Revoke'), tokens.nobody, t.instanceId, { token }),
        404,
        'AuthenticationTokenNotFound',
        'Revoke',
      )
    }
    // An `atp_…` id is matched by the provider's identifier, never as an identifier itself: a
    // prefix grant `a` gets the same 403 for an existing provider's id and for a missing one.
    for (const ref of [ids.jwtProvider, `atp_${'0'.repeat(26)}`]) {
      refused(
        await send(op('GenerateJwt'), tokens.prefixed, t.instanceId, {
          ...op('GenerateJwt').fields,
          credentialProviderIdentifier: ref,
        }),
        403,
        'PermissionDenied',
        `GenerateJwt by provider id ${ref} under a prefix grant`,
      )
    }
  })

  it('keeps the unauthenticated operations inside their instance', async () => {
    const validate = {
      name: 'Validate',
      method: 'POST' as const,
      path: `${T}/_/actions/validate`,
      fields: { token: ids.ownerJwt },
    }
    expect((await send(validate, undefined, ids.otherInstance)).body).toEqual({ active: false })
    const byShort = {
      name: 'ByShort',
      method: 'POST' as const,
      path: `${T}/_/actions/obtainJwtByDerivedShortToken`,
      fields: { derivedShortToken: ids.ownerShort },
    }
    refused(
      await send(byShort, undefined, ids.otherInstance),
      404,
      'AuthenticationTokenNotFound',
      'short token at another instance',
    )
    refused(
      await send(validate, undefined, 'idaas_00000000000000000000000000'),
      404,
      'InstanceNotFound',
      'unknown instance',
    )
  })

  it('never answers 5xx to random values in any field of any operation (fast-check)', async () => {
    const table = [...credentialRoutes(t.services), ...authenticationTokenRoutes(t.services)]
    expect(table).toHaveLength(11)
    const anyJson = fc.jsonValue({ maxDepth: 3 })
    const names = [
      'credentialIdentifier',
      'credentialProviderIdentifier',
      'scope',
      'customParameters',
      'forceAuthentication',
      'subject',
      'audiences',
      'issuer',
      'customClaims',
      'expiration',
      'includeDerivedShortToken',
      'consumerId',
      'authenticationTokenId',
      'derivedShortToken',
      'token',
      'token_type_hint',
      'nextToken',
      'maxResults',
      'revoked',
      'expired',
    ]
    const plausible = fc.oneof(
      anyJson,
      fc.constantFrom(
        'jwt-a',
        'oauth-a',
        'cred-a',
        ids.owner,
        ids.ownerJwt,
        ids.ownerShort,
        'true',
        '-1',
        '1e9',
        '',
      ),
      fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string({ maxLength: 10 }), anyJson), {
        maxKeys: 4,
      }),
    )
    const fields = fc.dictionary(fc.constantFrom(...names), plausible, { maxKeys: 7 })
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...table), fields, fc.boolean(), async (route, body, withToken) => {
        const op: Operation = {
          name: route.operationId,
          method: route.method as 'GET' | 'POST',
          path: route.url.replace('/v2/:instanceId', ''),
          fields: body,
        }
        const res = await send(op, withToken ? tokens.owner : undefined)
        if (res.status >= 500)
          throw new Error(
            `${route.operationId} answered ${res.status}: ${JSON.stringify(res.body)} to ${JSON.stringify(body)}`,
          )
        expect(typeof res.body).toBe('object')
      }),
      { numRuns: 400 },
    )
  })
})
