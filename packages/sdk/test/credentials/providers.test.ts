import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { clientSecretPost } from '../../src/credentials/client-authentication.js'
import type { TokenEndpointCall } from '../../src/credentials/credential-provider.js'
import { fromClientSecret } from '../../src/credentials/from-client-secret.js'
import { fromClientSecretJwt } from '../../src/credentials/from-client-secret-jwt.js'
import { fromOidcTokenFile } from '../../src/credentials/from-oidc-token-file.js'
import { algorithmFor, fromPrivateKeyJwt } from '../../src/credentials/from-private-key-jwt.js'
import { fromStatic } from '../../src/credentials/from-static.js'
import { fromTokenExchange, TOKEN_TYPE } from '../../src/credentials/from-token-exchange.js'
import { CredentialProviderError } from '../../src/errors.js'

const NOW = 1_800_000_000_000
const ENDPOINT = 'https://pam.example.com/v2/idaas_x/authorizationServer/iauths_system/oauth2/token'

/** A token endpoint that records each request and answers with a token living 600 s. */
function fakeEndpoint() {
  const requests: { form: Record<string, string>; headers: Record<string, string> }[] = []
  const call: TokenEndpointCall = async (form, headers) => {
    requests.push({ form: Object.fromEntries(form), headers: { ...headers } })
    return {
      access_token: `at-${requests.length}`,
      token_type: 'Bearer',
      expires_in: 600,
      expires_at: NOW / 1000 + 900,
      scope: form.get('scope'),
    }
  }
  return { call, requests }
}

const base = (call: TokenEndpointCall) => ({
  clientId: 'app_1',
  tokenEndpoint: ENDPOINT,
  call,
  now: () => NOW,
})

