// The SDK's account operations and key-bound tokens against the real server: getPassword,
// getSshKey and getAccounts (its cache seen from the wire), the typed errors of each refusal, and
// scoped and session tokens presented with DPoP proofs (the bound key accepted, another refused,
// a session refreshed and ended). The SDK is imported from its sources, as in sdk-client.test.ts.
import { spawn } from 'node:child_process'
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AccountDisabledError,
  AccountNotFoundError,
  PasswordNotSetError,
  ReasonRequiredError,
  SshKeyNotSetError,
  SshKeyNotSupportedError,
} from '../../packages/sdk/src/account-errors.js'
import { ProofRejectedError, SessionRevokedError } from '../../packages/sdk/src/bound-token-errors.js'
import { boundFetch } from '../../packages/sdk/src/bound-tokens/bound-fetch.js'
import type { AccountsCacheOptions } from '../../packages/sdk/src/client/accounts-cache.js'
import { PamClient } from '../../packages/sdk/src/client/pam-client.js'
import { fromClientSecret } from '../../packages/sdk/src/credentials/from-client-secret.js'
import { tokenEndpointCall } from '../../packages/sdk/src/credentials/token-endpoint-call.js'
import { NotFoundError, PermissionError, ValidationError } from '../../packages/sdk/src/errors.js'
import { createHttpClient } from '../../packages/sdk/src/http/http-client.js'
import { createProofKey, type ProofKey } from '../../packages/sdk/src/proof/proof-key.js'
import { repoRoot, type ServerProcess, startServer } from '../support/server-process.js'
import { ok, okJson } from './cli.js'

const PAM = 'urn:cloud:idaas:pam'
const PASSWORD = 'canary-e2e-db-password-41c7'
const AUDITED_PASSWORD = 'canary-e2e-audited-password-9e02'
const PLAIN_KEY = generateKeyPairSync('ed25519')
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString()

interface DemoConfig {
  idaasInstanceId: string
  tokenEndpoint: string
  developerApiEndpoint: string
}

