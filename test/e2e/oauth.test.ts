import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRemoteJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose'
import * as oauth from 'oauth4webapi'
import { afterEach, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { ok, okJson } from './cli.js'

const PAM = 'urn:cloud:idaas:pam'
const insecure = { [oauth.allowInsecureRequests]: true } // loopback HTTP in tests only

describe('the authorization server, driven by an independent OAuth client', () => {
  let server: ServerProcess | undefined
  afterEach(async () => server?.stop())

  it('discovers, issues tokens by every client authentication method, exchanges, introspects and revokes them, and publishes the keys that verify them', async () => {
    server = await startServer()
    const app = await okJson(server, [
      'app',
      'create',
      '--name',
      'billing',
      '--scope',
      `${PAM}|credential:obtain`,
      '--scope',
      `${PAM}|authentication_token:read`,
    ])
    expect(app.allowedScopes).toEqual([`${PAM}|credential:obtain`, `${PAM}|authentication_token:read`])
    const secret = (await okJson(server, ['app', 'secret', 'create', app.applicationId]))
      .clientSecret as string
    const issuer = new URL(`${server.url}/v2/${app.instanceId}/authorizationServer/iauths_system`)
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
    )
    expect(as.token_endpoint).toBe(`${issuer.href}/oauth2/token`)
    const client: oauth.Client = { client_id: app.clientId }
    const jwks = createRemoteJWKSet(new URL(as.jwks_uri!))

    const grant = async (auth: oauth.ClientAuth, scope: string) => {
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        client,
        auth,
        new URLSearchParams({ scope }),
        insecure,
      )
      return oauth.processClientCredentialsResponse(as, client, response)
    }
    const post = await grant(oauth.ClientSecretPost(secret), `${PAM}|credential:obtain`)
    const basic = await grant(oauth.ClientSecretBasic(secret), `${PAM}|authentication_token:read`)
    // RFC 7523: an HS256 assertion keyed with the secret, and one signed by a key registered through the CLI.
    const secretJwt = await grant(oauth.ClientSecretJwt(secret), `${PAM}|credential:obtain`)
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
    const keyFile = join(mkdtempSync(join(tmpdir(), 'sr-key-')), 'public.jwk.json')
    writeFileSync(keyFile, JSON.stringify({ ...(await exportJWK(publicKey)), kid: 'workload-1' }))
    await ok(server, ['app', 'key', 'add', app.applicationId, '--file', keyFile])
    const privateKeyJwt = await grant(
      oauth.PrivateKeyJwt({ key: privateKey, kid: 'workload-1' }),
      `${PAM}|credential:obtain`,
    )
    for (const result of [secretJwt, privateKeyJwt]) {
      await expect(
        jwtVerify(result.access_token, jwks, { issuer: issuer.href, typ: 'at+jwt' }),
      ).resolves.toBeTruthy()
    }
    for (const [result, scope] of [
      [post, 'credential:obtain'],
      [basic, 'authentication_token:read'],
    ] as const) {
      expect(result.token_type).toBe('bearer')
      expect(result.expires_in).toBe(3600)
      const { payload } = await jwtVerify(result.access_token, jwks, {
        issuer: issuer.href,
        audience: PAM,
        typ: 'at+jwt',
      })
      expect(payload).toMatchObject({ sub: app.applicationId, scope })
    }
    await expect(
      grant(oauth.ClientSecretPost(secret), `${PAM}|authentication_token:manage`),
    ).rejects.toMatchObject({
      error: 'invalid_scope',
    })
    // A failed client authentication is a 401 with a Basic challenge (RFC 6749 §5.2), which the library surfaces as such.
    const refused = await grant(oauth.ClientSecretBasic(`${secret}x`), `${PAM}|credential:obtain`).catch(
      (e: unknown) => e,
    )
    expect(refused).toBeInstanceOf(oauth.WWWAuthenticateChallengeError)
    expect(refused).toMatchObject({ status: 401, cause: [expect.objectContaining({ scheme: 'basic' })] })

    // Rotation: an emergency rotation signs at once; the old token still verifies until its key retires.
    const rotated = await okJson<{ kid: string; status: string }[]>(server, [
      'signing-key',
      'rotate',
      '--alg',
      'ES256',
      '--activate-after',
      '0',
    ])
    expect(rotated[0]!.status).toBe('active')
    const fresh = await grant(oauth.ClientSecretPost(secret), `${PAM}|credential:obtain`)
    expect(decodeProtectedHeader(fresh.access_token)).toMatchObject({ kid: rotated[0]!.kid, alg: 'ES256' })
    expect(decodeProtectedHeader(post.access_token).kid).not.toBe(rotated[0]!.kid)
    const reloaded = createRemoteJWKSet(new URL(as.jwks_uri!))
    for (const token of [post.access_token, fresh.access_token]) {
      await expect(jwtVerify(token, reloaded, { issuer: issuer.href, typ: 'at+jwt' })).resolves.toBeTruthy()
    }
    const listed = await okJson<{ status: string }[]>(server, ['signing-key', 'list'])
    expect(listed.map((k) => k.status)).toEqual(['retired', 'active'])

    // RFC 8693: a second workload trades the first one's token for its own, naming itself as actor.
    const backend = await okJson(server, [
      'app',
      'create',
      '--name',
      'backend',
      '--scope',
      `${PAM}|credential:obtain`,
    ])
    const backendSecret = (await okJson(server, ['app', 'secret', 'create', backend.applicationId]))
      .clientSecret as string
    const backendClient: oauth.Client = { client_id: backend.clientId }
    const exchangeResponse = await oauth.genericTokenEndpointRequest(
      as,
      backendClient,
      oauth.ClientSecretPost(backendSecret),
      'urn:ietf:params:oauth:grant-type:token-exchange',
      new URLSearchParams({
        subject_token: post.access_token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        scope: `${PAM}|credential:obtain`,
      }),
      insecure,
    )
    const exchanged = await oauth.processGenericTokenEndpointResponse(as, backendClient, exchangeResponse)
    expect(exchanged.issued_token_type).toBe('urn:ietf:params:oauth:token-type:access_token')
    const { payload: exchangedClaims } = await jwtVerify(
      exchanged.access_token,
      createRemoteJWKSet(new URL(as.jwks_uri!)),
      {
        issuer: issuer.href,
        typ: 'at+jwt',
      },
    )
    expect(exchangedClaims).toMatchObject({ sub: app.applicationId, client_id: backend.clientId })

    // Introspection by a resource server, revocation by the owner: the token is dead everywhere at once.
    const rs = await okJson(server, ['app', 'create', '--name', 'resource-server'])
    const rsSecret = (await okJson(server, ['app', 'secret', 'create', rs.applicationId]))
      .clientSecret as string
    const rsClient: oauth.Client = { client_id: rs.clientId }
    const introspect = async (token: string) =>
      oauth.processIntrospectionResponse(
        as,
        rsClient,
        await oauth.introspectionRequest(as, rsClient, oauth.ClientSecretBasic(rsSecret), token, insecure),
      )
    expect(await introspect(fresh.access_token)).toMatchObject({
      active: true,
      client_id: app.clientId,
      sub: app.applicationId,
    })
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, oauth.ClientSecretPost(secret), fresh.access_token, insecure),
    )
    expect(await introspect(fresh.access_token)).toEqual({ active: false })

    // An administrator narrows the application: what it may no longer ask for is refused.
    await ok(server, [
      'app',
      'update',
      app.applicationId,
      '--scope',
      `${PAM}|authentication_token:read`,
      '--token-lifetime',
      '600',
    ])
    await expect(grant(oauth.ClientSecretPost(secret), `${PAM}|credential:obtain`)).rejects.toMatchObject({
      error: 'invalid_scope',
    })
    expect((await grant(oauth.ClientSecretPost(secret), `${PAM}|authentication_token:read`)).expires_in).toBe(
      600,
    )
  })
})
