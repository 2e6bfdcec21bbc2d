import { describe, expect, it } from 'vitest'
import { PamClient } from '../../src/client/pam-client.js'
import { BASE, clientWith, connectionReset, ENDPOINT, rejectionOf, tokenRecord } from './support.js'

const JWT = { ...tokenRecord(), jwtContent: { jwtValue: 'eyJ.jwt.sig', derivedShortToken: 'sk-short' } }
const OAUTH = {
  ...tokenRecord({ authenticationTokenType: 'oauth_access_token' }),
  oauthAccessTokenContent: { accessTokenValue: 'upstream-token', scope: 'read', tokenType: 'Bearer' },
}
const CREDENTIAL = {
  credentialId: 'cred_01',
  credentialIdentifier: 'demo/api-key',
  credentialName: 'Demo',
  credentialType: 'api_key',
  status: 'enabled',
  description: '',
  instanceId: 'idaas_test01',
  createTime: 1_700_000_000_000,
  updateTime: 1_700_000_000_000,
  credentialContent: { apiKeyContent: { apiKey: 'demo-secret-key' } },
}
const PAGE = { entities: [tokenRecord()], totalCount: 1, nextToken: null, maxResults: 20 }
const T = `${BASE}/authenticationTokens/_/actions`

interface Case {
  action: string
  call: (pam: PamClient) => Promise<unknown>
  method: 'GET' | 'POST'
  url: string
  json?: unknown
  bearer: boolean
  answer: unknown
}

const consumer = { consumerId: 'app_demo', credentialProviderIdentifier: 'demo-jwt' }
const cases: Case[] = [
  {
    action: 'ObtainCredential',
    call: (pam) => pam.getApiKey('demo/api-key'),
    method: 'GET',
    url: `${BASE}/credentials/_/actions/obtain?credentialIdentifier=demo%2Fapi-key`,
    bearer: true,
    answer: CREDENTIAL,
  },
  {
    action: 'FetchOAuthAuthenticationToken',
    call: (pam) =>
      pam.fetchOAuthAuthenticationToken({
        credentialProviderIdentifier: 'github',
        scope: 'read write',
        customParameters: { resource: 'https://api.example.com' },
        forceAuthentication: false,
      }),
    method: 'POST',
    url: `${T}/fetchOAuthAccessToken`,
    json: {
      credentialProviderIdentifier: 'github',
      scope: 'read write',
      customParameters: { resource: 'https://api.example.com' },
      forceAuthentication: false,
    },
    bearer: true,
    answer: OAUTH,
  },
  {
    action: 'GenerateJwtAuthenticationToken',
    call: (pam) =>
      pam.generateJwtAuthenticationToken({
        credentialProviderIdentifier: 'demo-jwt',
        subject: 'me',
        audiences: ['https://api.example.com'],
        issuer: 'https://issuer.example.com',
        customClaims: { purpose: 'test', n: 1 },
        expiration: 600,
        includeDerivedShortToken: true,
      }),
    method: 'POST',
    url: `${T}/generateJwt`,
    json: {
      credentialProviderIdentifier: 'demo-jwt',
      subject: 'me',
      audiences: ['https://api.example.com'],
      issuer: 'https://issuer.example.com',
      customClaims: { purpose: 'test', n: 1 },
      expiration: 600,
      includeDerivedShortToken: true,
    },
    bearer: true,
    answer: JWT,
  },
  {
    action: 'ObtainJwtAuthenticationToken',
    call: (pam) =>
      pam.obtainJwtAuthenticationToken({ consumerId: 'app_demo', authenticationTokenId: 'atntkn_01' }),
    method: 'POST',
    url: `${T}/obtainJwt`,
    json: { consumerId: 'app_demo', authenticationTokenId: 'atntkn_01' },
    bearer: true,
    answer: JWT,
  },
  {
    action: 'ObtainJwtAuthenticationTokenByDerivedShortToken',
    call: (pam) => pam.obtainJwtAuthenticationTokenByDerivedShortToken('sk-short'),
    method: 'POST',
    url: `${T}/obtainJwtByDerivedShortToken`,
    json: { derivedShortToken: 'sk-short' },
    bearer: true,
    answer: JWT,
  },
  {
    action: 'ListAuthenticationTokens',
    call: (pam) =>
      pam.listAuthenticationTokens({
        ...consumer,
        nextToken: 'n1',
        maxResults: 50,
        revoked: false,
        expired: true,
      }),
    method: 'GET',
    url: `${BASE}/authenticationTokens?consumerId=app_demo&credentialProviderIdentifier=demo-jwt&nextToken=n1&maxResults=50&revoked=false&expired=true`,
    bearer: true,
    answer: PAGE,
  },
  {
    action: 'ValidateAuthenticationToken',
    call: (pam) => pam.validateAuthenticationToken('eyJ.jwt.sig'),
    method: 'POST',
    url: `${T}/validate`,
    json: { token: 'eyJ.jwt.sig' },
    bearer: true,
    answer: { active: true },
  },
  {
    action: 'RevokeAuthenticationToken',
    call: (pam) => pam.revokeAuthenticationToken('eyJ.jwt.sig', { tokenTypeHint: 'jwt' }),
    method: 'POST',
    url: `${T}/revoke`,
    json: { token: 'eyJ.jwt.sig', token_type_hint: 'jwt' },
    bearer: true,
    answer: {},
  },
  {
    action: 'RevokeAuthenticationTokenByConsumer',
    call: (pam) => pam.revokeAuthenticationTokenByConsumer(consumer),
    method: 'POST',
    url: `${T}/revokeByConsumer`,
    json: consumer,
    bearer: true,
    answer: {},
  },
  {
    action: 'ReinstateAuthenticationToken',
    call: (pam) => pam.reinstateAuthenticationToken('sk-short'),
    method: 'POST',
    url: `${T}/reinstate`,
    json: { token: 'sk-short' },
    bearer: true,
    answer: {},
  },
  {
    action: 'ReinstateAuthenticationTokenByConsumer',
    call: (pam) => pam.reinstateAuthenticationTokenByConsumer(consumer),
    method: 'POST',
    url: `${T}/reinstateByConsumer`,
    json: consumer,
    bearer: true,
    answer: {},
  },
]

