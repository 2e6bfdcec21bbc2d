import { createPublicKey } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readSshPrivateKey } from '../../src/crypto/ssh-keys/index.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import {
  createWorkload,
  grantAccounts,
  openSshPublicKey,
  PAM,
  privateKeyText,
  publicKeyOf,
  type TestWorkload,
  workloadCall,
} from './accounts-fixtures.js'

const PASSWORD = 'retrieval-password-2b9e'
const OBTAIN_PASSWORD = '/accounts/_/actions/obtainPassword'
const OBTAIN_SSH_KEY = '/accounts/_/actions/obtainSshKey'

describe.each(ENGINES)('account retrieval by workloads on %s', (engine) => {
  let t: TestServer
  let owner: TestWorkload
  let reader: TestWorkload
  let nobody: TestWorkload
  const tokens: Record<string, string> = {}
  const ids: Record<string, string> = {}

  beforeAll(async () => {
    t = await openTestServer(engine)
    const A = `/admin/v1/instances/${t.instanceId}/accounts`
    const create = async (body: Record<string, unknown>) => {
      const res = await call(t, 'POST', A, body)
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      ids[body.accountName as string] = res.body.accountId
    }
    const ed25519 = { key: privateKeyText('ed25519-encrypted'), passphrase: 'pass', fileName: 'id_ed25519' }
    await create({ accountName: 'db-01/admin', password: PASSWORD, sshKey: ed25519 })
    await create({ accountName: 'db-01/audited', password: PASSWORD, requiresReason: true })
    await create({ accountName: 'db-01/keyless', password: PASSWORD })
    await create({ accountName: 'db-01/passwordless', sshKey: { key: privateKeyText('ed25519-plain') } })
    await create({ accountName: 'db-01/locked', sshKey: { key: privateKeyText('ed25519-encrypted') } })
    await create({ accountName: 'db-01/off', password: PASSWORD })
    await call(t, 'POST', `${A}/db-01%2Foff/disable`)
    await create({ accountName: 'hr-01/payroll', password: 'not-yours-91' })
    owner = await createWorkload(t, 'owner')
    reader = await createWorkload(t, 'reader')
    nobody = await createWorkload(t, 'nobody')
    await grantAccounts(t, owner.applicationId, 'db-01/', ['obtain'], true)
    await grantAccounts(t, reader.applicationId, 'hr-01/payroll', ['read'])
    await grantAccounts(t, reader.applicationId, ids['db-01/admin']!, ['read'])
    tokens.owner = await owner.token()
    tokens.ownerRead = await owner.token(`${PAM}|account:read`)
    tokens.ownerCredentials = await owner.token(`${PAM}|credential:obtain`)
    tokens.reader = await reader.token(`${PAM}|account:read`)
    tokens.readerAll = await reader.token()
    tokens.nobody = await nobody.token()
  })
  afterAll(async () => t?.close())

  const events = async (action: string) =>
    (
      await call(
        t,
        'GET',
        `/admin/v1/instances/${t.instanceId}/audit/events?action=${action}&maxResults=1000`,
      )
    ).body.entities as {
      outcome: string
      reason: string | null
      resourceId: string | null
      details: Record<string, unknown>
    }[]

  it('lists the accounts granted for read or obtain, by keyset pages, never a secret', async () => {
    const names: string[] = []
    let next: string | null = null
    do {
      const query: string = `?maxResults=2${next ? `&nextToken=${next}` : ''}`
      const page = await workloadCall(t, tokens.ownerRead, 'GET', `/accounts${query}`)
      expect(page.status).toBe(200)
      names.push(...page.body.entities.map((a: { name: string }) => a.name))
      next = page.body.nextToken
    } while (next)
    expect(names).toEqual([
      'db-01/admin',
      'db-01/audited',
      'db-01/keyless',
      'db-01/passwordless',
      'db-01/locked',
      'db-01/off',
    ])
    const all = await workloadCall(t, tokens.owner, 'GET', '/accounts')
    expect(all.body.entities[0]).toEqual({
      id: ids['db-01/admin'],
      name: 'db-01/admin',
      displayName: 'db-01/admin',
      status: 'enabled',
      requiresReason: false,
      hasPassword: true,
      hasKey: true,
      isKeySupported: true,
    })
    expect(all.body.entities.find((a: { name: string }) => a.name === 'db-01/off').status).toBe('disabled')
    expect(JSON.stringify(all.body)).not.toContain(PASSWORD)
    const byExact = await workloadCall(t, tokens.reader, 'GET', '/accounts')
    expect(byExact.body.entities.map((a: { name: string }) => a.name)).toEqual([
      'db-01/admin',
      'hr-01/payroll',
    ])
    expect((await workloadCall(t, tokens.nobody, 'GET', '/accounts')).body).toMatchObject({
      entities: [],
      nextToken: null,
    })
    const unscoped = await workloadCall(t, tokens.ownerCredentials, 'GET', '/accounts')
    expect(unscoped).toMatchObject({ status: 403, body: { Code: 'InsufficientScope' } })
    expect((await workloadCall(t, undefined, 'GET', '/accounts')).status).toBe(401)
  })

  it('hands out a password by name or id, after its audit event, with the reason given', async () => {
    const res = await workloadCall(t, tokens.owner, 'POST', OBTAIN_PASSWORD, {
      accountName: 'db-01/admin',
      reason: 'INC-42 restore',
    })
    expect(res).toMatchObject({ status: 200 })
    expect(res.body).toEqual({
      accountId: ids['db-01/admin'],
      accountName: 'db-01/admin',
      version: 1,
      password: PASSWORD,
    })
    const byId = await workloadCall(t, tokens.owner, 'POST', OBTAIN_PASSWORD, {
      accountName: ids['db-01/admin'],
    })
    expect(byId.body.password).toBe(PASSWORD)
    const success = (await events('account.obtain_password')).filter((e) => e.outcome === 'success')
    expect(success.at(-2)).toMatchObject({
      reason: 'INC-42 restore',
      resourceId: ids['db-01/admin'],
      details: { accountName: 'db-01/admin', accountId: ids['db-01/admin'], version: 1 },
    })
    expect(success.at(-1)?.reason).toBeNull()
    expect(JSON.stringify(success)).not.toContain(PASSWORD)
  })

  it('hands out an SSH key as stored, or decrypted to PKCS#8 PEM of the same public key', async () => {
    const stored = await workloadCall(t, tokens.owner, 'POST', OBTAIN_SSH_KEY, { accountName: 'db-01/admin' })
    const pub = publicKeyOf('ed25519-encrypted')
    expect(stored.body).toEqual({
      accountId: ids['db-01/admin'],
      accountName: 'db-01/admin',
      version: 1,
      decrypted: false,
      key: privateKeyText('ed25519-encrypted'),
      passphrase: 'pass',
      fileName: 'id_ed25519',
      ...pub,
    })
    const decrypted = await workloadCall(t, tokens.owner, 'POST', OBTAIN_SSH_KEY, {
      accountName: 'db-01/admin',
      decrypt: true,
    })
    expect(decrypted.body).toMatchObject({
      decrypted: true,
      passphrase: null,
      fileName: 'id_ed25519',
      ...pub,
    })
    expect(decrypted.body.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/)
    expect(openSshPublicKey(createPublicKey(decrypted.body.key))).toBe(pub.publicKey)
    const locked = await workloadCall(t, tokens.owner, 'POST', OBTAIN_SSH_KEY, {
      accountName: 'db-01/locked',
    })
    expect(locked.body).toMatchObject({
      decrypted: false,
      passphrase: null,
      key: privateKeyText('ed25519-encrypted'),
    })
    const audited = (await events('account.obtain_ssh_key')).filter((e) => e.outcome === 'success')
    expect(audited.map((e) => e.details.decrypt)).toEqual([false, true, false])
    expect(JSON.stringify(audited)).not.toMatch(/PRIVATE KEY|"pass"/)
  })

  it('hands out a decrypted SSH key as an OpenSSH key with format: openssh, and refuses format without decrypt', async () => {
    const obtain = (body: Record<string, unknown>) =>
      workloadCall(t, tokens.owner, 'POST', OBTAIN_SSH_KEY, body)
    const before = (await events('account.obtain_ssh_key')).length
    for (const [name, fixture, comment] of [
      ['db-01/admin', 'ed25519-encrypted', 'deploy@web-01'],
      ['db-01/passwordless', 'ed25519-plain', 'plain@host'],
    ] as const) {
      const res = await obtain({ accountName: name, decrypt: true, format: 'openssh' })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(res.body).toMatchObject({
        decrypted: true,
        format: 'openssh',
        passphrase: null,
        ...publicKeyOf(fixture),
      })
      const key = readSshPrivateKey(res.body.key)
      expect(key).toMatchObject({ format: 'openssh', encrypted: false, comment })
      expect(key.publicKeyOpenSsh).toBe(`${publicKeyOf(fixture).publicKey} ${comment}`)
    }
    const pem = await obtain({ accountName: 'db-01/admin', decrypt: true, format: 'pem' })
    expect(pem.body).toMatchObject({
      format: 'pem',
      key: expect.stringMatching(/^-----BEGIN PRIVATE KEY-----\n/),
    })
    expect((await obtain({ accountName: 'db-01/admin', decrypt: true })).body.format).toBe('pem')
    expect((await obtain({ accountName: 'db-01/admin' })).body.format).toBeUndefined()
    const audited = (await events('account.obtain_ssh_key')).slice(before)
    expect(audited.map((e) => [e.outcome, e.details.format])).toEqual([
      ['success', 'openssh'],
      ['success', 'openssh'],
      ['success', 'pem'],
      ['success', 'pem'],
      ['success', undefined],
    ])

    const locked = await obtain({ accountName: 'db-01/locked', decrypt: true, format: 'openssh' })
    expect(locked).toMatchObject({ status: 409, body: { Code: 'SshKeyNotSupported' } })
    const afterLocked = (await events('account.obtain_ssh_key')).length
    for (const body of [
      { accountName: 'db-01/admin', format: 'openssh' },
      { accountName: 'db-01/admin', format: 'pem', decrypt: false },
      { accountName: 'db-01/keyless', format: 'openssh' },
    ]) {
      const res = await obtain(body)
      expect(res, JSON.stringify(body)).toMatchObject({
        status: 400,
        body: {
          Code: 'InvalidParameter',
          field: 'format',
          rule: expect.stringContaining('only with decrypt: true'),
        },
      })
    }
    const unknown = await obtain({ accountName: 'db-01/admin', decrypt: true, format: 'ppk' })
    expect(unknown).toMatchObject({ status: 400, body: { Code: 'InvalidParameter', field: 'format' } })
    // A request that contradicts itself is refused like one that fails its schema: before any lookup.
    expect((await events('account.obtain_ssh_key')).length).toBe(afterLocked)
  })

  it('refuses in order — scope, grant, existence, status, reason, secret, support — each refusal one audit event', async () => {
    const cases: [string, string, string, Record<string, unknown>, number, string, string?][] = [
      [
        'no scope',
        tokens.ownerRead!,
        OBTAIN_PASSWORD,
        { accountName: 'db-01/admin' },
        403,
        'InsufficientScope',
      ],
      [
        'no scope, key',
        tokens.ownerRead!,
        OBTAIN_SSH_KEY,
        { accountName: 'db-01/admin' },
        403,
        'InsufficientScope',
      ],
      ['no grant', tokens.owner!, OBTAIN_PASSWORD, { accountName: 'hr-01/payroll' }, 403, 'PermissionDenied'],
      [
        'no grant, no account',
        tokens.owner!,
        OBTAIN_PASSWORD,
        { accountName: 'hr-01/x' },
        403,
        'PermissionDenied',
      ],
      [
        'read grant only',
        tokens.readerAll!,
        OBTAIN_PASSWORD,
        { accountName: 'hr-01/payroll' },
        403,
        'PermissionDenied',
      ],
      [
        'granted, no account',
        tokens.owner!,
        OBTAIN_PASSWORD,
        { accountName: 'db-01/ghost' },
        404,
        'AccountNotFound',
      ],
      ['disabled', tokens.owner!, OBTAIN_SSH_KEY, { accountName: 'db-01/off' }, 403, 'AccountDisabled'],
      [
        'no reason',
        tokens.owner!,
        OBTAIN_PASSWORD,
        { accountName: 'db-01/audited' },
        400,
        'ReasonRequired',
        'reason',
      ],
      [
        'a blank reason',
        tokens.owner!,
        OBTAIN_PASSWORD,
        { accountName: 'db-01/audited', reason: '   ' },
        400,
        'ReasonRequired',
        'reason',
      ],
      [
        'no password',
        tokens.owner!,
        OBTAIN_PASSWORD,
        { accountName: 'db-01/passwordless' },
        404,
        'PasswordNotSet',
      ],
      ['no key', tokens.owner!, OBTAIN_SSH_KEY, { accountName: 'db-01/keyless' }, 404, 'SshKeyNotSet'],
      [
        'undecryptable',
        tokens.owner!,
        OBTAIN_SSH_KEY,
        { accountName: 'db-01/locked', decrypt: true },
        409,
        'SshKeyNotSupported',
      ],
    ]
    for (const [what, token, path, body, status, code, field] of cases) {
      const action = path === OBTAIN_PASSWORD ? 'account.obtain_password' : 'account.obtain_ssh_key'
      const before = (await events(action)).length
      const res = await workloadCall(t, token, 'POST', path, body)
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(status)
      expect(res.body, what).toMatchObject({ Code: code, RequestId: expect.any(String) })
      if (field) expect(res.body.field, what).toBe(field)
      expect(JSON.stringify(res.body), what).not.toMatch(/retrieval-password|not-yours|PRIVATE KEY/)
      const after = await events(action)
      expect(after.length, what).toBe(before + 1)
      expect(after.at(-1), what).toMatchObject({ outcome: 'denied', details: { code } })
    }
    const withReason = await workloadCall(t, tokens.owner, 'POST', OBTAIN_PASSWORD, {
      accountName: 'db-01/audited',
      reason: 'CHG-7 rotation check',
    })
    expect(withReason).toMatchObject({ status: 200, body: { password: PASSWORD } })
    expect((await events('account.obtain_password')).at(-1)).toMatchObject({
      outcome: 'success',
      reason: 'CHG-7 rotation check',
    })
  })

  it('refuses a missing acct_ id as an existing ungranted one, whatever prefix grants match the id', async () => {
    const prober = await createWorkload(t, 'prober')
    await grantAccounts(t, prober.applicationId, 'acct', ['obtain'], true)
    await grantAccounts(t, prober.applicationId, 'acct_', ['obtain'], true)
    const token = await prober.token()
    const missing = `acct_${'0'.repeat(26)}`
    for (const accountName of [ids['hr-01/payroll']!, missing]) {
      for (const path of [OBTAIN_PASSWORD, OBTAIN_SSH_KEY]) {
        const res = await workloadCall(t, token, 'POST', path, { accountName })
        expect(res, `${accountName} ${path}`).toMatchObject({
          status: 403,
          body: { Code: 'PermissionDenied' },
        })
      }
    }
    // By name, a missing account under a granted prefix is still 404: the grant covers that name.
    const named = await workloadCall(t, tokens.owner, 'POST', OBTAIN_PASSWORD, {
      accountName: 'db-01/ghost-2',
    })
    expect(named).toMatchObject({ status: 404, body: { Code: 'AccountNotFound' } })
  })

  it('serves the new version after a rotation and stops at once when the account is disabled', async () => {
    const A = `/admin/v1/instances/${t.instanceId}/accounts/db-01%2Fkeyless`
    await call(t, 'POST', `${A}/versions`, { password: `${PASSWORD}-v2` })
    const rotated = await workloadCall(t, tokens.owner, 'POST', OBTAIN_PASSWORD, {
      accountName: 'db-01/keyless',
    })
    expect(rotated.body).toMatchObject({ version: 2, password: `${PASSWORD}-v2` })
    await call(t, 'POST', `${A}/disable`)
    const refused = await workloadCall(t, tokens.owner, 'POST', OBTAIN_PASSWORD, {
      accountName: 'db-01/keyless',
    })
    expect(refused.body.Code).toBe('AccountDisabled')
  })
})
