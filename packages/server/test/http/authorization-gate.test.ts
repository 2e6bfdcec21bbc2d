// Every workload route of the route table, asked by a token lacking the scope and by an application
// lacking the grant: each refusal answers the documented code and writes exactly one audit event,
// with the same field names whatever the slice (one rule, `services/grants/authorize.ts`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { accountRoutes } from '../../src/http/routes/account-routes.js'
import { authenticationTokenRoutes } from '../../src/http/routes/authentication-token-routes.js'
import { boundTokenRoutes } from '../../src/http/routes/bound-token-routes.js'
import { cloudAccountRoleRoutes } from '../../src/http/routes/cloud-account-routes.js'
import { credentialRoutes } from '../../src/http/routes/credential-routes.js'
import { providerRoutes } from '../../src/http/routes/provider-routes.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import { createWorkload, PAM, type TestWorkload } from './accounts-fixtures.js'

const GATE_ROLE = 'arn:aws:iam::123456789012:role/gate'

interface Ask {
  method: 'GET' | 'POST'
  path: string
  body?: unknown
}

interface Fixture {
  provider: string
  /** A JWT that the granted application generated: what the token operations act on. */
  jwt: { id: string; value: string }
  /** A JWT the ungranted application generated before its grant was deleted. */
  ungrantedJwt: { id: string; value: string }
  granted: TestWorkload
  ungranted: TestWorkload
}

/** The asking application's own JWT: the token operations act only on the caller's tokens. */
const jwtOf = (f: Fixture, consumer: string) =>
  consumer === f.ungranted.applicationId ? f.ungrantedJwt : f.jwt

/** The scope each operation needs, and a request naming a resource that exists. */
const GATED: Record<string, { scope: string; ask: (f: Fixture, consumer: string) => Ask }> = {
  ObtainCloudAccountRoleAccessCredential: {
    scope: 'cloud_account_role:obtain_access_credential',
    ask: () => ({
      method: 'GET',
      path: `/cloudAccountRoles/_/actions/obtainAccessCredential?cloudAccountRoleExternalId=${encodeURIComponent(GATE_ROLE)}`,
    }),
  },
  ObtainCredential: {
    scope: 'credential:obtain',
    ask: () => ({ method: 'GET', path: '/credentials/_/actions/obtain?credentialIdentifier=gate/key' }),
  },
  FetchOAuthAuthenticationToken: {
    scope: 'authentication_token:obtain',
    ask: () => ({
      method: 'POST',
      path: '/authenticationTokens/_/actions/fetchOAuthAccessToken',
      body: { credentialProviderIdentifier: 'gate-oauth' },
    }),
  },
  GenerateJwtAuthenticationToken: {
    scope: 'authentication_token:obtain',
    ask: (f) => ({
      method: 'POST',
      path: '/authenticationTokens/_/actions/generateJwt',
      body: {
        credentialProviderIdentifier: f.provider,
        subject: 's',
        audiences: ['https://api.example.com'],
      },
    }),
  },
  ObtainJwtAuthenticationToken: {
    scope: 'authentication_token:obtain',
    ask: (f, consumer) => ({
      method: 'POST',
      path: '/authenticationTokens/_/actions/obtainJwt',
      body: { consumerId: consumer, authenticationTokenId: jwtOf(f, consumer).id },
    }),
  },
  ListAuthenticationTokens: {
    scope: 'authentication_token:read',
    ask: (f, consumer) => ({
      method: 'GET',
      path: `/authenticationTokens?consumerId=${consumer}&credentialProviderIdentifier=${f.provider}`,
    }),
  },
  RevokeAuthenticationToken: {
    scope: 'authentication_token:manage',
    ask: (f, consumer) => ({
      method: 'POST',
      path: '/authenticationTokens/_/actions/revoke',
      body: { token: jwtOf(f, consumer).value },
    }),
  },
  ReinstateAuthenticationToken: {
    scope: 'authentication_token:manage',
    ask: (f, consumer) => ({
      method: 'POST',
      path: '/authenticationTokens/_/actions/reinstate',
      body: { token: jwtOf(f, consumer).value },
    }),
  },
  RevokeAuthenticationTokenByConsumer: {
    scope: 'authentication_token:manage',
    ask: (f, consumer) => ({
      method: 'POST',
      path: '/authenticationTokens/_/actions/revokeByConsumer',
      body: { consumerId: consumer, credentialProviderIdentifier: f.provider },
    }),
  },
  ReinstateAuthenticationTokenByConsumer: {
    scope: 'authentication_token:manage',
    ask: (f, consumer) => ({
      method: 'POST',
      path: '/authenticationTokens/_/actions/reinstateByConsumer',
      body: { consumerId: consumer, credentialProviderIdentifier: f.provider },
    }),
  },
  ObtainAccountPassword: {
    scope: 'account:obtain',
    ask: () => ({
      method: 'POST',
      path: '/accounts/_/actions/obtainPassword',
      body: { accountName: 'gate-db/admin' },
    }),
  },
  ObtainAccountSshKey: {
    scope: 'account:obtain',
    ask: () => ({
      method: 'POST',
      path: '/accounts/_/actions/obtainSshKey',
      body: { accountName: 'gate-db/admin' },
    }),
  },
}

