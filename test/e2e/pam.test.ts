import { afterEach, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { ok, okJson } from './cli.js'

const PAM = 'urn:cloud:idaas:pam'

describe('the PAM developer API: ObtainCredential', () => {
  let server: ServerProcess | undefined
  afterEach(async () => server?.stop())

  it('answers in the contract’s shape to a granted, scoped workload, and refuses everyone else without data', async () => {
    server = await startServer()
    const app = await okJson(server, [
      'app',
      'create',
      '--name',
      'payments',
      '--scope',
      `${PAM}|credential:obtain`,
      '--scope',
      `${PAM}|authentication_token:read`,
    ])
    const secret = (await okJson(server, ['app', 'secret', 'create', app.applicationId]))
      .clientSecret as string
    await ok(
      server,
      ['credential', 'create', '--identifier', 'pay/stripe', '--type', 'api_key', '--name', 'Stripe'],
      'sk_live_abc\n',
    )
    await ok(
      server,
      [
        'credential',
        'create',
        '--identifier',
        'pay/upstream',
        '--type',
        'oauth_client',
        '--client-id',
        'up-client',
      ],
      'up-secret\n',
    )
    await ok(server, ['credential', 'create', '--identifier', 'pay/old', '--type', 'api_key'], 'old-key\n')
    await ok(server, ['credential', 'disable', 'pay/old'])
    await ok(
      server,
      ['credential', 'create', '--identifier', 'hr/payroll', '--type', 'api_key'],
      'not-yours\n',
    )
    await ok(server, [
      'grant',
      'create',
      '--app',
      app.applicationId,
      '--type',
      'credential',
      '--resource',
      'pay/',
      '--prefix',
      '--actions',
      'obtain',
    ])
    const base = `${server.url}/v2/${app.instanceId}`
    const token = async (scope: string) => {
      const res = await fetch(`${base}/authorizationServer/iauths_system/oauth2/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: app.clientId,
          client_secret: secret,
          scope,
        }),
      })
      return ((await res.json()) as { access_token: string }).access_token
    }
    const obtain = (identifier: string, bearer?: string) =>
      fetch(`${base}/credentials/_/actions/obtain?credentialIdentifier=${encodeURIComponent(identifier)}`, {
        headers: {
          // What the official client sends besides the token; the server tolerates all of it.
          'x-acs-version': '2022-02-25',
          'x-acs-action': 'ObtainCredential',
          'x-acs-signature-nonce': 'n-1',
          'x-acs-signature-method': 'HMAC-SHA1',
          'x-acs-signature-version': '1.0',
          accept: 'application/json',
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
      })
    const at = await token(`${PAM}|credential:obtain`)

    const res = await obtain('pay/stripe', at)
    expect(res.status).toBe(200)
    const body = (await res.json()) as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(
      [
        'createTime',
        'credentialContent',
        'credentialCreationType',
        'credentialId',
        'credentialIdentifier',
        'credentialName',
        'credentialType',
        'description',
        'instanceId',
        'status',
        'updateTime',
      ].sort(),
    )
    expect(body).toMatchObject({
      credentialIdentifier: 'pay/stripe',
      credentialName: 'Stripe',
      credentialType: 'api_key',
      status: 'enabled',
      instanceId: app.instanceId,
      credentialContent: { apiKeyContent: { apiKey: 'sk_live_abc' } },
    })
    expect(Number.isInteger(body.createTime) && (body.createTime as number) > 1e12).toBe(true) // epoch milliseconds
    const upstream = (await (await obtain('pay/upstream', at)).json()) as { credentialContent: unknown }
    expect(upstream.credentialContent).toEqual({
      oauthClientContent: { clientId: 'up-client', clientSecret: 'up-secret' },
    })

    const refusals: [string, Response, number, string][] = [
      ['no token', await obtain('pay/stripe'), 401, 'InvalidToken'],
      ['a forged token', await obtain('pay/stripe', `${at.slice(0, -4)}AAAA`), 401, 'InvalidToken'],
      [
        'a token without the scope',
        await obtain('pay/stripe', await token(`${PAM}|authentication_token:read`)),
        403,
        'InsufficientScope',
      ],
      ['no grant', await obtain('hr/payroll', at), 403, 'PermissionDenied'],
      ['no grant, and no such credential', await obtain('hr/nothing', at), 403, 'PermissionDenied'],
      ['granted, but no such credential', await obtain('pay/nothing', at), 404, 'CredentialNotFound'],
      ['disabled', await obtain('pay/old', at), 403, 'CredentialDisabled'],
    ]
    for (const [what, response, status, code] of refusals) {
      expect(response.status, what).toBe(status)
      const error = (await response.json()) as Record<string, unknown>
      expect(error, what).toMatchObject({
        Code: code,
        error: expect.any(String),
        RequestId: expect.any(String),
      })
      expect(error.request_id, what).toBe(error.RequestId)
      expect(JSON.stringify(error), what).not.toMatch(/sk_live_abc|not-yours|old-key/)
    }
    // Another instance: the token's issuer is not its authorization server.
    const other = await okJson(server, ['instance', 'create', '--name', 'other'])
    const elsewhere = await fetch(
      `${server.url}/v2/${other.instanceId}/credentials/_/actions/obtain?credentialIdentifier=pay%2Fstripe`,
      { headers: { authorization: `Bearer ${at}` } },
    )
    expect(elsewhere.status).toBe(401)
    // Revoked at the authorization server: refused at once.
    await fetch(`${base}/authorizationServer/iauths_system/oauth2/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token: at, client_id: app.clientId, client_secret: secret }),
    })
    expect((await obtain('pay/stripe', at)).status).toBe(401)

    const events = await okJson<{ outcome: string; details: { identifier: string } }[]>(server, [
      'audit',
      'query',
      '--action',
      'credential.obtain',
    ])
    expect(events.map((e) => [e.details.identifier, e.outcome])).toEqual([
      ['pay/stripe', 'success'],
      ['pay/upstream', 'success'],
      // The token without the scope: refused by the one gate, and recorded like every refusal.
      ['pay/stripe', 'denied'],
      ['hr/payroll', 'denied'],
      ['hr/nothing', 'denied'],
      ['pay/nothing', 'denied'],
      ['pay/old', 'denied'],
    ])
    expect(JSON.stringify(events)).not.toMatch(/sk_live_abc|up-secret/)
  })
})
