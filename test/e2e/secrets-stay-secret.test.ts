import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { cli, ok, okJson } from './cli.js'

const canary = (what: string) => `CANARY-${what}-${randomBytes(12).toString('hex')}`

/** Every place a value could leak on disk or in output: the database, its WAL, and the server's logs. */
function leaks(server: ServerProcess, secrets: string[]): string[] {
  const places: [string, Buffer][] = [['logs', Buffer.from(server.logs())]]
  for (const file of ['strongroom.db', 'strongroom.db-wal', 'strongroom.db-shm']) {
    const path = join(server.dataDir, file)
    if (existsSync(path)) places.push([file, readFileSync(path)])
  }
  const found: string[] = []
  for (const secret of secrets) {
    for (const [where, bytes] of places)
      if (bytes.includes(Buffer.from(secret))) found.push(`${secret} in ${where}`)
  }
  return found
}

describe('planted canary secrets', () => {
  let server: ServerProcess | undefined
  afterEach(async () => server?.stop())

  it('appear nowhere in the SQLite file, the WAL, or the server logs (at trace level)', async () => {
    server = await startServer({ args: ['--log-level', 'trace'] })
    const secrets = {
      apiKey: canary('api-key'),
      rotated: canary('rotated'),
      oauth: canary('oauth-secret'),
      password: canary('password'),
      passphrase: canary('passphrase'),
      rejected: canary('rejected'),
      upstream: canary('upstream-client-secret'),
    }
    await ok(
      server,
      ['credential', 'create', '--identifier', 'c/api', '--type', 'api_key'],
      `${secrets.apiKey}\n`,
    )
    await ok(server, ['credential', 'put', 'c/api'], `${secrets.rotated}\n`)
    await ok(
      server,
      ['credential', 'create', '--identifier', 'c/oauth', '--type', 'oauth_client', '--client-id', 'cid'],
      secrets.oauth,
    )
    await ok(
      server,
      ['credential', 'create', '--identifier', 'c/pw', '--type', 'password', '--username', 'root'],
      secrets.password,
    )
    const token = await server.adminToken()
    const instance = (await okJson(server, ['instance', 'list']))[0].instanceId
    const post = (path: string, body: unknown) =>
      fetch(`${server!.url}/admin/v1/instances/${instance}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    const ssh = await post('/credentials', {
      credentialIdentifier: 'c/ssh',
      credentialType: 'ssh_key',
      value: {
        // A real key encrypted under the canary: the server checks the key with its passphrase.
        privateKey: generateKeyPairSync('ed25519', {
          privateKeyEncoding: {
            type: 'pkcs8',
            format: 'pem',
            cipher: 'aes-256-cbc',
            passphrase: secrets.passphrase,
          },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        }).privateKey,
        passphrase: secrets.passphrase,
      },
    })
    expect(ssh.status).toBe(201)
    // Refused requests carrying secrets: wrong value shape, wrong token, secret in a query string.
    const refused = await post('/credentials', {
      credentialIdentifier: 'c/bad',
      credentialType: 'api_key',
      value: { apiKey: secrets.rejected, extra: secrets.rejected },
    })
    expect(refused.status).toBe(400)
    expect(await refused.text()).not.toContain(secrets.rejected)
    const badAuth = await fetch(`${server.url}/admin/v1/whoami?token=${secrets.rejected}`, {
      headers: { authorization: `Bearer ${secrets.rejected}` },
    })
    expect(badAuth.status).toBe(401)
    // A provider's upstream client secret, and the tokens a provider mints: sealed or hashed at rest.
    const provider = await post('/credential-providers', {
      credentialProviderIdentifier: 'up',
      credentialProviderType: 'oauth',
      oauth: {
        tokenEndpoint: 'https://auth.example.com/token',
        clientId: 'up',
        clientSecret: secrets.upstream,
      },
    })
    expect(provider.status).toBe(201)
    expect(await provider.text()).not.toContain(secrets.upstream)
    const config = JSON.parse(readFileSync(join(server.dataDir, 'client-config.json'), 'utf8'))
    const v2 = `${server.url}/v2/${config.idaasInstanceId}`
    const issued = await fetch(`${v2}/authorizationServer/iauths_system/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: config.clientId,
        client_secret: readFileSync(join(server.dataDir, 'client-secret'), 'utf8').trim(),
      }),
    })
    const at = ((await issued.json()) as { access_token: string }).access_token
    const generated = await fetch(`${v2}/authenticationTokens/_/actions/generateJwt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${at}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        credentialProviderIdentifier: 'demo-jwt',
        subject: 'canary',
        audiences: ['https://api.example.com'],
        includeDerivedShortToken: true,
      }),
    })
    expect(generated.status).toBe(200)
    const { jwtValue, derivedShortToken } = (
      (await generated.json()) as {
        jwtContent: { jwtValue: string; derivedShortToken: string }
      }
    ).jwtContent
    const minted = [jwtValue, jwtValue.split('.')[2]!, derivedShortToken, at, at.split('.')[2]!]
    expect(leaks(server, minted)).toEqual([])
    for (const id of ['c/api', 'c/oauth', 'c/pw', 'c/ssh']) {
      const r = await cli(server, ['credential', 'reveal', id, '--json'])
      expect(r.code).toBe(0)
    }
    expect(await ok(server, ['credential', 'reveal', 'c/api'])).toBe(`${secrets.rotated}\n`)
    expect(leaks(server, Object.values(secrets))).toEqual([])
    await server.stop()
    expect(leaks(server, Object.values(secrets))).toEqual([])
    server = undefined
  })
})