/** Listing what one may see: without a grant the answer is an empty page, not a refusal. */
const LISTS: Record<string, { scope: string; ask: Ask }> = {
  ListAccounts: { scope: 'account:read', ask: { method: 'GET', path: '/accounts' } },
}

/**
 * Routes that name no resource: they narrow the caller's own token (a scope it already holds,
 * bound to a key), so there is no grant to lack; what the narrowed token may reach is decided by
 * the gate when it is used.
 */
const NARROWING = new Set(['IssueScopedToken', 'IssueSessionToken'])

describe.each(ENGINES)('the one authorization gate (%s)', (engine) => {
  let t: TestServer
  let f: Fixture
  let noScope: string
  let noCloudScope: string
  beforeAll(async () => {
    t = await openTestServer(engine, { app: { authFailures: { burst: 100_000, refillPerSecond: 1 } } })
    const i = `/admin/v1/instances/${t.instanceId}`
    const created = async (url: string, body: unknown) => {
      const res = await call(t, 'POST', `${i}${url}`, body)
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      return res.body
    }
    await created('/credentials', {
      credentialIdentifier: 'gate/key',
      credentialType: 'api_key',
      value: { apiKey: 'gate-value' },
    })
    await created('/credential-providers', {
      credentialProviderIdentifier: 'gate-jwt',
      credentialProviderType: 'jwt',
      jwt: { maxExpiration: 600 },
    })
    await created('/credential-providers', {
      credentialProviderIdentifier: 'gate-oauth',
      credentialProviderType: 'oauth',
      oauth: { tokenEndpoint: 'https://upstream.example.com/token', clientId: 'c', clientSecret: 's' },
    })
    await created('/accounts', { accountName: 'gate-db/admin', password: 'gate-password' })
    await created('/cloudAccounts', {
      name: 'gate-aws',
      vendorType: 'aws',
      vendorAccountId: '123456789012',
      accessKeyId: 'AKIAGATEGATEGATE',
      accessKeySecret: 'gate-secret-gate-secret',
    })
    await created('/cloudAccounts/gate-aws/roles', { roleExternalId: GATE_ROLE })
    const granted = await createWorkload(t, 'granted')
    const ungranted = await createWorkload(t, 'ungranted')
    for (const [resourceType, resource, actions] of [
      ['credential', 'gate/key', ['obtain']],
      ['credential_provider', 'gate-jwt', ['use', 'read', 'manage']],
      ['credential_provider', 'gate-oauth', ['use', 'read', 'manage']],
      ['account', 'gate-db/admin', ['obtain', 'read']],
      ['cloud_account_role', GATE_ROLE, ['obtain']],
    ] as const) {
      await created('/grants', { applicationId: granted.applicationId, resourceType, resource, actions })
    }
    const generate = async (app: TestWorkload) => {
      const generated = await t.app.inject({
        method: 'POST',
        url: `/v2/${t.instanceId}/authenticationTokens/_/actions/generateJwt`,
        headers: { authorization: `Bearer ${await app.token()}`, 'content-type': 'application/json' },
        payload: JSON.stringify({
          credentialProviderIdentifier: 'gate-jwt',
          subject: 's',
          audiences: ['https://api.example.com'],
        }),
      })
      expect(generated.statusCode, generated.body).toBe(200)
      const jwt = generated.json()
      return { id: jwt.authenticationTokenId as string, value: jwt.jwtContent.jwtValue as string }
    }
    // The ungranted application's own token, minted while it held a grant since deleted: a token
    // of another application is a 404 whatever the grants (it is not there for the caller).
    const temporary = await created('/grants', {
      applicationId: ungranted.applicationId,
      resourceType: 'credential_provider',
      resource: 'gate-jwt',
      actions: ['use'],
    })
    const ownJwt = await generate(ungranted)
    expect((await call(t, 'DELETE', `${i}/grants/${temporary.grantId}`)).status).toBe(204)
    f = { provider: 'gate-jwt', jwt: await generate(granted), ungrantedJwt: ownJwt, granted, ungranted }
    // Tokens of the granted application carrying a PAM scope the operation asked does not need.
    noScope = await granted.token(`${PAM}|cloud_account_role:obtain_access_credential`)
    noCloudScope = await granted.token(`${PAM}|credential:obtain`)
  })
  afterAll(async () => t?.close())

  const events = () =>
    t.services.store.db
      .selectFrom('audit_events')
      .select(['seq', 'action', 'outcome', 'actor_type', 'details'])
      .where('instance_id', '=', t.instanceId)
      .orderBy('seq')
      .execute()

  const ask = async (request: Ask, token: string) => {
    const before = (await events()).length
    const res = await t.app.inject({
      method: request.method,
      url: `/v2/${t.instanceId}${request.path}`,
      headers: {
        authorization: `Bearer ${token}`,
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(request.body === undefined ? {} : { payload: JSON.stringify(request.body) }),
    })
    const written = (await events()).slice(before)
    return { status: res.statusCode, body: res.json(), written }
  }

  const expectOneRefusalEvent = (
    written: Awaited<ReturnType<typeof events>>,
    why: string,
    code: string,
  ): void => {
    expect(written).toHaveLength(1)
    const [event] = written
    expect(event).toMatchObject({ outcome: 'denied', actor_type: 'application' })
    const details = JSON.parse(event!.details) as Record<string, unknown>
    expect(details).toMatchObject({ why, code, accessTokenId: expect.any(String) })
  }

  it('covers every workload route of the route table', () => {
    const s = t.services
    const workloadRoutes = [
      ...credentialRoutes(s),
      ...authenticationTokenRoutes(s),
      ...providerRoutes(s),
      ...accountRoutes(s),
      ...boundTokenRoutes(s),
      ...cloudAccountRoleRoutes(s),
    ]
      .filter((r) => r.auth === 'workload')
      .map((r) => r.operationId)
    const known = new Set([...Object.keys(GATED), ...Object.keys(LISTS), ...NARROWING])
    expect(workloadRoutes.filter((id) => !known.has(id))).toEqual([])
    expect(workloadRoutes.length).toBe(known.size)
  })

  it.each(Object.entries(GATED))(
    '%s: a token without its scope is 403 InsufficientScope, audited once',
    async (_, op) => {
      const consumer = f.granted.applicationId
      const lacking = op.scope === 'cloud_account_role:obtain_access_credential' ? noCloudScope : noScope
      const refused = await ask(op.ask(f, consumer), lacking)
      expect(refused.status).toBe(403)
      expect(refused.body.Code).toBe('InsufficientScope')
      expectOneRefusalEvent(refused.written, 'insufficient_scope', 'InsufficientScope')
    },
  )

  it.each(Object.entries(GATED))(
    '%s: an application without the grant is 403 PermissionDenied, audited once',
    async (_, op) => {
      const consumer = f.ungranted.applicationId
      const refused = await ask(op.ask(f, consumer), await f.ungranted.token())
      expect(refused.status).toBe(403)
      expect(refused.body.Code).toBe('PermissionDenied')
      expectOneRefusalEvent(refused.written, 'no_grant', 'PermissionDenied')
    },
  )

  it.each(Object.entries(LISTS))(
    '%s: without its scope 403 audited once; without a grant an empty page',
    async (_, op) => {
      const refused = await ask(op.ask, noScope)
      expect(refused.status).toBe(403)
      expectOneRefusalEvent(refused.written, 'insufficient_scope', 'InsufficientScope')
      const empty = await ask(op.ask, await f.ungranted.token())
      expect(empty.status).toBe(200)
      expect(empty.body.entities).toEqual([])
      expect(empty.written).toHaveLength(1)
    },
  )
})
