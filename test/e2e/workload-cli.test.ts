// `strongroom get …` and `strongroom token …`: the commands a workload runs, with the client
// configuration the SDK reads (the demo's, as `npm start` prints it), against the real server.
// The secret goes to stdout or a 0600 file, and never to stderr.
import { createPublicKey } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  FIXTURE_PASSPHRASE,
  hasSshKeygen,
  openSshPublicKey,
  privateKeyText,
  publicKeyInOpenSshKey,
  publicKeyOf,
  sshKeygenPublicKey,
} from '../fixtures/ssh/ssh-fixtures.js'
import { type CliResult, runCli, type ServerProcess, startServer } from '../support/server-process.js'
import { ok, okJson } from './cli.js'

describe('the workload CLI: strongroom get and strongroom token', () => {
  let server: ServerProcess
  let env: Record<string, string | undefined>
  let applicationId: string
  let apiKey: string

  /** `strongroom …` as the demo workload: its client configuration and secret, no admin token. */
  const asWorkload = (args: string[], extraEnv: Record<string, string | undefined> = {}) =>
    runCli(args, { env: { ...env, ...extraEnv }, cwd: server.dataDir })

  const expectOk = (r: CliResult) => {
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}${r.stdout}`)
    return r.stdout
  }

  /** Creates an account through the admin API. */
  const createAccount = async (body: Record<string, unknown>) => {
    const response = await fetch(`${server.url}/admin/v1/instances/${await instanceId()}/accounts`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await server.adminToken()}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    })
    expect(response.status).toBe(201)
    return (await response.json()) as { accountId: string }
  }
  let instance: string
  const instanceId = async () => instance

  beforeAll(async () => {
    server = await startServer()
    const configPath = join(server.dataDir, 'client-config.json')
    const config = JSON.parse(await readFile(configPath, 'utf8')) as {
      clientId: string
      idaasInstanceId: string
    }
    instance = config.idaasInstanceId
    const apps = await okJson<{ applicationId: string; clientId: string }[]>(server, ['app', 'list'])
    applicationId = apps.find((a) => a.clientId === config.clientId)!.applicationId
    env = {
      CLOUD_IDAAS_CONFIG_PATH: configPath,
      IDAAS_CLIENT_SECRET: (await readFile(join(server.dataDir, 'client-secret'), 'utf8')).trim(),
      STRONGROOM_ADMIN_TOKEN: undefined,
      HOME: server.dataDir,
    }
    apiKey = (await okJson(server, ['credential', 'reveal', 'demo/api-key'])).value.apiKey as string

    await createAccount({
      accountName: 'DB-SERVER/admin',
      password: 'db-admin-pw-canary',
      requiresReason: true,
    })
    await createAccount({
      accountName: 'WEB-01/deploy',
      sshKey: {
        key: privateKeyText('ed25519-encrypted'),
        passphrase: FIXTURE_PASSPHRASE['ed25519-encrypted'],
        fileName: 'id_ed25519',
      },
    })
    await createAccount({ accountName: 'HR-DB/root', password: 'not-granted' })
    for (const resource of ['DB-SERVER/admin', 'WEB-01/deploy']) {
      await ok(server, [
        'grant',
        'create',
        '--app',
        applicationId,
        '--type',
        'account',
        '--resource',
        resource,
        '--actions',
        'obtain,read',
      ])
    }
  })
  afterAll(async () => server?.stop())

  it('prints an API key to stdout, and nothing secret to stderr', async () => {
    const r = await asWorkload(['get', 'api-key', 'demo/api-key'])
    expect(expectOk(r)).toBe(`${apiKey}\n`)
    expect(r.stderr).not.toContain(apiKey)
    const json = JSON.parse(expectOk(await asWorkload(['get', 'api-key', 'demo/api-key', '--json'])))
    expect(json.credentialContent.apiKeyContent.apiKey).toBe(apiKey)
  })

  it('writes the secret to a file only its owner may read with --out', async () => {
    const r = await asWorkload(['get', 'api-key', 'demo/api-key', '--out', 'api-key.txt'])
    expectOk(r)
    expect(r.stdout).toBe('')
    expect(r.stderr).not.toContain(apiKey)
    const file = join(server.dataDir, 'api-key.txt')
    expect(await readFile(file, 'utf8')).toBe(`${apiKey}\n`)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    // An existing file with a looser mode is replaced by a 0600 one.
    await writeFile(file, 'old', { mode: 0o644 })
    expectOk(await asWorkload(['get', 'api-key', 'demo/api-key', '--out', 'api-key.txt']))
    expect((await stat(file)).mode & 0o777).toBe(0o600)
  })

  it('asks for a reason where the account requires one, and records it', async () => {
    const refused = await asWorkload(['get', 'password', 'DB-SERVER/admin'])
    expect(refused.code).toBe(1)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toMatch(/ReasonRequired: .*\(field reason\)/)
    expect(refused.stderr).not.toContain('db-admin-pw-canary')

    const served = await asWorkload(['get', 'password', 'DB-SERVER/admin', '--reason', 'INC-4242 failover'])
    expect(expectOk(served)).toBe('db-admin-pw-canary\n')
    expect(served.stderr).not.toContain('db-admin-pw-canary')

    const events = await okJson<{ action: string; outcome: string; reason: string | null }[]>(server, [
      'audit',
      'query',
      '--action',
      'account.obtain_password',
    ])
    expect(events.map((e) => [e.outcome, e.reason])).toEqual(
      expect.arrayContaining([
        ['denied', null],
        ['success', 'INC-4242 failover'],
      ]),
    )
  })

  it('serves the demo account npm start creates, as the banner shows', async () => {
    const password = expectOk(
      await asWorkload(['get', 'password', 'demo-db/admin', '--reason', 'trying strongroom']),
    )
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}\n$/)
    const refused = await asWorkload(['get', 'password', 'demo-db/admin'])
    expect(refused.stderr).toMatch(/ReasonRequired/)
  })

  it('prints an SSH key decrypted or as stored', async () => {
    const stored = privateKeyText('ed25519-encrypted')
    const asStored = await asWorkload(['get', 'ssh-key', 'WEB-01/deploy'])
    expect(expectOk(asStored)).toBe(stored.endsWith('\n') ? stored : `${stored}\n`)
    expect(asStored.stderr).toContain('encrypted')

    const decrypted = await asWorkload([
      'get',
      'ssh-key',
      'WEB-01/deploy',
      '--decrypt',
      '--out',
      'id_ed25519',
    ])
    expectOk(decrypted)
    const pem = await readFile(join(server.dataDir, 'id_ed25519'), 'utf8')
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    expect((await stat(join(server.dataDir, 'id_ed25519'))).mode & 0o777).toBe(0o600)
    expect(openSshPublicKey(createPublicKey(pem))).toBe(publicKeyOf('ed25519-encrypted').publicKey)

    const json = JSON.parse(expectOk(await asWorkload(['get', 'ssh-key', 'WEB-01/deploy', '--json'])))
    expect(json).toMatchObject({ accountName: 'WEB-01/deploy', decrypted: false, fileName: 'id_ed25519' })
    expect(json.passphrase).toBeTypeOf('string')
  })

  it('writes a decrypted SSH key as an OpenSSH key with --format openssh, which ssh-keygen reads; --format needs --decrypt', async () => {
    const pub = publicKeyOf('ed25519-encrypted')
    const r = await asWorkload([
      'get',
      'ssh-key',
      'WEB-01/deploy',
      '--decrypt',
      '--format',
      'openssh',
      '--out',
      'id_openssh',
    ])
    expectOk(r)
    expect(r.stdout).toBe('')
    const file = join(server.dataDir, 'id_openssh')
    const key = await readFile(file, 'utf8')
    expect(key).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/)
    expect(r.stderr).not.toContain(key.split('\n')[1])
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(publicKeyInOpenSshKey(key)).toBe(pub.publicKey)
    if (hasSshKeygen()) expect(sshKeygenPublicKey(file)).toBe(pub.publicKey)
    const json = JSON.parse(
      expectOk(
        await asWorkload(['get', 'ssh-key', 'WEB-01/deploy', '--decrypt', '--format', 'openssh', '--json']),
      ),
    )
    expect(json).toMatchObject({ decrypted: true, format: 'openssh', passphrase: null })
    expect(publicKeyInOpenSshKey(json.key)).toBe(pub.publicKey)

    for (const args of [
      ['--format', 'openssh'],
      ['--format', 'pem', '--out', 'never-written'],
    ]) {
      const refused = await asWorkload(['get', 'ssh-key', 'WEB-01/deploy', ...args])
      expect(refused.code, args.join(' ')).toBe(2)
      expect(refused.stdout).toBe('')
      expect(refused.stderr).toBe(
        'strongroom: --format applies only with --decrypt: a key as stored keeps its own format\n',
      )
    }
    await expect(stat(join(server.dataDir, 'never-written'))).rejects.toMatchObject({ code: 'ENOENT' })
    const unknown = await asWorkload(['get', 'ssh-key', 'WEB-01/deploy', '--decrypt', '--format', 'ppk'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/^strongroom: option '--format <format>' argument 'ppk' is invalid/)
  })

  it('lists the accounts this workload may see', async () => {
    const accounts = JSON.parse(expectOk(await asWorkload(['get', 'accounts', '--json'])))
    expect(accounts.map((a: { name: string }) => a.name).sort()).toEqual([
      'DB-SERVER/admin',
      'WEB-01/deploy',
      'demo-db/admin',
    ])
    const table = expectOk(await asWorkload(['get', 'accounts']))
    expect(table).toMatch(/DB-SERVER\/admin .*required/)
  })

  it('refuses clearly: an account not granted, one that does not exist, a key that is not set', async () => {
    const notGranted = await asWorkload(['get', 'password', 'HR-DB/root'])
    expect(notGranted.code).toBe(1)
    expect(notGranted.stderr).toMatch(/PermissionDenied/)
    expect(notGranted.stderr).not.toContain('not-granted')
    const noKey = await asWorkload(['get', 'ssh-key', 'DB-SERVER/admin', '--reason', 'check'])
    expect(noKey.stderr).toMatch(/SshKeyNotSet/)
    const noPassword = await asWorkload(['get', 'password', 'WEB-01/deploy'])
    expect(noPassword.stderr).toMatch(/PasswordNotSet/)
  })

  it('mints a JWT from the demo provider, and an oauth token only where one exists', async () => {
    const jwt = expectOk(
      await asWorkload([
        'token',
        'jwt',
        '--provider',
        'demo-jwt',
        '--subject',
        'build-42',
        '--audience',
        'https://api.example',
        '--claim',
        'team=payments',
      ]),
    ).trim()
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'))
    expect(payload).toMatchObject({ sub: 'build-42', aud: 'https://api.example', team: 'payments' })

    const json = JSON.parse(
      expectOk(
        await asWorkload([
          'token',
          'jwt',
          '--provider',
          'demo-jwt',
          '--subject',
          's',
          '--audience',
          'a',
          '--short-token',
          '--json',
        ]),
      ),
    )
    expect(json.jwtContent.derivedShortToken).toMatch(/^sk-/)
    const missing = await asWorkload(['token', 'oauth', '--provider', 'no-such-provider'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^strongroom: (PermissionDenied|CredentialProviderNotFound): /m)
  })

  it('says what is missing without a client configuration', async () => {
    const r = await asWorkload(['get', 'api-key', 'demo/api-key'], {
      CLOUD_IDAAS_CONFIG_PATH: join(server.dataDir, 'nowhere.json'),
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('nowhere.json')
    expect(r.stderr).not.toContain(env.IDAAS_CLIENT_SECRET!)
  })
})
