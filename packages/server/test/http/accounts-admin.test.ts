import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import { FIXTURE_PASSPHRASE, privateKeyText, publicKeyOf, type SshFixture } from './accounts-fixtures.js'

const PASSWORD = 'admin-api-password-7d1c'

describe.each(ENGINES)('the accounts admin API on %s', (engine) => {
  let t: TestServer
  let A: string
  beforeAll(async () => {
    t = await openTestServer(engine)
    A = `/admin/v1/instances/${t.instanceId}/accounts`
  })
  afterAll(async () => t?.close())

  const at = (ref: string) => `${A}/${encodeURIComponent(ref)}`
  const keyOf = (name: SshFixture, withPassphrase = true, fileName?: string) => ({
    key: privateKeyText(name),
    ...(withPassphrase && FIXTURE_PASSPHRASE[name] !== undefined
      ? { passphrase: FIXTURE_PASSPHRASE[name] }
      : {}),
    ...(fileName === undefined ? {} : { fileName }),
  })
  const audit = async (action: string) =>
    (
      await call(
        t,
        'GET',
        `/admin/v1/instances/${t.instanceId}/audit/events?action=${action}&maxResults=1000`,
      )
    ).body.entities as Record<string, unknown>[]

  it('creates an account with a password and an encrypted key, keeps only the key’s public facts, and finds it by id or encoded name', async () => {
    const created = await call(t, 'POST', A, {
      accountName: 'DB-SERVER/admin',
      password: PASSWORD,
      sshKey: keyOf('ed25519-encrypted', true, 'id_ed25519'),
      requiresReason: true,
    })
    expect(created.status).toBe(201)
    const pub = publicKeyOf('ed25519-encrypted')
    expect(created.body).toMatchObject({
      accountName: 'DB-SERVER/admin',
      target: 'DB-SERVER',
      account: 'admin',
      displayName: 'DB-SERVER/admin',
      description: '',
      status: 'enabled',
      requiresReason: true,
      hasPassword: true,
      hasKey: true,
      isKeySupported: true,
      currentVersion: 1,
      sshKey: {
        keyType: 'ssh-ed25519',
        fingerprint: pub.fingerprint,
        publicKey: pub.publicKey,
        format: 'openssh',
        encrypted: true,
        fileName: 'id_ed25519',
      },
    })
    expect(created.body.accountId).toMatch(/^acct_[0-9a-z]{26}$/)
    const text = JSON.stringify(created.body)
    expect(text).not.toContain(PASSWORD)
    expect(text).not.toContain('"pass"')
    expect(text).not.toContain('PRIVATE KEY')

    const byName = await call(t, 'GET', `${A}/DB-SERVER%2Fadmin`)
    expect(byName).toMatchObject({ status: 200, body: { accountId: created.body.accountId } })
    const byId = await call(t, 'GET', `${A}/${created.body.accountId}`)
    expect(byId.body).toEqual(byName.body)

    const taken = await call(t, 'POST', A, { accountName: 'DB-SERVER/admin' })
    expect(taken).toMatchObject({ status: 409, body: { Code: 'AccountNameExists', field: 'accountName' } })
    const missing = await call(t, 'GET', at('DB-SERVER/nobody'))
    expect(missing).toMatchObject({ status: 404, body: { Code: 'AccountNotFound' } })
  })

  it('gives an account without secrets a first version too', async () => {
    const created = await call(t, 'POST', A, { accountName: 'empty-host/nobody', displayName: 'Nobody' })
    expect(created.body).toMatchObject({
      displayName: 'Nobody',
      hasPassword: false,
      hasKey: false,
      isKeySupported: false,
      sshKey: null,
      currentVersion: 1,
    })
    const versions = await call(t, 'GET', `${at('empty-host/nobody')}/versions`)
    expect(versions.body.entities).toMatchObject([
      { version: 1, current: true, hasPassword: false, hasKey: false, createdBy: expect.any(String) },
    ])
  })

  it('checks SSH keys when they are stored, naming the field and never echoing the key or passphrase', async () => {
    const refused: [string, Record<string, unknown>, string][] = [
      ['not a key', { key: 'hello' }, 'sshKey.key'],
      ['a public key', { key: publicKeyOf('ed25519-plain').publicKey }, 'sshKey.key'],
      ['a truncated key', { key: privateKeyText('ed25519-plain').slice(0, 200) }, 'sshKey.key'],
      [
        'a wrong passphrase',
        { key: privateKeyText('ed25519-encrypted'), passphrase: 'wrong-pp-1' },
        'sshKey.passphrase',
      ],
      [
        'a wrong passphrase on a PEM key',
        { key: privateKeyText('rsa-pkcs8-encrypted'), passphrase: 'wrong-pp-1' },
        'sshKey.passphrase',
      ],
      [
        'a passphrase for a plain key',
        { key: privateKeyText('ed25519-plain'), passphrase: 'wrong-pp-1' },
        'sshKey.passphrase',
      ],
      [
        'an encrypted PEM key without passphrase',
        { key: privateKeyText('rsa-pkcs8-encrypted') },
        'sshKey.passphrase',
      ],
    ]
    let n = 0
    for (const [what, sshKey, field] of refused) {
      const res = await call(t, 'POST', A, { accountName: `bad/key-${n++}`, sshKey })
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(400)
      expect(res.body, what).toMatchObject({ Code: 'InvalidParameter.SshKey', field })
      const text = JSON.stringify(res.body)
      expect(text, what).not.toContain('wrong-pp-1')
      const longest = String(sshKey.key)
        .split(/[\n ]/)
        .reduce((a, b) => (b.length > a.length ? b : a), '')
      if (longest.length > 20) expect(text, what).not.toContain(longest.slice(0, 20))
    }
    expect((await call(t, 'GET', `${A}?namePrefix=bad%2F`)).body.entities).toEqual([])
  })

  it('stores keys it cannot decrypt as not supported, with their public facts', async () => {
    const noPassphrase = await call(t, 'POST', A, {
      accountName: 'web-01/deploy',
      sshKey: keyOf('ed25519-encrypted', false),
    })
    expect(noPassphrase.status).toBe(201)
    expect(noPassphrase.body).toMatchObject({
      hasKey: true,
      isKeySupported: false,
      sshKey: { ...publicKeyOf('ed25519-encrypted'), encrypted: true, format: 'openssh', fileName: null },
    })
    const oldCipher = await call(t, 'POST', A, {
      accountName: 'web-01/legacy',
      sshKey: keyOf('ed25519-3des'),
    })
    expect(oldCipher.body).toMatchObject({
      isKeySupported: false,
      sshKey: { ...publicKeyOf('ed25519-3des'), encrypted: true },
    })
    const pem = await call(t, 'POST', A, { accountName: 'web-01/rsa', sshKey: keyOf('rsa-pkcs8-encrypted') })
    expect(pem.body).toMatchObject({
      isKeySupported: true,
      sshKey: { ...publicKeyOf('rsa-pkcs8-encrypted'), keyType: 'ssh-rsa', format: 'pem', encrypted: true },
    })
    const ecdsa = await call(t, 'POST', A, {
      accountName: 'web-01/ecdsa',
      sshKey: keyOf('ecdsa-p256-encrypted'),
    })
    expect(ecdsa.body.sshKey).toMatchObject({ keyType: 'ecdsa-sha2-nistp256', encrypted: true })
    const plain = await call(t, 'POST', A, { accountName: 'web-01/plain', sshKey: keyOf('ed25519-plain') })
    expect(plain.body).toMatchObject({ isKeySupported: true, sshKey: { encrypted: false } })
  })

  it('lists by keyset pages and name prefix', async () => {
    for (const name of ['list-a/one', 'list-a/two', 'list-a/three', 'list-b/one'])
      expect((await call(t, 'POST', A, { accountName: name })).status).toBe(201)
    const seen: string[] = []
    let next: string | null = null
    do {
      const page: { body: { entities: { accountName: string }[]; nextToken: string | null } } = await call(
        t,
        'GET',
        `${A}?namePrefix=list-a%2F&maxResults=2${next ? `&nextToken=${next}` : ''}`,
      )
      seen.push(...page.body.entities.map((a) => a.accountName))
      next = page.body.nextToken
    } while (next)
    expect(seen).toEqual(['list-a/one', 'list-a/two', 'list-a/three'])
    const bad = await call(t, 'GET', `${A}?nextToken=garbage`)
    expect(bad).toMatchObject({ status: 400, body: { field: 'nextToken' } })
  })

  it('updates, disables and enables, auditing each change without secrets', async () => {
    await call(t, 'POST', A, { accountName: 'app-01/svc@corp', password: PASSWORD })
    const updated = await call(t, 'PATCH', at('app-01/svc@corp'), {
      displayName: 'Service',
      requiresReason: true,
    })
    expect(updated.body).toMatchObject({ displayName: 'Service', requiresReason: true, description: '' })
    const event = (await audit('account.update')).find((e) => e.resourceId === updated.body.accountId)
    expect(event?.details).toMatchObject({ fields: 'displayName,requiresReason' })
    expect((await call(t, 'POST', `${at('app-01/svc@corp')}/disable`)).body.status).toBe('disabled')
    expect((await call(t, 'POST', `${at('app-01/svc@corp')}/enable`)).body.status).toBe('enabled')
    expect((await audit('account.disable')).length).toBeGreaterThan(0)
    expect((await audit('account.enable')).length).toBeGreaterThan(0)
    const empty = await call(t, 'PATCH', at('app-01/svc@corp'), {})
    expect(empty.status).toBe(400)
  })

  it('rotates: a field left out is kept, null removes it, and each version says what it holds', async () => {
    const name = 'rotate-host/root'
    await call(t, 'POST', A, { accountName: name, password: PASSWORD, sshKey: keyOf('ed25519-plain') })
    const v2 = await call(t, 'POST', `${at(name)}/versions`, { password: `${PASSWORD}-2` })
    expect(v2).toMatchObject({ status: 201, body: { currentVersion: 2, hasPassword: true, hasKey: true } })
    expect(v2.body.sshKey).toMatchObject(publicKeyOf('ed25519-plain'))
    const v3 = await call(t, 'POST', `${at(name)}/versions`, { sshKey: null })
    expect(v3.body).toMatchObject({ currentVersion: 3, hasPassword: true, hasKey: false, sshKey: null })
    const v4 = await call(t, 'POST', `${at(name)}/versions`, {
      password: null,
      sshKey: keyOf('ecdsa-p256-encrypted'),
    })
    expect(v4.body).toMatchObject({
      currentVersion: 4,
      hasPassword: false,
      hasKey: true,
      isKeySupported: true,
    })
    const bad = await call(t, 'POST', `${at(name)}/versions`, { sshKey: { key: 'nope' } })
    expect(bad).toMatchObject({ status: 400, body: { field: 'sshKey.key' } })
    expect((await call(t, 'GET', at(name))).body.currentVersion).toBe(4)
    const versions = await call(t, 'GET', `${at(name)}/versions?maxResults=3`)
    expect(
      versions.body.entities.map((v: Record<string, unknown>) => [
        v.version,
        v.current,
        v.hasPassword,
        v.hasKey,
      ]),
    ).toEqual([
      [4, true, false, true],
      [3, false, true, false],
      [2, false, true, true],
    ])
    const rest = await call(t, 'GET', `${at(name)}/versions?nextToken=${versions.body.nextToken}`)
    expect(rest.body.entities.map((v: { version: number }) => v.version)).toEqual([1])
    const rotations = (await audit('account.rotate')).filter((e) => e.resourceId === v2.body.accountId)
    expect(rotations.map((e) => e.details)).toEqual([
      { version: 2, password: 'set', sshKey: 'kept' },
      { version: 3, password: 'kept', sshKey: 'removed' },
      { version: 4, password: 'removed', sshKey: 'set' },
    ])
    expect((await call(t, 'POST', `${at(name)}/versions`, {})).status).toBe(400)
  })

  it('never writes a password, key or passphrase into the audit chain', async () => {
    const events = await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/audit/events?maxResults=1000`)
    const text = JSON.stringify(events.body)
    expect(text).toContain('account.create')
    expect(text).not.toContain(PASSWORD)
    expect(text).not.toContain('pem-pass')
    expect(text).not.toContain('PRIVATE KEY')
    expect((await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/audit/verify`)).body.ok).toBe(true)
  })
})