describe('credential providers', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sdk-credentials-'))
  })
  afterEach(async () => rm(dir, { recursive: true, force: true }))

  it('fromClientSecret: post sends the secret in the form, basic in the header; client_id and the scope always', async () => {
    const { call, requests } = fakeEndpoint()
    const post = await fromClientSecret({ ...base(call), clientSecret: 's3cr3t' }).getToken()
    expect(requests[0]!.form).toEqual({
      grant_type: 'client_credentials',
      client_id: 'app_1',
      scope: 'urn:cloud:idaas:pam|.all',
      client_secret: 's3cr3t',
    })
    // expires_in counts from when the request was sent; expires_at is later here, so it does not win.
    expect(post.expiresAt).toBe(NOW + 600_000)
    expect(post.accessToken).toBe('at-1')
    await fromClientSecret({
      ...base(call),
      clientSecret: 'a b:c',
      method: 'client_secret_basic',
      scope: 'x|y',
    }).getToken()
    expect(requests[1]!.form).toEqual({ grant_type: 'client_credentials', client_id: 'app_1', scope: 'x|y' })
    expect(Buffer.from(requests[1]!.headers.authorization!.slice(6), 'base64').toString()).toBe(
      'app_1:a+b%3Ac',
    )
  })

  it('reads a secret from its environment variable at every request, and names a missing variable, never a value', async () => {
    const { call, requests } = fakeEndpoint()
    const env: NodeJS.ProcessEnv = { MY_SECRET: 'first' }
    const provider = fromClientSecret({ ...base(call), clientSecretEnvVarName: 'MY_SECRET', env })
    await provider.getToken()
    env.MY_SECRET = 'rotated'
    await provider.getToken()
    expect(requests.map((r) => r.form.client_secret)).toEqual(['first', 'rotated'])
    delete env.MY_SECRET
    await expect(provider.getToken()).rejects.toThrow(/environment variable MY_SECRET is not set/)
    expect(() => fromClientSecret({ ...base(call) })).toThrow(CredentialProviderError)
  })

  it('fromClientSecretJwt: an HS256 assertion keyed with the secret; the secret itself never travels', async () => {
    const { call, requests } = fakeEndpoint()
    await fromClientSecretJwt({ ...base(call), clientSecret: 'k'.repeat(32) }).getToken()
    const form = requests[0]!.form
    expect(form.client_secret).toBeUndefined()
    expect(form.client_assertion_type).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    const { payload } = await jwtVerify(form.client_assertion!, Buffer.from('k'.repeat(32)), {
      issuer: 'app_1',
      subject: 'app_1',
      audience: ENDPOINT,
      currentDate: new Date(NOW),
    })
    expect(payload.exp! - payload.iat!).toBe(300)
    expect(typeof payload.jti).toBe('string')
  })

  it('fromPrivateKeyJwt: the algorithm follows from the key; the key comes from a value, a variable or a file', async () => {
    const { call, requests } = fakeEndpoint()
    const cases = [
      ['RS256', generateKeyPairSync('rsa', { modulusLength: 2048 })],
      ['ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
      ['ES384', generateKeyPairSync('ec', { namedCurve: 'P-384' })],
      ['EdDSA', generateKeyPairSync('ed25519')],
    ] as const
    for (const [alg, pair] of cases) {
      expect(algorithmFor(pair.privateKey)).toBe(alg)
      const pem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
      const file = join(dir, `${alg}.pem`)
      await writeFile(file, pem)
      for (const source of [
        { privateKey: pem },
        { privateKeyEnvVarName: 'KEY', env: { KEY: pem } },
        { privateKeyFile: file },
      ]) {
        await fromPrivateKeyJwt({ ...base(call), ...source, keyId: 'k1' }).getToken()
        const assertion = requests.at(-1)!.form.client_assertion!
        expect(decodeProtectedHeader(assertion)).toEqual({ alg, kid: 'k1' })
        await jwtVerify(assertion, pair.publicKey, {
          audience: ENDPOINT,
          issuer: 'app_1',
          currentDate: new Date(NOW),
        })
      }
    }
    const noKey = fromPrivateKeyJwt({ ...base(call), privateKeyEnvVarName: 'NOPE', env: {} })
    await expect(noKey.getToken()).rejects.toThrow(/NOPE is not set/)
    const notPem = fromPrivateKeyJwt({ ...base(call), privateKey: 'CANARY-not-a-key' })
    const error = (await notPem.getToken().then(
      () => new Error('resolved'),
      (e: unknown) => e,
    )) as Error
    expect(error.message).toMatch(/does not hold a PEM private key/)
    expect(inspect(error)).not.toContain('CANARY')
  })

  it('fromOidcTokenFile: the file is read again when it changes or its token nears expiry, not otherwise', async () => {
    const { call, requests } = fakeEndpoint()
    let now = NOW
    const jwt = (exp: number, sub: string) =>
      new SignJWT({ sub })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(exp)
        .sign(Buffer.alloc(32, 1))
    const file = join(dir, 'token')
    await writeFile(file, await jwt(NOW / 1000 + 3600, 'one'))
    const provider = fromOidcTokenFile({
      ...base(call),
      now: () => now,
      tokenFile: file,
      applicationFederatedCredentialName: 'k8s',
    })
    await provider.getToken()
    await provider.getToken()
    const subjects = () =>
      requests.map(
        (r) => JSON.parse(Buffer.from(r.form.client_assertion!.split('.')[1]!, 'base64url').toString()).sub,
      )
    expect(subjects()).toEqual(['one', 'one'])
    expect(requests[0]!.form).toMatchObject({
      client_assertion_type: 'urn:cloud:idaas:params:oauth:client-assertion-type:id-token-bearer',
      application_federated_credential_name: 'k8s',
    })
    // The platform rotates the file.
    await writeFile(file, await jwt(NOW / 1000 + 7200, 'two'))
    await utimes(file, new Date(NOW + 5000), new Date(NOW + 5000))
    await provider.getToken()
    expect(subjects().at(-1)).toBe('two')
    // Near the token's expiry the file is read again even if it looks unchanged.
    const stale = join(dir, 'stale')
    await writeFile(stale, await jwt(NOW / 1000 + 120, 'short'))
    const staleProvider = fromOidcTokenFile({
      ...base(call),
      now: () => now,
      tokenFile: stale,
      applicationFederatedCredentialName: 'k8s',
    })
    await staleProvider.getToken()
    now += 61_000
    await writeFile(stale, await jwt(NOW / 1000 + 3600, 'renewed'))
    await utimes(stale, new Date(NOW), new Date(NOW)) // same mtime as before: only the expiry says read again
    await staleProvider.getToken()
    expect(subjects().at(-1)).toBe('renewed')
  })

  it('fromTokenExchange: RFC 8693 fields, the subject from another provider, not cached unless asked', async () => {
    const { call, requests } = fakeEndpoint()
    const subject = fromStatic({ accessToken: 'subject-token', expiresAt: NOW + 60_000, now: () => NOW })
    const exchange = fromTokenExchange({
      ...base(call),
      authentication: clientSecretPost('s'),
      subjectToken: subject,
      actorToken: 'actor-token',
      scope: 'urn:cloud:idaas:pam|credential:obtain',
    })
    expect(exchange.cacheable).toBe(false)
    expect(
      fromTokenExchange({
        ...base(call),
        authentication: clientSecretPost('s'),
        subjectToken: 'x',
        cache: true,
      }).cacheable,
    ).toBe(true)
    await exchange.getToken()
    expect(requests[0]!.form).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      client_id: 'app_1',
      client_secret: 's',
      scope: 'urn:cloud:idaas:pam|credential:obtain',
      subject_token: 'subject-token',
      subject_token_type: TOKEN_TYPE.accessToken,
      requested_token_type: TOKEN_TYPE.accessToken,
      actor_token: 'actor-token',
      actor_token_type: TOKEN_TYPE.accessToken,
    })
  })

  it('fromStatic: serves its token until it expires, then fails clearly; prints no token', async () => {
    let now = NOW
    const provider = fromStatic({ accessToken: 'CANARY-static', expiresAt: NOW + 1000, now: () => now })
    expect(provider.cacheable).toBe(false)
    const token = await provider.getToken()
    expect(token.accessToken).toBe('CANARY-static')
    expect(inspect(token)).not.toContain('CANARY')
    expect(JSON.stringify(token)).not.toContain('CANARY')
    now += 1000
    await expect(provider.getToken()).rejects.toThrow(/expired/)
  })
})
