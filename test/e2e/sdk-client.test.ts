// The SDK's PamClient against the real server: all eleven operations of the developer API, the
// upstream OAuth fetch, and the token cache seen from the server (one token request for 1,000
// concurrent calls on a cold client). The SDK is imported from its sources so this test does not
// wait for the package's index to export it.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PamClient } from '../../packages/sdk/src/client/pam-client.js'
import { fromClientSecret } from '../../packages/sdk/src/credentials/from-client-secret.js'
import { tokenEndpointCall } from '../../packages/sdk/src/credentials/token-endpoint-call.js'
import { NotFoundError, PermissionError } from '../../packages/sdk/src/errors.js'
import { createHttpClient } from '../../packages/sdk/src/http/http-client.js'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { ok, okJson, PAM_AUDIT_ACTIONS } from './cli.js'

const PAM = 'urn:cloud:idaas:pam'

interface DemoConfig {
  idaasInstanceId: string
  clientId: string
  tokenEndpoint: string
  developerApiEndpoint: string
}

describe('PamClient against the real server', () => {
  let server: ServerProcess
  let config: DemoConfig
  let secret: string

  /** A client of the demo application, on an HTTP client of its own (closed with it). */
  const demoClient = (): PamClient => {
    const http = createHttpClient()
    const credentials = fromClientSecret({
      clientId: config.clientId,
      tokenEndpoint: config.tokenEndpoint,
      clientSecret: secret,
      call: tokenEndpointCall(http, config.tokenEndpoint),
    })
    return new PamClient({
      credentials,
      instanceId: config.idaasInstanceId,
      endpoint: config.developerApiEndpoint,
      http,
    })
  }

  /** Successful `oauth.token` audit events of the demo application: the tokens it was issued. */
  const demoTokensIssued = async (): Promise<number> => {
    const events = await okJson<{ outcome: string; resourceId: string | null }[]>(server, [
      'audit',
      'query',
      '--action',
      'oauth.token',
      '--limit',
      '10000',
    ])
    return events.filter((e) => e.outcome === 'success' && e.resourceId === config.clientId).length
  }

  beforeAll(async () => {
    server = await startServer()
    config = JSON.parse(await readFile(join(server.dataDir, 'client-config.json'), 'utf8'))
    secret = (await readFile(join(server.dataDir, 'client-secret'), 'utf8')).trim()
  })
  afterAll(async () => server?.stop())

  it('runs all eleven operations with the demo application', async () => {
    await using pam = demoClient()

    const apiKey = await pam.getApiKey('demo/api-key')
    expect(apiKey).toMatch(/^demo-[0-9a-f]{32}$/)
    const credential = await pam.obtainCredential('demo/api-key')
    expect(credential).toMatchObject({ credentialIdentifier: 'demo/api-key', credentialType: 'api_key' })
    expect(credential.createTime).toBeGreaterThan(1e12)
    expect(credential.credentialContent.apiKeyContent?.apiKey).toBe(apiKey)
    expect(inspect(credential, { depth: 10 })).not.toContain(apiKey)
    expect(JSON.stringify(credential)).not.toContain(apiKey)

    const generated = await pam.generateJwtAuthenticationToken({
      credentialProviderIdentifier: 'demo-jwt',
      subject: 'sdk-e2e',
      audiences: ['https://api.example.com'],
      customClaims: { purpose: 'sdk-e2e' },
      expiration: 600,
      includeDerivedShortToken: true,
    })
    const jwt = generated.jwtContent.jwtValue
    const short = generated.jwtContent.derivedShortToken
    expect(jwt.split('.')).toHaveLength(3)
    expect(short).toMatch(/^sk-/)
    expect(generated).toMatchObject({
      authenticationTokenType: 'jwt',
      revoked: false,
      instanceId: config.idaasInstanceId,
    })
    expect(generated.expirationTime).toBe(Math.floor(generated.createTime / 1000) * 1000 + 600_000)
    for (const printed of [inspect(generated, { depth: 10 }), JSON.stringify(generated)]) {
      expect(printed).not.toContain(jwt)
      expect(printed).not.toContain(short)
      expect(printed).toContain(generated.authenticationTokenId)
    }
    const { consumerId, authenticationTokenId } = generated

    const obtained = await pam.obtainJwtAuthenticationToken({ consumerId, authenticationTokenId })
    expect(obtained.authenticationTokenId).toBe(authenticationTokenId)
    expect(obtained.jwtContent.jwtValue).toBe(jwt)

    const byShort = await pam.obtainJwtAuthenticationTokenByDerivedShortToken(short!)
    expect(byShort.authenticationTokenId).toBe(authenticationTokenId)
    expect(byShort.jwtContent.jwtValue).toBe(jwt)

    const consumer = { consumerId, credentialProviderIdentifier: 'demo-jwt' }
    const page = await pam.listAuthenticationTokens({
      ...consumer,
      maxResults: 10,
      revoked: false,
      expired: false,
    })
    expect(page).toMatchObject({ totalCount: 1, maxResults: 10, nextToken: null })
    expect(page.entities[0]).toMatchObject({ authenticationTokenId, revoked: false })

    expect(await pam.validateAuthenticationToken(jwt)).toBe(true)
    await pam.revokeAuthenticationToken(jwt)
    expect(await pam.validateAuthenticationToken(short!)).toBe(false)
    await pam.revokeAuthenticationToken(jwt) // idempotent
    await pam.reinstateAuthenticationToken(short!, { tokenTypeHint: 'derived_short_token' })
    expect(await pam.validateAuthenticationToken(jwt)).toBe(true)
    await pam.revokeAuthenticationTokenByConsumer(consumer)
    expect(await pam.validateAuthenticationToken(jwt)).toBe(false)
    await pam.reinstateAuthenticationTokenByConsumer(consumer)
    expect(await pam.validateAuthenticationToken(jwt)).toBe(true)

    // Two more tokens, walked one page at a time.
    for (let i = 0; i < 2; i++) {
      await pam.generateJwtAuthenticationToken({
        ...consumer,
        subject: `s${i}`,
        audiences: ['https://api.example.com'],
      })
    }
    const ids: string[] = []
    let pages = 0
    for await (const p of pam.listAuthenticationTokenPages({ ...consumer, maxResults: 1 })) {
      pages += 1
      ids.push(...p.entities.map((t) => t.authenticationTokenId))
    }
    expect(pages).toBe(3)
    expect(ids).toHaveLength(3)
    expect(ids[0]).toBe(authenticationTokenId)
    const all: string[] = []
    for await (const t of pam.listAllAuthenticationTokens({ ...consumer, maxResults: 2 }))
      all.push(t.authenticationTokenId)
    expect(all).toEqual(ids)

    const unknown = await pam
      .obtainJwtAuthenticationTokenByDerivedShortToken('sk-unknown')
      .catch((e: unknown) => e)
    expect(unknown).toBeInstanceOf(NotFoundError)
    expect(unknown).toMatchObject({
      status: 404,
      serverCode: 'AuthenticationTokenNotFound',
      requestId: expect.any(String),
    })
    const denied = await pam.getApiKey('not/granted').catch((e: unknown) => e)
    expect(denied).toBeInstanceOf(PermissionError)
    expect(denied).toMatchObject({
      status: 403,
      serverCode: 'PermissionDenied',
      requestId: expect.any(String),
    })

    const events = await okJson<{ action: string }[]>(server, ['audit', 'query', '--limit', '500'])
    const actions = new Set(events.map((e) => e.action))
    for (const action of PAM_AUDIT_ACTIONS) {
      expect(actions, action).toContain(action)
    }
    expect(server.logs()).not.toContain(short)
  })

  it('fetches an upstream OAuth token through a provider pointing at a second application', async () => {
    const upstream = await okJson(server, [
      'app',
      'create',
      '--name',
      'sdk-upstream',
      '--scope',
      `${PAM}|credential:obtain`,
    ])
    const upstreamSecret = (await okJson(server, ['app', 'secret', 'create', upstream.applicationId]))
      .clientSecret as string
    const created = await fetch(
      `${server.url}/admin/v1/instances/${upstream.instanceId}/credential-providers`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${await server.adminToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          credentialProviderIdentifier: 'sdk-upstream',
          credentialProviderType: 'oauth',
          oauth: {
            tokenEndpoint: config.tokenEndpoint,
            clientId: upstream.clientId,
            clientSecret: upstreamSecret,
            defaultScope: `${PAM}|credential:obtain`,
          },
        }),
      },
    )
    expect(created.status).toBe(201)
    await ok(server, [
      'grant',
      'create',
      '--app',
      config.clientId,
      '--type',
      'credential_provider',
      '--resource',
      'sdk-upstream',
      '--actions',
      'use',
    ])

    await using pam = demoClient()
    const result = await pam.fetchOAuthAuthenticationToken({ credentialProviderIdentifier: 'sdk-upstream' })
    expect(result).toMatchObject({ authenticationTokenType: 'oauth_access_token', revoked: false })
    expect(result.expirationTime).toBeGreaterThan(Date.now())
    const content = result.oauthAccessTokenContent!
    expect(content).toMatchObject({ tokenType: 'Bearer', scope: `${PAM}|credential:obtain` })
    const accessToken = content.accessTokenValue
    expect(inspect(result, { depth: 10 })).not.toContain(accessToken)
    expect(JSON.stringify(result)).not.toContain(accessToken)
    const introspected = await fetch(`${config.tokenEndpoint.replace(/\/token$/, '/introspect')}`, {
      method: 'POST',
      body: new URLSearchParams({
        token: accessToken,
        client_id: upstream.clientId,
        client_secret: upstreamSecret,
      }),
    })
    expect(((await introspected.json()) as { active: boolean }).active).toBe(true)

    const shared = await pam.fetchOAuthAuthenticationToken({ credentialProviderIdentifier: 'sdk-upstream' })
    expect(shared.oauthAccessTokenContent?.accessTokenValue).toBe(accessToken)
    const forced = await pam.fetchOAuthAuthenticationToken({
      credentialProviderIdentifier: 'sdk-upstream',
      forceAuthentication: true,
    })
    expect(forced.oauthAccessTokenContent?.accessTokenValue).not.toBe(accessToken)
    expect(server.logs()).not.toContain(upstreamSecret)
  })

  it('1,000 concurrent getApiKey calls on a cold client cost exactly one token request', async () => {
    const before = await demoTokensIssued()
    await using pam = demoClient()
    const keys = await Promise.all(Array.from({ length: 1000 }, () => pam.getApiKey('demo/api-key')))
    expect(new Set(keys).size).toBe(1)
    expect(await demoTokensIssued()).toBe(before + 1)
  }, 120_000)
})
