import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { CliResult, ServerProcess } from '../support/server-process.js'
import { startServer } from '../support/server-process.js'
import { cli } from './cli.js'

const SECRET = 'upstream-secret-e2e-0b7c2f9a41'
const ROTATED = 'upstream-secret-e2e-rotated-5d18e3'
const FROM_FILE = 'upstream-secret-e2e-from-file-9a2c77'
const ENDPOINT = 'http://127.0.0.1:9/oauth2/token'

describe('strongroom provider …', () => {
  let server: ServerProcess | undefined
  afterEach(async () => server?.stop())

  /** Runs the CLI and keeps everything it printed, to look for the client secret afterwards. */
  function recorder(s: ServerProcess) {
    const printed: string[] = []
    const run = async (args: string[], input?: string): Promise<CliResult> => {
      const r = await cli(s, args, input)
      printed.push(r.stdout, r.stderr)
      return r
    }
    const ok = async (args: string[], input?: string): Promise<string> => {
      const r = await run(args, input)
      expect(r.code, `strongroom ${args.join(' ')}\n${r.stderr}${r.stdout}`).toBe(0)
      return r.stdout
    }
    // biome-ignore lint/suspicious/noExplicitAny: command output is checked field by field by the assertions
    const okJson = async <T = any>(args: string[], input?: string): Promise<T> =>
      JSON.parse(await ok([...args, '--json'], input)) as T
    return { printed, run, ok, okJson }
  }

  // Each test runs some thirty CLI processes: more than the default 30 s on a busy machine.
  it('manages oauth and jwt providers, and never prints or logs the upstream client secret', async () => {
    server = await startServer()
    const { printed, ok, okJson } = recorder(server)
    // Whatever the server made on its first start (a demo provider, say) is listed too.
    const before = (await okJson<{ credentialProviderIdentifier: string }[]>(['provider', 'list'])).map(
      (p) => p.credentialProviderIdentifier,
    )

    // oauth, secret on stdin, human output: the settings, nothing of jwt, never the secret.
    const shown = await ok(
      [
        'provider',
        'create',
        '--identifier',
        'pay/upstream',
        '--type',
        'oauth',
        '--name',
        'Upstream',
        '--token-endpoint',
        ENDPOINT,
        '--client-id',
        'up-client',
        '--auth-method',
        'client_secret_basic',
        '--default-scope',
        'read write',
      ],
      `${SECRET}\n`,
    )
    expect(shown).toMatch(/^Provider ID\s+atp_[0-9a-z]{26}$/m)
    expect(shown).toMatch(/^Identifier\s+pay\/upstream$/m)
    expect(shown).toMatch(/^Name\s+Upstream$/m)
    expect(shown).toMatch(/^Type\s+oauth$/m)
    expect(shown).toMatch(/^Status\s+enabled$/m)
    expect(shown).toMatch(new RegExp(`^Token endpoint\\s+${ENDPOINT.replaceAll('.', '\\.')}$`, 'm'))
    expect(shown).toMatch(/^Client ID\s+up-client$/m)
    expect(shown).toMatch(/^Auth method\s+client_secret_basic$/m)
    expect(shown).toMatch(/^Default scope\s+read write$/m)
    expect(shown).not.toMatch(/Algorithm|JWKS|Issuer/)

    // A second oauth provider, --json, secret from --client-secret-file - (stdin).
    const second = await okJson(
      [
        'provider',
        'create',
        '--identifier',
        'pay/other',
        '--type',
        'oauth',
        '--token-endpoint',
        'https://login.example.com/token',
        '--client-id',
        'other-client',
        '--client-secret-file',
        '-',
      ],
      SECRET,
    )
    expect(second).toMatchObject({
      credentialProviderIdentifier: 'pay/other',
      credentialProviderName: 'pay/other',
      credentialProviderType: 'oauth',
      status: 'enabled',
      description: '',
      oauth: {
        tokenEndpoint: 'https://login.example.com/token',
        clientId: 'other-client',
        authMethod: 'client_secret_post',
        defaultScope: '',
      },
    })
    expect(Object.keys(second.oauth).sort()).toEqual([
      'authMethod',
      'clientId',
      'defaultScope',
      'tokenEndpoint',
    ])
    expect(second.jwt).toBeUndefined()

    // jwt with its options.
    const jwt = await okJson([
      'provider',
      'create',
      '--identifier',
      'pay/signer',
      '--type',
      'jwt',
      '--description',
      'signs for payments',
      '--algorithm',
      'ES256',
      '--allowed-issuer',
      'https://issuer.example.com',
      '--allowed-audience',
      'https://api.example.com/*',
      '--allowed-audience',
      'billing',
      '--default-expiration',
      '600',
      '--max-expiration',
      '7200',
      '--no-derived-short-token',
    ])
    expect(jwt).toMatchObject({
      credentialProviderIdentifier: 'pay/signer',
      credentialProviderType: 'jwt',
      status: 'enabled',
      description: 'signs for payments',
      instanceId: second.instanceId,
      jwt: {
        algorithm: 'ES256',
        allowedIssuers: ['https://issuer.example.com'],
        allowedAudiences: ['https://api.example.com/*', 'billing'],
        defaultExpiration: 600,
        maxExpiration: 7200,
        allowDerivedShortToken: false,
      },
    })
    expect(jwt.credentialProviderId).toMatch(/^atp_/)
    expect(jwt.oauth).toBeUndefined()
    expect(jwt.jwt.keyId).not.toBe('')
    // The default issuer is the provider's own URL, with the JWKS below it.
    expect(jwt.jwt.jwksUri).toBe(`${jwt.jwt.issuer}/.well-known/jwks.json`)
    expect(jwt.jwt.issuer).toBe(
      `${server.url}/v2/${jwt.instanceId}/credentialProviders/${jwt.credentialProviderId}`,
    )

    // The JWKS it reports is served, with the one key it names and no private part.
    const res = await fetch(jwt.jwt.jwksUri)
    expect(res.status).toBe(200)
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] }
    expect(jwks.keys).toHaveLength(1)
    expect(jwks.keys[0]).toMatchObject({ kid: jwt.jwt.keyId, kty: 'EC', crv: 'P-256' })
    expect(jwks.keys[0]).not.toHaveProperty('d')

    // jwt defaults, human view of a jwt provider.
    const plain = await ok(['provider', 'create', '--identifier', 'plain', '--type', 'jwt'])
    expect(plain).toMatch(/^Type\s+jwt$/m)
    expect(plain).toMatch(/^Algorithm\s+EdDSA$/m)
    expect(plain).toMatch(/^Key ID\s+\S+$/m)
    expect(plain).toMatch(/^JWKS URI\s+http:\/\/127\.0\.0\.1:\d+\/v2\/.+\/\.well-known\/jwks\.json$/m)
    expect(plain).toMatch(/^Issuer\s+http:\/\/127\.0\.0\.1:\d+\/v2\//m)
    expect(plain).toMatch(/^Allowed audiences$/m)
    expect(plain).toMatch(/^Default expiration\s+900 s$/m)
    expect(plain).toMatch(/^Max expiration\s+3600 s$/m)
    expect(plain).toMatch(/^Derived short token\s+yes$/m)
    expect(plain).not.toMatch(/Token endpoint|Client ID/)

    // list: all, by type, capped; a table by default.
    const all = await okJson<{ credentialProviderIdentifier: string }[]>(['provider', 'list'])
    expect(all.map((p) => p.credentialProviderIdentifier).sort()).toEqual(
      [...before, 'pay/other', 'pay/signer', 'pay/upstream', 'plain'].sort(),
    )
    const oauthOnly = await okJson<{ credentialProviderIdentifier: string }[]>([
      'provider',
      'list',
      '--type',
      'oauth',
    ])
    expect(oauthOnly.map((p) => p.credentialProviderIdentifier).sort()).toEqual(['pay/other', 'pay/upstream'])
    expect(await okJson(['provider', 'list', '--type', 'jwt', '--limit', '1'])).toHaveLength(1)
    const table = (await ok(['provider', 'list'])).trimEnd().split('\n')
    expect(table[0]).toMatch(/^PROVIDER ID\s+IDENTIFIER\s+TYPE\s+STATUS\s+UPDATED\s+NAME$/)
    expect(table).toHaveLength(1 + all.length)
    expect(table.find((line) => line.includes('pay/upstream'))).toMatch(/\soauth\s+enabled\s.*\sUpstream$/)

    // show, by identifier and by id.
    const byIdentifier = await okJson(['provider', 'show', 'pay/upstream'])
    const byId = await okJson(['provider', 'show', byIdentifier.credentialProviderId])
    expect(byId).toEqual(byIdentifier)
    expect(byId.oauth).toEqual({
      tokenEndpoint: ENDPOINT,
      clientId: 'up-client',
      authMethod: 'client_secret_basic',
      defaultScope: 'read write',
    })
    expect(await okJson(['provider', 'show', jwt.credentialProviderId])).toEqual(jwt)

    // update: oauth settings with a new secret from stdin, then from a file; a name alone.
    const updated = await okJson(
      ['provider', 'update', 'pay/upstream', '--client-id', 'new-client', '--client-secret-file', '-'],
      `${ROTATED}\n`,
    )
    expect(updated.oauth).toMatchObject({ clientId: 'new-client', tokenEndpoint: ENDPOINT })
    expect(updated.updateTime).toBeGreaterThanOrEqual(byId.updateTime)
    const dir = await mkdtemp(join(tmpdir(), 'strongroom-provider-'))
    const secretFile = join(dir, 'client-secret')
    await writeFile(secretFile, `${FROM_FILE}\n`, { mode: 0o600 })
    const fromFile = await ok([
      'provider',
      'update',
      byId.credentialProviderId,
      '--client-secret-file',
      secretFile,
      '--default-scope',
      'read',
    ])
    expect(fromFile).toMatch(/^Default scope\s+read$/m)
    const renamed = await okJson(['provider', 'update', 'pay/upstream', '--name', 'Renamed'])
    expect(renamed).toMatchObject({ credentialProviderName: 'Renamed', oauth: { clientId: 'new-client' } })

    // update: jwt settings, emptying and replacing lists.
    const jwtUpdated = await okJson([
      'provider',
      'update',
      'pay/signer',
      '--max-expiration',
      '3600',
      '--derived-short-token',
      '--no-allowed-issuers',
      '--allowed-audience',
      'ledger',
      '--description',
      'changed',
    ])
    expect(jwtUpdated).toMatchObject({
      description: 'changed',
      jwt: {
        algorithm: 'ES256',
        keyId: jwt.jwt.keyId,
        allowedIssuers: [],
        allowedAudiences: ['ledger'],
        defaultExpiration: 600,
        maxExpiration: 3600,
        allowDerivedShortToken: true,
      },
    })
    const customIssuer = await okJson([
      'provider',
      'update',
      'pay/signer',
      '--issuer',
      'https://issuer.example.com',
    ])
    expect(customIssuer.jwt.issuer).toBe('https://issuer.example.com')
    const backToDefault = await okJson(['provider', 'update', 'pay/signer', '--default-issuer'])
    expect(backToDefault.jwt.issuer).toBe(jwt.jwt.jwksUri.replace(/\/\.well-known\/jwks\.json$/, ''))

    // disable / enable, by identifier and by id.
    expect(await okJson(['provider', 'disable', 'pay/signer'])).toMatchObject({ status: 'disabled' })
    expect(await okJson(['provider', 'show', 'pay/signer'])).toMatchObject({ status: 'disabled' })
    const listed = await okJson<{ credentialProviderIdentifier: string; status: string }[]>([
      'provider',
      'list',
    ])
    expect(listed.find((p) => p.credentialProviderIdentifier === 'pay/signer')?.status).toBe('disabled')
    const enabled = await ok(['provider', 'enable', jwt.credentialProviderId])
    expect(enabled).toMatch(/^Status\s+enabled$/m)
    expect(await okJson(['provider', 'show', 'pay/signer'])).toMatchObject({ status: 'enabled' })

    // The audit log names what changed, not the secret.
    const events = await okJson<{ action: string }[]>(['audit', 'query'])
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining([
        'credential_provider.create',
        'credential_provider.update',
        'credential_provider.disable',
        'credential_provider.enable',
      ]),
    )

    const everything = [...printed, JSON.stringify(events), server.logs()].join('\n')
    for (const secret of [SECRET, ROTATED, FROM_FILE]) expect(everything).not.toContain(secret)
  }, 120_000)

  it('refuses usage mistakes before sending anything, and shows the server’s validation errors', async () => {
    server = await startServer()
    const { printed, run, ok, okJson } = recorder(server)
    const before = (await okJson<unknown[]>(['provider', 'list'])).length
    const oauth = ['provider', 'create', '--type', 'oauth', '--client-id', 'c']

    const noEndpoint = await run([...oauth, '--identifier', 'a'], `${SECRET}\n`)
    expect(noEndpoint.code).toBe(2)
    expect(noEndpoint.stderr).toBe('strongroom: an oauth provider needs --token-endpoint\n')

    const noClientId = await run(
      ['provider', 'create', '--type', 'oauth', '--identifier', 'a', '--token-endpoint', ENDPOINT],
      SECRET,
    )
    expect(noClientId.code).toBe(2)
    expect(noClientId.stderr).toContain('--client-id')

    const jwtOption = await run(
      [...oauth, '--identifier', 'a', '--token-endpoint', ENDPOINT, '--max-expiration', '60'],
      SECRET,
    )
    expect(jwtOption.code).toBe(2)
    expect(jwtOption.stderr).toBe('strongroom: --max-expiration applies only to jwt providers\n')

    const negated = await run([
      ...oauth,
      '--identifier',
      'a',
      '--token-endpoint',
      ENDPOINT,
      '--no-derived-short-token',
    ])
    expect(negated.code).toBe(2)
    expect(negated.stderr).toContain('--no-derived-short-token applies only to jwt providers')

    const oauthOption = await run([
      'provider',
      'create',
      '--type',
      'jwt',
      '--identifier',
      'j',
      '--client-id',
      'c',
    ])
    expect(oauthOption.code).toBe(2)
    expect(oauthOption.stderr).toContain('--client-id applies only to oauth providers')

    const badType = await run(['provider', 'create', '--type', 'saml', '--identifier', 'x'])
    expect(badType.code).toBe(2)
    expect(badType.stderr).toContain('saml')

    // A secret is never an argument: there is no such option.
    const asArgument = await run([
      ...oauth,
      '--identifier',
      'a',
      '--token-endpoint',
      ENDPOINT,
      `--client-secret=${SECRET}`,
    ])
    expect(asArgument.code).toBe(2)
    expect(asArgument.stderr).toContain("'--client-secret=…'")

    // The server refuses a plain-http endpoint that is not loopback, naming the field.
    const http = await run(
      [...oauth, '--identifier', 'a', '--token-endpoint', 'http://login.example.com/token'],
      `${SECRET}\n`,
    )
    expect(http.code).toBe(1)
    expect(http.stderr).toMatch(/^strongroom: .*field oauth\.tokenEndpoint/)
    expect(http.stderr).toContain('https')

    await ok([...oauth, '--identifier', 'up', '--token-endpoint', ENDPOINT], `${SECRET}\n`)
    await ok(['provider', 'create', '--type', 'jwt', '--identifier', 'jw'])

    const emptyUpdate = await run(['provider', 'update', 'up'])
    expect(emptyUpdate.code).toBe(2)
    expect(emptyUpdate.stderr).toContain('provider update needs')

    const wrongType = await run(['provider', 'update', 'up', '--issuer', 'https://issuer.example.com'])
    expect(wrongType.code).toBe(2)
    expect(wrongType.stderr).toBe(
      'strongroom: --issuer applies only to jwt providers; up is a provider of type oauth\n',
    )
    const wrongTypeJwt = await run(['provider', 'update', 'jw', '--client-secret-file', '-'], `${SECRET}\n`)
    expect(wrongTypeJwt.code).toBe(2)
    expect(wrongTypeJwt.stderr).toContain('--client-secret-file applies only to oauth providers')

    const conflicting = await run([
      'provider',
      'update',
      'jw',
      '--no-allowed-issuers',
      '--allowed-issuer',
      'x',
    ])
    expect(conflicting.code).toBe(2)

    const missing = await run(['provider', 'show', 'nope'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('CredentialProviderNotFound')

    const emptySecret = await run([...oauth, '--identifier', 'e', '--token-endpoint', ENDPOINT], '\n')
    expect(emptySecret.code).toBe(1)
    expect(emptySecret.stderr).toContain('the client secret is empty')

    // Only the two good ones were made.
    expect(await okJson(['provider', 'list'])).toHaveLength(before + 2)
    expect([...printed, server.logs()].join('\n')).not.toContain(SECRET)
  }, 120_000)
})