describe('PamClient requests', () => {
  it.each(cases)('$action: method, path, x-acs headers, Bearer or none, JSON body', async (c) => {
    const { client, fake } = clientWith(() => Response.json(c.answer))
    await c.call(client)
    expect(fake.requests).toHaveLength(1)
    const [request] = fake.requests
    expect(request!.method).toBe(c.method)
    expect(request!.url.href).toBe(c.url)
    expect(request!.headers.get('x-acs-version')).toBe('2022-02-25')
    expect(request!.headers.get('x-acs-action')).toBe(c.action)
    expect(request!.headers.get('accept')).toBe('application/json')
    expect(request!.headers.get('authorization')).toBe(c.bearer ? 'Bearer access-1' : null)
    if (c.method === 'POST') {
      expect(request!.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(request!.json).toEqual(c.json)
    } else {
      expect(request!.json).toBeUndefined()
    }
    await client.close()
  })

  it('covers all eleven operations', () => {
    expect(new Set(cases.map((c) => c.action)).size).toBe(11)
  })

  it('sends {} for a POST whose optional fields are unset, and leaves unset query fields out', async () => {
    const { client, fake } = clientWith((request) => Response.json(request.method === 'GET' ? PAGE : OAUTH))
    await client.fetchOAuthAuthenticationToken({ credentialProviderIdentifier: 'p' })
    await client.listAuthenticationTokens({
      consumerId: 'c',
      credentialProviderIdentifier: 'p',
      nextToken: null,
    })
    expect(fake.requests[0]!.json).toEqual({ credentialProviderIdentifier: 'p' })
    expect(fake.requests[1]!.url.search).toBe('?consumerId=c&credentialProviderIdentifier=p')
    await client.close()
  })

  it('percent-encodes the instance id and keeps a path prefix of the endpoint', async () => {
    const { client, fake } = clientWith(() => Response.json({ active: false }), {
      instanceId: 'idaas/ä b?',
      endpoint: `${ENDPOINT}/prefix/`,
    })
    await client.validateAuthenticationToken('x')
    expect(fake.requests[0]!.url.pathname).toBe(
      '/prefix/v2/idaas%2F%C3%A4%20b%3F/authenticationTokens/_/actions/validate',
    )
    await client.close()
  })

  it('assumes https:// for an endpoint written without a scheme, as the official SDKs do', async () => {
    const { client, fake } = clientWith(() => Response.json({ active: true }), {
      endpoint: 'pam.example.test',
    })
    expect(client.endpoint).toBe('https://pam.example.test')
    await client.validateAuthenticationToken('x')
    expect(fake.requests[0]!.url.origin).toBe('https://pam.example.test')
    await client.close()
  })

  it('refuses bad options with a coded TypeError', () => {
    const provider = {
      name: 'p',
      cacheable: true,
      getToken: async () => ({ accessToken: 'a', expiresAt: 1 }),
    }
    expect(() => new PamClient({ credentials: provider, instanceId: '', endpoint: ENDPOINT })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }),
    )
    expect(() => clientWith(() => new Response(), { endpoint: 'ftp://pam.example.test' })).toThrow(
      /endpoint must be an http or https URL/,
    )
  })

  it('retries the reads and revoke/reinstate after a connection reset, never GenerateJwt', async () => {
    const reads: Array<(pam: PamClient) => Promise<unknown>> = [
      (pam) => pam.getApiKey('demo/api-key'),
      (pam) => pam.obtainJwtAuthenticationToken({ consumerId: 'c', authenticationTokenId: 'a' }),
      (pam) => pam.obtainJwtAuthenticationTokenByDerivedShortToken('sk-x'),
      (pam) => pam.listAuthenticationTokens(consumer),
      (pam) => pam.validateAuthenticationToken('t'),
      (pam) => pam.revokeAuthenticationToken('t'),
      (pam) => pam.fetchOAuthAuthenticationToken({ credentialProviderIdentifier: 'p' }),
    ]
    for (const read of reads) {
      const { client, fake } = clientWith((request, index) => {
        if (index === 0) throw connectionReset()
        if (request.url.pathname.endsWith('/obtain')) return Response.json(CREDENTIAL)
        if (request.method === 'GET') return Response.json(PAGE)
        if (request.url.pathname.endsWith('/validate')) return Response.json({ active: true })
        if (request.url.pathname.endsWith('/revoke')) return Response.json({})
        if (request.url.pathname.endsWith('/fetchOAuthAccessToken')) return Response.json(OAUTH)
        return Response.json(JWT)
      })
      await read(client)
      expect(fake.requests).toHaveLength(2)
      await client.close()
    }

    const writes: Array<(pam: PamClient) => Promise<unknown>> = [
      (pam) =>
        pam.generateJwtAuthenticationToken({
          credentialProviderIdentifier: 'p',
          subject: 's',
          audiences: ['a'],
        }),
      (pam) =>
        pam.fetchOAuthAuthenticationToken({ credentialProviderIdentifier: 'p', forceAuthentication: true }),
    ]
    for (const write of writes) {
      const { client, fake } = clientWith(() => {
        throw connectionReset()
      })
      expect(await rejectionOf(write(client))).toMatchObject({ code: 'ERR_PAM_CONNECTION' })
      expect(fake.requests).toHaveLength(1)
      await client.close()
    }
  })

  it('cancels a call with its AbortSignal', async () => {
    const { client } = clientWith(
      (_request) => new Promise<Response>(() => {}), // never answers
    )
    const controller = new AbortController()
    const pending = client.validateAuthenticationToken('x', { signal: controller.signal })
    controller.abort(new Error('caller gave up'))
    await expect(pending).rejects.toThrow('caller gave up')
    await expect(
      client.getApiKey('demo/api-key', { signal: AbortSignal.abort(new Error('already')) }),
    ).rejects.toThrow('already')
    await client.close()
  })
})
