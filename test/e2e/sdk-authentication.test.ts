import { generateKeyPairSync } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import {
  type CredentialProvider,
  clientSecretPost,
  createHttpClient,
  fromClientSecret,
  fromClientSecretJwt,
  fromOidcTokenFile,
  fromPrivateKeyJwt,
  fromStatic,
  fromTokenExchange,
  PamClient,
  tokenEndpointCall,
} from '@strongroom/sdk'
import { exportJWK, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run as runJwtExample } from '../../packages/sdk/examples/jwt-tokens.js'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { createUpstreamProvider, ok, okJson } from './cli.js'

const PAM = 'urn:cloud:idaas:pam'

/** A loopback OIDC issuer (a stand-in for a Kubernetes API server): its JWKS, and tokens it signs. */
async function oidcIssuer() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = { ...(await exportJWK(publicKey)), kid: 'issuer-key', alg: 'ES256', use: 'sig' }
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: [jwk] }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    sign: (sub: string, aud: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'issuer-key' })
        .setIssuer(issuer)
        .setSubject(sub)
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

describe('the SDK against the real server: every operation, with every way a workload authenticates', () => {
  let server: ServerProcess
  let issuer: Awaited<ReturnType<typeof oidcIssuer>>
  let instanceId: string
  let tokenEndpoint: string
  let app: { applicationId: string; clientId: string }
  let secret: string
  let apiKey: string
  const http = createHttpClient()

  beforeAll(async () => {
    server = await startServer()
    issuer = await oidcIssuer()
    const config = JSON.parse(await readFile(join(server.dataDir, 'client-config.json'), 'utf8'))
    instanceId = config.idaasInstanceId
    tokenEndpoint = config.tokenEndpoint
    app = await okJson(server, ['app', 'create', '--name', 'sdk-workload', '--scope', `${PAM}|.all`])
    secret = (await okJson(server, ['app', 'secret', 'create', app.applicationId])).clientSecret
    await ok(server, [
      'grant',
      'create',
      '--app',
      app.applicationId,
      '--type',
      'credential',
      '--resource',
      'demo/api-key',
      '--actions',
      'obtain',
    ])
    apiKey = (await okJson(server, ['credential', 'reveal', 'demo/api-key', '--reason', 'sdk e2e'])).value
      .apiKey
    await ok(server, [
      'grant',
      'create',
      '--app',
      app.applicationId,
      '--type',
      'credential_provider',
      '--resource',
      'demo-jwt',
      '--actions',
      'use,read,manage',
    ])
    // An upstream OAuth server for FetchOAuth: a second application of the same server.
    await createUpstreamProvider(server, {
      identifier: 'upstream',
      tokenEndpoint,
      grantTo: app.applicationId,
    })
  })
  afterAll(async () => {
    await http.close()
    await issuer?.close()
    await server?.stop()
  })

  /**
   * Every operation with one way of authenticating: ObtainCredential here, FetchOAuth through the
   * upstream provider, and the nine JWT operations through the jwt-tokens example. Returns the API key.
   */
  const getApiKey = async (credentials: CredentialProvider) => {
    await using pam = new PamClient({ credentials, instanceId, endpoint: server.url, http })
    const oauth = await pam.fetchOAuthAuthenticationToken({ credentialProviderIdentifier: 'upstream' })
    expect(oauth.oauthAccessTokenContent?.accessTokenValue).toMatch(/^ey/)
    expect(await runJwtExample(pam)).toEqual([true, false, true, false, true])
    return await pam.getApiKey('demo/api-key')
  }
  const base = () => ({ clientId: app.clientId, tokenEndpoint, call: tokenEndpointCall(http, tokenEndpoint) })

  it('client_secret_post and client_secret_basic', async () => {
    expect(apiKey).toMatch(/^demo-[0-9a-f]{32}$/)
    expect(await getApiKey(fromClientSecret({ ...base(), clientSecret: secret }))).toBe(apiKey)
    expect(
      await getApiKey(fromClientSecret({ ...base(), clientSecret: secret, method: 'client_secret_basic' })),
    ).toBe(apiKey)
  })

  it('client_secret_jwt and private_key_jwt', async () => {
    expect(await getApiKey(fromClientSecretJwt({ ...base(), clientSecret: secret }))).toBe(apiKey)
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const file = join(server.dataDir, 'sdk-public.pem')
    await writeFile(file, publicKey.export({ format: 'pem', type: 'spki' }))
    await ok(server, ['app', 'key', 'add', app.applicationId, '--file', file])
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
    expect(await getApiKey(fromPrivateKeyJwt({ ...base(), privateKey: pem }))).toBe(apiKey)
  })

  it('federation: a token of a loopback OIDC issuer, read from a file', async () => {
    const subject = 'system:serviceaccount:payments:worker'
    await ok(server, [
      'app',
      'federated',
      'create',
      app.applicationId,
      '--name',
      'k8s',
      '--issuer',
      issuer.issuer,
      '--subject',
      subject,
      '--audience',
      'strongroom',
      '--jwks-uri',
      issuer.jwksUri,
    ])
    const file = join(server.dataDir, 'projected-token')
    await writeFile(file, await issuer.sign(subject, 'strongroom'))
    expect(
      await getApiKey(
        fromOidcTokenFile({ ...base(), tokenFile: file, applicationFederatedCredentialName: 'k8s' }),
      ),
    ).toBe(apiKey)
  })

  it('token exchange feeding a static provider (the seed SDK’s flow)', async () => {
    const config = JSON.parse(await readFile(join(server.dataDir, 'client-config.json'), 'utf8'))
    const demoSecret = (await readFile(join(server.dataDir, 'client-secret'), 'utf8')).trim()
    // The demo application's own token is the subject; this application exchanges it for one of its own.
    const subject = fromClientSecret({
      clientId: config.clientId,
      tokenEndpoint,
      clientSecret: demoSecret,
      call: tokenEndpointCall(http, tokenEndpoint),
    })
    const exchanged = await fromTokenExchange({
      ...base(),
      authentication: clientSecretPost(secret),
      subjectToken: subject,
      // Every operation runs with the exchanged token below: the whole PAM audience, no wider than the subject's.
      scope: `${PAM}|.all`,
    }).getToken()
    expect(exchanged.scope).toContain(PAM)
    expect(await getApiKey(fromStatic({ accessToken: exchanged }))).toBe(apiKey)
  })
})
