import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { cli, ok, okJson } from './cli.js'

const PAM = 'urn:cloud:idaas:pam'

describe('strongroom app secret revoke', () => {
  let server: ServerProcess
  let app: { applicationId: string; clientId: string; instanceId: string }
  beforeAll(async () => {
    server = await startServer()
    app = await okJson(server, ['app', 'create', '--name', 'revoke-e2e', '--scope', `${PAM}|.all`])
    await ok(
      server,
      ['credential', 'create', '--identifier', 'rv/key', '--type', 'api_key'],
      'revoke-e2e-value\n',
    )
    await ok(server, [
      'grant',
      'create',
      '--app',
      app.applicationId,
      '--type',
      'credential',
      '--resource',
      'rv/key',
      '--actions',
      'obtain',
    ])
  })
  afterAll(async () => server?.stop())

  const base = () => `${server.url}/v2/${app.instanceId}`
  const tokenWith = async (secret: { clientSecret: string }) => {
    const res = await fetch(`${base()}/authorizationServer/iauths_system/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: secret.clientSecret,
      }),
    })
    expect(res.status).toBe(200)
    return ((await res.json()) as { access_token: string }).access_token
  }
  const obtain = async (token: string) => {
    const res = await fetch(`${base()}/credentials/_/actions/obtain?credentialIdentifier=rv/key`, {
      headers: { authorization: `Bearer ${token}` },
    })
    await res.body?.cancel()
    return res.status
  }
  const newSecret = () =>
    okJson<{ clientSecretId: string; clientSecret: string }>(server, [
      'app',
      'secret',
      'create',
      app.applicationId,
    ])

  it('without --revoke-tokens, leaves the tokens issued with the secret valid, and says so', async () => {
    const secret = await newSecret()
    const token = await tokenWith(secret)
    const r = await cli(server, ['app', 'secret', 'revoke', app.applicationId, secret.clientSecretId])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('stay valid until they expire')
    expect(r.stdout).toMatch(/Tokens revoked\s+0/)
    expect(await obtain(token)).toBe(200)

    // The same secret again, now with the flag: its token is refused at once.
    const again = await okJson(server, [
      'app',
      'secret',
      'revoke',
      app.applicationId,
      secret.clientSecretId,
      '--revoke-tokens',
    ])
    expect(again).toMatchObject({ clientSecretId: secret.clientSecretId, revoked: true, tokensRevoked: 1 })
    expect(await obtain(token)).toBe(401)
  })

  it('with --revoke-tokens, refuses the tokens issued with the secret at once, and only those', async () => {
    const secret = await newSecret()
    const other = await newSecret()
    const tokens = [await tokenWith(secret), await tokenWith(secret)]
    const kept = await tokenWith(other)
    for (const t of [...tokens, kept]) expect(await obtain(t)).toBe(200)
    const r = await cli(server, [
      'app',
      'secret',
      'revoke',
      app.applicationId,
      secret.clientSecretId,
      '--revoke-tokens',
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain(`Revoked 2 access token(s) issued with ${secret.clientSecretId}`)
    for (const t of tokens) expect(await obtain(t)).toBe(401)
    expect(await obtain(kept)).toBe(200)
  })
})