describe('PamClient accounts and key-bound tokens against the real server', () => {
  let server: ServerProcess
  let config: DemoConfig
  let app: { applicationId: string; clientId: string; clientSecret: string }
  /** Every URL the clients of `client()` asked for, in order. */
  const sent: string[] = []

  /** A client of the test application, counting its requests, with the scope asked for. */
  const client = (options: { scope?: string; accountsCache?: AccountsCacheOptions } = {}): PamClient => {
    const http = createHttpClient({
      fetch: (url, init) => {
        sent.push(`${init.method} ${url}`)
        return fetch(url, init)
      },
    })
    const credentials = fromClientSecret({
      clientId: app.clientId,
      tokenEndpoint: config.tokenEndpoint,
      clientSecret: app.clientSecret,
      call: tokenEndpointCall(http, config.tokenEndpoint),
      scope: options.scope ?? `${PAM}|account:obtain account:read`,
    })
    return new PamClient({
      credentials,
      instanceId: config.idaasInstanceId,
      endpoint: config.developerApiEndpoint,
      http,
      ...(options.accountsCache === undefined ? {} : { accountsCache: options.accountsCache }),
    })
  }

  const adminAccounts = async () =>
    `${server.url}/admin/v1/instances/${encodeURIComponent(config.idaasInstanceId)}/accounts`
  const admin = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${await server.adminToken()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    if (!response.ok)
      throw new Error(`${method} ${url} answered ${response.status}: ${await response.text()}`)
    return (await response.json()) as { accountId: string }
  }
  const createAccount = async (body: Record<string, unknown>) => admin('POST', await adminAccounts(), body)

  /** How many ListAccounts requests were sent since `from`. */
  const listRequests = (from: number) =>
    sent.slice(from).filter((s) => /^GET .*\/accounts(\?|$)/.test(s)).length

  beforeAll(async () => {
    server = await startServer()
    config = JSON.parse(await readFile(join(server.dataDir, 'client-config.json'), 'utf8'))
    const created = await okJson(server, [
      'app',
      'create',
      '--name',
      'sdk-accounts',
      '--scope',
      `${PAM}|account:obtain`,
      '--scope',
      `${PAM}|account:read`,
    ])
    const secret = await okJson(server, ['app', 'secret', 'create', created.applicationId])
    app = {
      applicationId: created.applicationId,
      clientId: created.clientId,
      clientSecret: secret.clientSecret,
    }

    await createAccount({ accountName: 'DB-SERVER/admin', password: PASSWORD })
    await createAccount({
      accountName: 'DB-SERVER/audited',
      password: AUDITED_PASSWORD,
      requiresReason: true,
    })
    const retired = await createAccount({ accountName: 'DB-SERVER/retired', password: 'old' })
    await admin('POST', `${await adminAccounts()}/${retired.accountId}/disable`)
    await createAccount({ accountName: 'web-01/deploy', sshKey: { key: PLAIN_KEY, fileName: 'id_ed25519' } })
    // Encrypted, stored without its passphrase: handed out as stored, never decrypted.
    const encrypted = await readFile(join(repoRoot, 'test/fixtures/ssh/ed25519-encrypted'), 'utf8')
    await createAccount({ accountName: 'web-01/legacy', sshKey: { key: encrypted } })
    await createAccount({ accountName: 'hr/payroll', password: 'not-yours' })
    for (const prefix of ['DB-SERVER/', 'web-01/']) {
      await ok(server, [
        'grant',
        'create',
        '--app',
        app.applicationId,
        '--type',
        'account',
        '--resource',
        prefix,
        '--prefix',
        '--actions',
        'obtain,read',
      ])
    }
  })
  afterAll(async () => server?.stop())

  it('getPassword and obtainPassword answer the password, which never prints', async () => {
    await using pam = client()
    expect(await pam.getPassword('DB-SERVER/admin')).toBe(PASSWORD)
    const obtained = await pam.obtainPassword('DB-SERVER/admin')
    expect(obtained).toMatchObject({ accountName: 'DB-SERVER/admin', version: 1 })
    expect(obtained.accountId).toMatch(/^acct_/)
    expect(obtained.password).toBe(PASSWORD)
    for (const printed of [inspect(obtained, { depth: 10 }), JSON.stringify(obtained)])
      expect(printed).not.toContain(PASSWORD)
    expect(await pam.getPassword('DB-SERVER/audited', { reason: 'INC-4711 failover' })).toBe(AUDITED_PASSWORD)
  })

  it('getSshKey answers the key as stored, or decrypted to PKCS#8 PEM, with its public facts', async () => {
    await using pam = client()
    const stored = await pam.getSshKey('web-01/deploy')
    expect(stored).toMatchObject({
      accountName: 'web-01/deploy',
      decrypted: false,
      fileName: 'id_ed25519',
      keyType: 'ssh-ed25519',
    })
    expect(stored.key).toBe(PLAIN_KEY)
    expect(stored.passphrase).toBeNull()
    expect(stored.fingerprint).toMatch(/^SHA256:/)
    expect(stored.publicKey).toMatch(/^ssh-ed25519 AAAA/)
    expect(inspect(stored)).not.toContain(PLAIN_KEY)
    expect(JSON.stringify(stored)).not.toContain(PLAIN_KEY)

    const decrypted = await pam.getSshKey('web-01/deploy', { decrypt: true })
    expect(decrypted.decrypted).toBe(true)
    expect(decrypted.key).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    const publicOf = (pem: string) =>
      createPublicKey(createPrivateKey(pem)).export({ format: 'der', type: 'spki' }).toString('hex')
    expect(publicOf(decrypted.key)).toBe(publicOf(PLAIN_KEY))

    const legacy = await pam.getSshKey('web-01/legacy')
    expect(legacy.key).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/)
    expect(legacy.passphrase).toBeNull()
  })

  it('each refusal is its own error class, under the class of its status', async () => {
    await using pam = client()
    const refusal = (call: Promise<unknown>) =>
      call.then(
        () => expect.fail('expected a refusal'),
        (e: unknown) => e,
      )

    const missing = await refusal(pam.getPassword('DB-SERVER/nobody'))
    expect(missing).toBeInstanceOf(AccountNotFoundError)
    expect(missing).toBeInstanceOf(NotFoundError)
    expect(missing).toMatchObject({
      code: 'ERR_PAM_ACCOUNT_NOT_FOUND',
      status: 404,
      serverCode: 'AccountNotFound',
    })
    expect((missing as AccountNotFoundError).requestId).toBeTruthy()

    expect(await refusal(pam.getPassword('web-01/deploy'))).toBeInstanceOf(PasswordNotSetError)
    expect(await refusal(pam.getSshKey('DB-SERVER/admin'))).toBeInstanceOf(SshKeyNotSetError)

    const reasonless = await refusal(pam.getPassword('DB-SERVER/audited'))
    expect(reasonless).toBeInstanceOf(ReasonRequiredError)
    expect(reasonless).toBeInstanceOf(ValidationError)
    expect(reasonless).toMatchObject({ code: 'ERR_PAM_REASON_REQUIRED', status: 400, field: 'reason' })

    const disabled = await refusal(pam.getPassword('DB-SERVER/retired'))
    expect(disabled).toBeInstanceOf(AccountDisabledError)
    expect(disabled).toBeInstanceOf(PermissionError)

    const unsupported = await refusal(pam.getSshKey('web-01/legacy', { decrypt: true }))
    expect(unsupported).toBeInstanceOf(SshKeyNotSupportedError)
    expect(unsupported).toMatchObject({ code: 'ERR_PAM_SSH_KEY_NOT_SUPPORTED', status: 409 })

    const ungranted = await refusal(pam.getPassword('hr/payroll'))
    expect(ungranted).toBeInstanceOf(PermissionError)
    expect(ungranted).toMatchObject({ code: 'ERR_PAM_PERMISSION', serverCode: 'PermissionDenied' })

    await using reader = client({ scope: `${PAM}|account:read` })
    const unscoped = await refusal(reader.getPassword('DB-SERVER/admin'))
    expect(unscoped).toMatchObject({ code: 'ERR_PAM_PERMISSION', serverCode: 'InsufficientScope' })
    for (const error of [missing, reasonless, disabled, unsupported, ungranted, unscoped])
      expect(inspect(error)).not.toContain(PASSWORD)
  })

  it('getAccounts lists the granted accounts once per TTL; forceRefresh and the TTL list again', async () => {
    let now = Date.now()
    await using pam = client({ accountsCache: { now: () => now } })
    const from = sent.length
    const accounts = await pam.getAccounts()
    expect(accounts.map((a) => a.name).sort()).toEqual([
      'DB-SERVER/admin',
      'DB-SERVER/audited',
      'DB-SERVER/retired',
      'web-01/deploy',
      'web-01/legacy',
    ])
    expect(accounts.find((a) => a.name === 'DB-SERVER/audited')).toMatchObject({
      requiresReason: true,
      hasPassword: true,
      hasKey: false,
      status: 'enabled',
    })
    expect(accounts.find((a) => a.name === 'web-01/deploy')).toMatchObject({
      hasKey: true,
      isKeySupported: true,
    })
    expect(accounts.find((a) => a.name === 'web-01/legacy')).toMatchObject({
      hasKey: true,
      isKeySupported: false,
    })
    expect(accounts.find((a) => a.name === 'DB-SERVER/retired')?.status).toBe('disabled')
    expect(listRequests(from)).toBe(1)

    now += 299_000
    expect(await pam.getAccounts()).toBe(accounts)
    await Promise.all(Array.from({ length: 20 }, () => pam.getAccounts()))
    expect(listRequests(from)).toBe(1)

    await createAccount({ accountName: 'web-01/new', password: 'fresh' })
    const refreshed = await pam.getAccounts({ forceRefresh: true })
    expect(listRequests(from)).toBe(2)
    expect(refreshed.map((a) => a.name)).toContain('web-01/new')
    expect(await pam.getAccounts()).toBe(refreshed)
    expect(listRequests(from)).toBe(2)

    now += 300_000
    await pam.getAccounts()
    expect(listRequests(from)).toBe(3)
  })

  it('concurrent cold calls share one listing', async () => {
    await using pam = client()
    const from = sent.length
    const lists = await Promise.all(Array.from({ length: 50 }, () => pam.getAccounts()))
    expect(new Set(lists).size).toBe(1)
    expect(listRequests(from)).toBe(1)
  })

  describe('key-bound tokens', () => {
    let key: ProofKey
    let otherKey: ProofKey
    let base: string
    beforeAll(async () => {
      key = await createProofKey()
      otherKey = await createProofKey('EdDSA')
      base = `${config.developerApiEndpoint}/v2/${config.idaasInstanceId}`
    })

    /** POST obtainPassword with `fetcher`, answering the status and the body. */
    const obtainWith = async (fetcher: ReturnType<typeof boundFetch>) => {
      const response = await fetcher(`${base}/accounts/_/actions/obtainPassword`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accountName: 'DB-SERVER/admin' }),
      })
      return { status: response.status, body: (await response.json()) as Record<string, unknown> }
    }

    it('a scoped token works with a proof of its key, is refused with another key, and carries only its scope', async () => {
      await using pam = client()
      const token = await pam.getScopedToken({ scope: `${PAM}|account:read`, key, expiration: 120 })
      expect(token).toMatchObject({ tokenType: 'DPoP', scope: `${PAM}|account:read`, jkt: key.thumbprint })
      expect(token.expirationTime - Date.now()).toBeLessThanOrEqual(120_000)
      expect(inspect(token)).not.toContain(token.accessToken)

      const listed = await boundFetch(token, key)(`${base}/accounts`)
      expect(listed.status).toBe(200)
      const page = (await listed.json()) as { entities: { name: string }[] }
      expect(page.entities.map((a) => a.name)).toContain('DB-SERVER/admin')

      const stolen = await boundFetch(token, otherKey)(`${base}/accounts`)
      expect(stolen.status).toBe(401)
      expect(((await stolen.json()) as { Code: string }).Code).toBe('ProofKeyMismatch')
      expect(stolen.headers.get('www-authenticate')).toMatch(/^DPoP /)

      const asBearer = await fetch(`${base}/accounts`, {
        headers: { authorization: `Bearer ${token.accessToken}` },
      })
      expect(asBearer.status).toBe(401)

      // account:read lists, but does not obtain.
      const narrowed = await obtainWith(boundFetch(token, key))
      expect(narrowed).toMatchObject({ status: 403, body: { Code: 'InsufficientScope' } })
    })

    it('a session token obtains, is refreshed with its key, not with another, and ends when revoked', async () => {
      await using pam = client()
      const session = await pam.startSession({
        scope: `${PAM}|account:obtain`,
        key,
        sessionExpirationInMinutes: 5,
      })
      expect(session.sessionId).toBeTruthy()
      expect(session.sessionExpirationTime - Date.now()).toBeLessThanOrEqual(5 * 60_000)
      expect(await obtainWith(boundFetch(session, key))).toMatchObject({
        status: 200,
        body: { password: PASSWORD },
      })
      expect((await obtainWith(boundFetch(session, otherKey))).status).toBe(401)

      const refreshed = await pam.refreshSessionToken(session, key)
      expect(refreshed.sessionId).toBe(session.sessionId)
      expect(refreshed.tokenId).not.toBe(session.tokenId)
      expect(refreshed.accessToken).not.toBe(session.accessToken)
      expect(await obtainWith(boundFetch(refreshed, key))).toMatchObject({ status: 200 })

      const mismatch = await pam.refreshSessionToken(refreshed, otherKey).catch((e: unknown) => e)
      expect(mismatch).toBeInstanceOf(ProofRejectedError)
      expect(mismatch).toMatchObject({ reason: 'ProofKeyMismatch', status: 401 })

      await pam.revokeSession(refreshed, key)
      await pam.revokeSession(refreshed, key) // idempotent
      const ended = await pam.refreshSessionToken(refreshed, key).catch((e: unknown) => e)
      expect(ended).toBeInstanceOf(SessionRevokedError)
      expect((await obtainWith(boundFetch(refreshed, key))).status).toBe(401)
    })
  })

  it('the get-password example runs with a client configuration for the application', async () => {
    const demo = JSON.parse(await readFile(join(server.dataDir, 'client-config.json'), 'utf8'))
    const configPath = join(server.dataDir, 'sdk-accounts-client-config.json')
    const scope = `${PAM}|account:obtain account:read`
    await writeFile(configPath, JSON.stringify({ ...demo, clientId: app.clientId, scope }), { mode: 0o600 })
    const env = { ...process.env, CLOUD_IDAAS_CONFIG_PATH: configPath, IDAAS_CLIENT_SECRET: app.clientSecret }
    const run = (args: string[]) =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const example = join(repoRoot, 'packages/sdk/examples/dist/get-password.js')
        const child = spawn(process.execPath, [example, ...args], { env: { ...env, NO_COLOR: '1' } })
        let output = ''
        child.stdout.on('data', (c: Buffer) => {
          output += c.toString()
        })
        child.stderr.on('data', (c: Buffer) => {
          output += c.toString()
        })
        child.on('close', (code) => resolve({ code, output }))
      })

    const ran = await run(['DB-SERVER/admin'])
    expect(ran.code, ran.output).toBe(0)
    expect(ran.output).toContain('DB-SERVER/audited (reason)')
    expect(ran.output).toContain(`DB-SERVER/admin: [${PASSWORD.length} characters, not shown]`)
    expect(ran.output).not.toContain(PASSWORD.slice(0, 5))
    expect(ran.output).toContain("password: '[REDACTED]'")
    expect(ran.output).not.toContain(PASSWORD)

    const refused = await run(['DB-SERVER/audited'])
    expect(refused.code).toBe(1)
    expect(refused.output).toContain('DB-SERVER/audited wants a reason')
    expect(refused.output).toContain('ReasonRequiredError')
    const given = await run(['DB-SERVER/audited', 'INC-4711'])
    expect(given.code, given.output).toBe(0)
    expect(given.output).not.toContain(AUDITED_PASSWORD)
  })

  it('no secret reached the server’s output', () => {
    const logs = server.logs()
    for (const secret of [PASSWORD, AUDITED_PASSWORD, app.clientSecret]) expect(logs).not.toContain(secret)
  })
})
