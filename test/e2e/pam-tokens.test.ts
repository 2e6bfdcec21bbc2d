import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { cli, ok, okJson, PAM_AUDIT_ACTIONS } from './cli.js'

const PAM = 'urn:cloud:idaas:pam'
const TOKEN_KEYS = [
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
  'revoked',
  'updateTime',
]

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  // biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field
  body: any
  text: string
}

/**
 * A call the way the official darabonba client makes it: its x-acs-* headers, a JSON body sent
 * chunked without Content-Length (`{}` when no field is set), GET fields in the query string.
 */
function official(
  base: string,
  action: string,
  method: 'GET' | 'POST',
  path: string,
  fields: Record<string, unknown>,
  bearer?: string,
): Promise<Answer> {
  const query =
    method === 'GET'
      ? `?${new URLSearchParams(Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)]))}`
      : ''
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}${query}`,
      {
        method,
        headers: {
          'x-acs-version': '2022-02-25',
          'x-acs-action': action,
          'x-acs-signature-nonce': `nonce-${Math.random()}`,
          'x-acs-signature-method': 'HMAC-SHA1',
          'x-acs-signature-version': '1.0',
          date: new Date().toUTCString(),
          accept: 'application/json',
          'user-agent': 'AlibabaCloud (linux; x64) Node.js/v20 Core/1.0.1 TeaDSL/1',
          ...(method === 'POST' ? { 'content-type': 'application/json; charset=utf-8' } : {}),
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text ? JSON.parse(text) : null,
            text,
          })
        })
      },
    )
    req.on('error', reject)
    if (method === 'POST') {
      // Two writes and no Content-Length: Node sends Transfer-Encoding: chunked.
      const json = JSON.stringify(fields)
      req.write(json.slice(0, 1))
      req.write(json.slice(1))
    }
    req.end()
  })
}

function expectToken(body: Record<string, unknown>, extra: string[]) {
  expect(Object.keys(body).sort()).toEqual([...TOKEN_KEYS, ...extra].sort())
  for (const key of ['createTime', 'updateTime', 'expirationTime']) {
    expect(Number.isInteger(body[key]) && (body[key] as number) > 1e12, key).toBe(true) // epoch milliseconds
  }
  expect(typeof body.revoked).toBe('boolean')
}

function expectError(answer: Answer, status: number, code: string) {
  expect(answer.status, answer.text).toBe(status)
  expect(answer.body).toMatchObject({
    Code: code,
    Message: expect.any(String),
    RequestId: expect.any(String),
    error: expect.any(String),
    error_description: expect.any(String),
    request_id: expect.any(String),
  })
}

describe('the PAM developer API over HTTP, as the official clients call it', () => {
  let server: ServerProcess
  let base: string
  let demo: { clientId: string; secret: string }
  const token = async (clientId: string, secret: string, scope = `${PAM}|.all`) => {
    const res = await fetch(`${base}/authorizationServer/iauths_system/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: secret,
        scope,
      }),
    })
    expect(res.status).toBe(200)
    return ((await res.json()) as { access_token: string }).access_token
  }

  beforeAll(async () => {
    server = await startServer()
    const config = JSON.parse(await readFile(join(server.dataDir, 'client-config.json'), 'utf8'))
    demo = {
      clientId: config.clientId,
      secret: (await readFile(join(server.dataDir, 'client-secret'), 'utf8')).trim(),
    }
    base = `${server.url}/v2/${config.idaasInstanceId}`
  })
  afterAll(async () => server?.stop())

  it('answers all eleven operations in the contract’s shape, with the demo that npm start creates', async () => {
    const at = await token(demo.clientId, demo.secret)
    const T = '/authenticationTokens'

    const credential = await official(
      base,
      'ObtainCredential',
      'GET',
      '/credentials/_/actions/obtain',
      {
        credentialIdentifier: 'demo/api-key',
      },
      at,
    )
    expect(credential.status, credential.text).toBe(200)
    expect(credential.body.credentialContent.apiKeyContent.apiKey).toMatch(/^demo-[0-9a-f]{32}$/)

    const generated = await official(
      base,
      'GenerateJwtAuthenticationToken',
      'POST',
      `${T}/_/actions/generateJwt`,
      {
        credentialProviderIdentifier: 'demo-jwt',
        subject: 'e2e',
        audiences: ['https://api.example.com'],
        customClaims: { purpose: 'e2e' },
        expiration: 600,
        includeDerivedShortToken: true,
      },
      at,
    )
    expect(generated.status, generated.text).toBe(200)
    expectToken(generated.body, ['jwtContent'])
    expect(Object.keys(generated.body.jwtContent).sort()).toEqual(['derivedShortToken', 'jwtValue'])
    // The JWT's exp is in whole seconds; expirationTime is that instant in milliseconds.
    expect(generated.body.expirationTime).toBe(Math.floor(generated.body.createTime / 1000) * 1000 + 600_000)
    const { jwtValue: jwt, derivedShortToken: short } = generated.body.jwtContent
    const id = generated.body.authenticationTokenId
    const consumerId = generated.body.consumerId

    const obtained = await official(
      base,
      'ObtainJwtAuthenticationToken',
      'POST',
      `${T}/_/actions/obtainJwt`,
      {
        consumerId,
        authenticationTokenId: id,
      },
      at,
    )
    expect(obtained.status, obtained.text).toBe(200)
    expectToken(obtained.body, ['jwtContent'])
    expect(obtained.body.jwtContent).toEqual({ jwtValue: jwt })

    const byShort = await official(
      base,
      'ObtainJwtAuthenticationTokenByDerivedShortToken',
      'POST',
      `${T}/_/actions/obtainJwtByDerivedShortToken`,
      { derivedShortToken: short },
    )
    expect(byShort.status, byShort.text).toBe(200)
    expectToken(byShort.body, ['jwtContent'])
    expect(byShort.body.jwtContent).toEqual({ jwtValue: jwt, derivedShortToken: short })

    const list = await official(
      base,
      'ListAuthenticationTokens',
      'GET',
      T,
      {
        consumerId,
        credentialProviderIdentifier: 'demo-jwt',
        maxResults: 10,
        revoked: false,
        expired: false,
      },
      at,
    )
    expect(list.status, list.text).toBe(200)
    expect(Object.keys(list.body).sort()).toEqual(['entities', 'maxResults', 'nextToken', 'totalCount'])
    expect(list.body).toMatchObject({ totalCount: 1, maxResults: 10, nextToken: null })
    expectToken(list.body.entities[0], [])

    const validate = (value: string) =>
      official(base, 'ValidateAuthenticationToken', 'POST', `${T}/_/actions/validate`, { token: value })
    const v = await validate(jwt)
    expect(v.status).toBe(200)
    expect(v.body).toEqual({ active: true })

    const empty = async (answer: Promise<Answer>) => {
      const a = await answer
      expect(a.status, a.text).toBe(200)
      expect(a.body).toEqual({})
    }
    await empty(
      official(base, 'RevokeAuthenticationToken', 'POST', `${T}/_/actions/revoke`, { token: jwt }, at),
    )
    expect((await validate(short)).body).toEqual({ active: false })
    await empty(
      official(
        base,
        'ReinstateAuthenticationToken',
        'POST',
        `${T}/_/actions/reinstate`,
        { token: short },
        at,
      ),
    )
    expect((await validate(jwt)).body).toEqual({ active: true })
    const consumerBody = { consumerId, credentialProviderIdentifier: 'demo-jwt' }
    await empty(
      official(
        base,
        'RevokeAuthenticationTokenByConsumer',
        'POST',
        `${T}/_/actions/revokeByConsumer`,
        consumerBody,
        at,
      ),
    )
    expect((await validate(jwt)).body).toEqual({ active: false })
    await empty(
      official(
        base,
        'ReinstateAuthenticationTokenByConsumer',
        'POST',
        `${T}/_/actions/reinstateByConsumer`,
        consumerBody,
        at,
      ),
    )
    expect((await validate(jwt)).body).toEqual({ active: true })

    // `{}` is what the official client sends when no field is set: each required field is named.
    const missing = await official(
      base,
      'GenerateJwtAuthenticationToken',
      'POST',
      `${T}/_/actions/generateJwt`,
      {},
      at,
    )
    expectError(missing, 400, 'InvalidParameter')
    expect(missing.body.field).toBeDefined()
    // No token on an operation that needs one: 401 with the Bearer challenge.
    const noToken = await official(base, 'ListAuthenticationTokens', 'GET', T, consumerBody)
    expectError(noToken, 401, 'InvalidToken')
    expect(noToken.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/)
    expectError(
      await official(
        base,
        'ObtainJwtAuthenticationTokenByDerivedShortToken',
        'POST',
        `${T}/_/actions/obtainJwtByDerivedShortToken`,
        {
          derivedShortToken: 'sk-unknown',
        },
      ),
      404,
      'AuthenticationTokenNotFound',
    )

    // The administrator's view of the same tokens, and incident response through the CLI.
    const listed = await okJson<{ authenticationTokenId: string }[]>(server, [
      'provider',
      'tokens',
      'demo-jwt',
    ])
    expect(listed.map((t) => t.authenticationTokenId)).toContain(id)
    expect(JSON.stringify(listed)).not.toContain(jwt)
    expect(await ok(server, ['provider', 'revoke-tokens', 'demo-jwt', '--consumer', consumerId])).toBe(
      '1 token(s) revoked\n',
    )
    expect((await validate(jwt)).body).toEqual({ active: false })
    expect(await okJson(server, ['provider', 'reinstate-tokens', 'demo-jwt', '--token', id])).toEqual({
      changed: 1,
    })
    expect((await validate(short)).body).toEqual({ active: true })
    const unsure = await cli(server, ['provider', 'revoke-tokens', 'demo-jwt'])
    expect(unsure.code).toBe(2)
    expect(unsure.stderr).toContain('exactly one of --consumer, --token and --all')

    const events = await okJson<{ action: string; outcome: string; details: Record<string, unknown> }[]>(
      server,
      ['audit', 'query', '--limit', '200'],
    )
    const actions = new Set(events.map((e) => e.action))
    for (const action of PAM_AUDIT_ACTIONS) {
      expect(actions, action).toContain(action)
    }
    const text = JSON.stringify(events)
    expect(text).not.toContain(jwt)
    expect(text).not.toContain(short)
    expect(text).not.toContain(credential.body.credentialContent.apiKeyContent.apiKey)
    expect(server.logs()).not.toContain(jwt.split('.')[2])
    expect(server.logs()).not.toContain(short)
  })

  it('FetchOAuthAuthenticationToken against a second application of the same server: 100 concurrent calls, one upstream request', async () => {
    const upstream = await okJson(server, [
      'app',
      'create',
      '--name',
      'upstream-api',
      '--scope',
      `${PAM}|credential:obtain`,
    ])
    const upstreamSecret = (await okJson(server, ['app', 'secret', 'create', upstream.applicationId]))
      .clientSecret as string
    const admin = { authorization: `Bearer ${await server.adminToken()}`, 'content-type': 'application/json' }
    const created = await fetch(
      `${server.url}/admin/v1/instances/${upstream.instanceId}/credential-providers`,
      {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({
          credentialProviderIdentifier: 'upstream-api',
          credentialProviderType: 'oauth',
          oauth: {
            tokenEndpoint: `${base}/authorizationServer/iauths_system/oauth2/token`,
            clientId: upstream.clientId,
            clientSecret: upstreamSecret,
            defaultScope: `${PAM}|credential:obtain`,
          },
        }),
      },
    )
    expect(created.status).toBe(201)
    expect(await created.text()).not.toContain(upstreamSecret)
    await ok(server, [
      'grant',
      'create',
      '--app',
      demo.clientId,
      '--type',
      'credential_provider',
      '--resource',
      'upstream-api',
      '--actions',
      'use',
    ])
    const at = await token(demo.clientId, demo.secret)
    const fetchToken = () =>
      official(
        base,
        'FetchOAuthAuthenticationToken',
        'POST',
        '/authenticationTokens/_/actions/fetchOAuthAccessToken',
        {
          credentialProviderIdentifier: 'upstream-api',
        },
        at,
      )

    const answers = await Promise.all(Array.from({ length: 100 }, fetchToken))
    for (const a of answers) expect(a.status, a.text).toBe(200)
    expectToken(answers[0]!.body, ['oauthAccessTokenContent'])
    expect(Object.keys(answers[0]!.body.oauthAccessTokenContent).sort()).toEqual([
      'accessTokenValue',
      'scope',
      'tokenType',
    ])
    expect(new Set(answers.map((a) => a.body.oauthAccessTokenContent.accessTokenValue)).size).toBe(1)
    expect(answers[0]!.body.authenticationTokenType).toBe('oauth_access_token')
    // Counted at the upstream: the tokens its token endpoint issued to the upstream application.
    const issued = await okJson<{ outcome: string; resourceId: string | null }[]>(server, [
      'audit',
      'query',
      '--action',
      'oauth.token',
      '--limit',
      '500',
    ])
    expect(
      issued.filter((e) => e.outcome === 'success' && e.resourceId === upstream.applicationId),
    ).toHaveLength(1)
    // The upstream token is one the upstream's own introspection accepts.
    const introspected = await fetch(`${base}/authorizationServer/iauths_system/oauth2/introspect`, {
      method: 'POST',
      body: new URLSearchParams({
        token: answers[0]!.body.oauthAccessTokenContent.accessTokenValue,
        client_id: upstream.clientId,
        client_secret: upstreamSecret,
      }),
    })
    expect(((await introspected.json()) as { active: boolean }).active).toBe(true)
    expect(server.logs()).not.toContain(upstreamSecret)
  })
})
