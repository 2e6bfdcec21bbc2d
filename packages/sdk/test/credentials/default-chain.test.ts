import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CREDENTIAL_ENV, fromDefaultChain } from '../../src/credentials/from-default-chain.js'
import { fromStatic } from '../../src/credentials/from-static.js'
import { CredentialProviderError } from '../../src/errors.js'
import { createHttpClient, type HttpClient } from '../../src/http/http-client.js'

/** A real token endpoint on loopback that records the forms it receives. */
async function tokenServer() {
  const forms: Record<string, string>[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => {
      body += c.toString()
    })
    req.on('end', () => {
      forms.push(Object.fromEntries(new URLSearchParams(body)))
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({ access_token: `token-${forms.length}`, token_type: 'Bearer', expires_in: 600 }),
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`
  return { url, forms, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

describe('the default credential chain', () => {
  let dir: string
  let endpoint: Awaited<ReturnType<typeof tokenServer>>
  let http: HttpClient
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sdk-chain-'))
    endpoint = await tokenServer()
    http = createHttpClient({ env: {} })
  })
  afterEach(async () => {
    await http.close()
    await endpoint.close()
    await rm(dir, { recursive: true, force: true })
  })
  const noFile = () => join(dir, 'absent.json')

  it('uses explicit credentials first', async () => {
    const chain = fromDefaultChain({
      credentials: fromStatic({ accessToken: 'explicit' }),
      http,
      env: {
        [CREDENTIAL_ENV.clientId]: 'app_env',
        [CREDENTIAL_ENV.clientSecret]: 's',
        [CREDENTIAL_ENV.tokenEndpoint]: endpoint.url,
      },
    })
    expect((await chain.getToken()).accessToken).toBe('explicit')
    expect(endpoint.forms).toHaveLength(0)
  })

  it('then the environment, then an OIDC token file named by it, then the configuration file', async () => {
    const env = {
      [CREDENTIAL_ENV.clientId]: 'app_env',
      [CREDENTIAL_ENV.clientSecret]: 'env-secret',
      [CREDENTIAL_ENV.tokenEndpoint]: endpoint.url,
      CLOUD_IDAAS_CONFIG_PATH: noFile(),
    }
    expect((await fromDefaultChain({ http, env }).getToken()).accessToken).toBe('token-1')
    expect(endpoint.forms[0]).toMatchObject({ client_id: 'app_env', client_secret: 'env-secret' })

    const tokenFile = join(dir, 'oidc-token')
    await writeFile(
      tokenFile,
      await new SignJWT({ sub: 'pod' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(Buffer.alloc(32)),
    )
    const oidcEnv = {
      [CREDENTIAL_ENV.clientId]: 'app_fed',
      [CREDENTIAL_ENV.tokenEndpoint]: endpoint.url,
      [CREDENTIAL_ENV.oidcTokenFile]: tokenFile,
      [CREDENTIAL_ENV.federatedCredentialName]: 'k8s',
      CLOUD_IDAAS_CONFIG_PATH: noFile(),
    }
    await fromDefaultChain({ http, env: oidcEnv }).getToken()
    expect(endpoint.forms[1]).toMatchObject({
      client_id: 'app_fed',
      application_federated_credential_name: 'k8s',
    })

    const configFile = join(dir, 'client-config.json')
    await writeFile(
      configFile,
      JSON.stringify({
        idaas_instance_id: 'idaas_x',
        client_id: 'app_file',
        issuer: 'http://127.0.0.1/issuer',
        token_endpoint: endpoint.url,
        authn_configuration: {
          authn_method: 'CLIENT_SECRET_BASIC',
          client_secret_env_var_name: 'FILE_SECRET',
        },
      }),
    )
    await fromDefaultChain({
      http,
      env: { CLOUD_IDAAS_CONFIG_PATH: configFile, FILE_SECRET: 'file-secret' },
    }).getToken()
    expect(endpoint.forms[2]).toMatchObject({ client_id: 'app_file', grant_type: 'client_credentials' })
    expect(endpoint.forms[2]!.client_secret).toBeUndefined() // basic: in the header
  })

  it('fails listing every link it tried and why, when none applies', async () => {
    const error = await fromDefaultChain({ http, env: { CLOUD_IDAAS_CONFIG_PATH: noFile() } })
      .getToken()
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(error).toBeInstanceOf(CredentialProviderError)
    const failure = error as CredentialProviderError
    expect(failure.attempts.map((a) => a.provider)).toEqual([
      'explicit credentials',
      'environment',
      'OIDC token file',
      'configuration file',
    ])
    expect(failure.message).toContain('CLOUD_IDAAS_CLIENT_SECRET')
    expect(failure.message).toContain(noFile())
  })

  it('stops at a configuration file that exists but is wrong, instead of trying something else', async () => {
    const configFile = join(dir, 'client-config.json')
    await writeFile(configFile, '{"client_id": 42}')
    const error = await fromDefaultChain({ http, env: { CLOUD_IDAAS_CONFIG_PATH: configFile } })
      .getToken()
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      )
    expect(error?.name).toBe('ConfigurationError')
    expect(error?.message).toContain(configFile)
  })
})
