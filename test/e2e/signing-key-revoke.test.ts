// `strongroom signing-key revoke`, the built CLI against a real server: a leaked key is withdrawn
// at once (gone from the JWKS, its tokens refused), which rotating alone does only a day later.
import { decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { cli, ok, okJson } from './cli.js'

const PAM = 'urn:cloud:idaas:pam'

describe('strongroom signing-key revoke', () => {
  let server: ServerProcess
  let app: { applicationId: string; clientId: string; instanceId: string }
  let secret: string
  beforeAll(async () => {
    server = await startServer()
    app = await okJson(server, ['app', 'create', '--name', 'sk-revoke-e2e', '--scope', `${PAM}|.all`])
    secret = (await okJson(server, ['app', 'secret', 'create', app.applicationId])).clientSecret
    await ok(server, ['credential', 'create', '--identifier', 'sk/key', '--type', 'api_key'], 'sk-value\n')
    await ok(server, [
      'grant',
      'create',
      '--app',
      app.applicationId,
      '--type',
      'credential',
      '--resource',
      'sk/key',
      '--actions',
      'obtain',
    ])
  })
  afterAll(async () => server?.stop())

  const issuer = () => `${server.url}/v2/${app.instanceId}/authorizationServer/iauths_system`
  const token = async () => {
    const res = await fetch(`${issuer()}/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: secret,
      }),
    })
    expect(res.status).toBe(200)
    return ((await res.json()) as { access_token: string }).access_token
  }
  const obtain = async (accessToken: string) => {
    const res = await fetch(
      `${server.url}/v2/${app.instanceId}/credentials/_/actions/obtain?credentialIdentifier=sk/key`,
      { headers: { authorization: `Bearer ${accessToken}` } },
    )
    await res.body?.cancel()
    return res.status
  }
  const published = async () =>
    ((await (await fetch(`${issuer()}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid)

  it('refuses the active key and asks for a rotation first; then withdraws the old key at once', async () => {
    const leakedToken = await token()
    const leaked = decodeProtectedHeader(leakedToken).kid!
    expect(await obtain(leakedToken)).toBe(200)

    // After `--`: a kid is a base64url thumbprint, which starts with '-' one time in 64 (it read
    // as an unknown option, and this test failed so once).
    const refused = await cli(server, ['signing-key', 'revoke', '--reason', 'leaked', '--', leaked])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('Conflict')
    expect(refused.stderr).toContain(leaked)
    expect(refused.stderr).toContain('signing-key rotate --activate-after 0')

    const [rotated] = await okJson(server, ['signing-key', 'rotate', '--activate-after', '0'])
    expect(rotated.status).toBe('active')
    // Rotation alone: the old key is still published, and its token still works.
    expect(await published()).toContain(leaked)
    expect(await obtain(leakedToken)).toBe(200)

    const [revoked] = JSON.parse(
      await ok(server, ['signing-key', 'revoke', '--reason', 'INC-4711 leaked', '--json', '--', leaked]),
    )
    expect(revoked).toMatchObject({ kid: leaked, status: 'revoked', revokedReason: 'INC-4711 leaked' })
    expect(await published()).toEqual([rotated.kid])
    expect(await obtain(leakedToken)).toBe(401)
    expect(await obtain(await token())).toBe(200)

    const listed = await okJson<{ kid: string; status: string }[]>(server, ['signing-key', 'list'])
    expect(listed.map((k) => [k.kid, k.status])).toEqual([
      [leaked, 'revoked'],
      [rotated.kid, 'active'],
    ])
    const table = await ok(server, ['signing-key', 'list'])
    expect(table).toMatch(/REVOKED/)
    expect(table).toMatch(new RegExp(`${leaked}\\s+EdDSA\\s+revoked`))

    // Again: the same answer, no second event.
    const [again] = JSON.parse(
      await ok(server, ['signing-key', 'revoke', '--reason', 'again', '--json', '--', leaked]),
    )
    expect(again).toMatchObject({ status: 'revoked', revokedReason: 'INC-4711 leaked' })
    const events = await okJson<{ action: string; reason: string }[]>(server, [
      'audit',
      'query',
      '--action',
      'signing_key.revoke',
    ])
    expect(events.map((e) => [e.action, e.reason])).toEqual([['signing_key.revoke', 'INC-4711 leaked']])
  })

  it('requires --reason, and answers an unknown kid with 404', async () => {
    const noReason = await cli(server, ['signing-key', 'revoke', 'some-kid'])
    expect(noReason.code).toBe(2)
    expect(noReason.stderr).toContain("required option '--reason <text>'")
    const unknown = await cli(server, ['signing-key', 'revoke', 'a'.repeat(43), '--reason', 'x'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('NotFound')
  })
})
