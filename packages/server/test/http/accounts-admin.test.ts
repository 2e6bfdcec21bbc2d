import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { DEFAULT_MAX_KDF_ROUNDS } from '../../src/crypto/ssh-keys/index.js'
import { sshKeyReadsRunning } from '../../src/crypto/ssh-keys/ssh-key-workers.js'
import { checkSshKey } from '../../src/services/accounts/ssh-key-check.js'
import { isUniqueViolation } from '../../src/store/unique-violation.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import {
  FIXTURE_PASSPHRASE,
  privateKeyText,
  publicKeyOf,
  type SshFixture,
  withKdfRounds,
} from './accounts-fixtures.js'

// The key check as it is, counted: what runs it (and its KDF) before authorization shows here.
vi.mock('../../src/services/accounts/ssh-key-check.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/services/accounts/ssh-key-check.js')>()
  return { ...original, checkSshKey: vi.fn(original.checkSshKey) }
})
const keyChecks = () => vi.mocked(checkSshKey).mock.calls.length

/** The `ed25519-encrypted` fixture asking for `rounds` bcrypt rounds: its passphrase is then wrong. */
const costlyKey = (rounds: number) => ({
  key: withKdfRounds(privateKeyText('ed25519-encrypted'), rounds),
  passphrase: 'pass',
})

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

  it('authorizes before reading a key: no KDF for another instance’s token or a missing account', async () => {
    const other = (await call(t, 'POST', '/admin/v1/instances', { name: 'kdf-other' })).body.instanceId
    const limited = await call(t, 'POST', '/admin/v1/admin-tokens', {
      name: 'kdf-limited',
      instanceId: other,
    })
    const headers = { authorization: `Bearer ${limited.body.token}` }
    await call(t, 'POST', A, { accountName: 'kdf-host/existing' })
    const before = keyChecks()
    const slow = costlyKey(DEFAULT_MAX_KDF_ROUNDS)
    const create = await call(t, 'POST', A, { accountName: 'kdf-host/new', sshKey: slow }, headers)
    expect(create).toMatchObject({ status: 403 })
    const rotate = await call(t, 'POST', `${at('kdf-host/existing')}/versions`, { sshKey: slow }, headers)
    expect(rotate).toMatchObject({ status: 403 })
    const missing = await call(t, 'POST', `${at('kdf-host/nobody')}/versions`, { sshKey: slow })
    expect(missing).toMatchObject({ status: 404, body: { Code: 'AccountNotFound' } })
    const elsewhere = await call(t, 'POST', `/admin/v1/instances/idaas_00000000000000000000000000/accounts`, {
      accountName: 'kdf-host/new',
      sshKey: slow,
    })
    expect(elsewhere).toMatchObject({ status: 404, body: { Code: 'InstanceNotFound' } })
    const taken = await call(t, 'POST', A, { accountName: 'kdf-host/existing', sshKey: slow })
    expect(taken).toMatchObject({ status: 409, body: { Code: 'AccountNameExists', field: 'accountName' } })
    expect(keyChecks()).toBe(before)
    expect((await call(t, 'GET', `${A}?namePrefix=kdf-host%2F`)).body.entities).toHaveLength(1)
  })

  it(`refuses at once a key asking for more than ${DEFAULT_MAX_KDF_ROUNDS} bcrypt rounds, on sshKey.key`, async () => {
    await call(t, 'POST', A, { accountName: 'rounds-host/root' })
    for (const rounds of [200, DEFAULT_MAX_KDF_ROUNDS + 1]) {
      const started = performance.now()
      const created = await call(t, 'POST', A, { accountName: 'rounds-host/new', sshKey: costlyKey(rounds) })
      const rotated = await call(t, 'POST', `${at('rounds-host/root')}/versions`, {
        sshKey: costlyKey(rounds),
      })
      // 200 rounds are some 2–5 s of KDF; refused by the rule, these are two plain requests.
      expect(performance.now() - started).toBeLessThan(1000)
      for (const res of [created, rotated]) {
        expect(res).toMatchObject({
          status: 400,
          body: {
            Code: 'InvalidParameter.SshKey',
            field: 'sshKey.key',
            rule: `asks for ${rounds} bcrypt rounds, more than the 64 this server accepts; re-encrypt it with fewer (ssh-keygen -p -a 16)`,
          },
        })
      }
    }
    // Without its passphrase no KDF runs: such a key is kept, not supported, as before.
    const kept = await call(t, 'POST', A, {
      accountName: 'rounds-host/kept',
      sshKey: { key: costlyKey(200).key },
    })
    expect(kept).toMatchObject({ status: 201, body: { isKeySupported: false } })
  })

  it('answers other requests while a costly key is read', async () => {
    const order: string[] = []
    const upload = call(t, 'POST', A, {
      accountName: 'slow-host/root',
      sshKey: costlyKey(DEFAULT_MAX_KDF_ROUNDS),
    }).then((res) => {
      order.push('upload')
      return res
    })
    // The KDF is under way on a worker; the event loop answers the rest meanwhile.
    await vi.waitFor(() => expect(sshKeyReadsRunning()).toBe(1), { timeout: 10_000, interval: 2 })
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' })
    order.push('readyz')
    const list = await call(t, 'GET', A)
    order.push('list')
    expect(ready.statusCode).toBe(200)
    expect(list.status).toBe(200)
    expect(await upload).toMatchObject({ status: 400, body: { field: 'sshKey.passphrase' } })
    expect(order).toEqual(['readyz', 'list', 'upload'])
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

describe.each(ENGINES)('concurrent creates of one account name on %s', (engine) => {
  let t: TestServer
  /** On PostgreSQL a second node on the same database; on SQLite (one node) the same server. */
  let other: TestServer
  let A: string
  beforeAll(async () => {
    t = await openTestServer(engine)
    other = engine === 'postgres' ? await openTestServer(engine, { db: t.db, rootKey: t.rootKey }) : t
    A = `/admin/v1/instances/${t.instanceId}/accounts`
  })
  afterAll(async () => {
    if (other !== t) await other?.close()
    await t?.close()
  })

  it('answers one 201 and one 409 AccountNameExists, never a 500', async () => {
    for (let round = 0; round < 8; round++) {
      const body = { accountName: `race-${round}/root`, password: 'race-password' }
      const results = await Promise.all([call(t, 'POST', A, body), call(other, 'POST', A, body, t.auth)])
      const statuses = results.map((res) => res.status).sort()
      expect(statuses, JSON.stringify(results.map((res) => res.body))).toEqual([201, 409])
      expect(results.find((res) => res.status === 409)?.body).toMatchObject({
        Code: 'AccountNameExists',
        field: 'accountName',
      })
    }
  })

  // Only PostgreSQL lets two writers race: SQLite has one writer, whose check always sees the row.
  if (engine === 'postgres')
    it('maps the unique violation of an insert that lost the race after its check to 409', async () => {
      const template = await call(t, 'POST', A, { accountName: 'race-template/root' })
      const row = await t.services.store.db
        .selectFrom('accounts')
        .selectAll()
        .where('id', '=', template.body.accountId)
        .executeTakeFirstOrThrow()
      // Another node's insert, not yet committed: the create's check cannot see it, its insert waits.
      const rival = await t.services.store.db.startTransaction().execute()
      try {
        await rival
          .insertInto('accounts')
          .values({ ...row, id: 'acct_00000000000000000000000000', name: 'race-lost/root' })
          .execute()
        const create = call(t, 'POST', A, { accountName: 'race-lost/root', password: 'lost' })
        await vi.waitFor(
          async () => {
            const waiting = await sql<{ n: string }>`
              select count(*) as n from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'`.execute(t.services.store.db)
            expect(Number(waiting.rows[0]?.n)).toBeGreaterThan(0)
          },
          { timeout: 10_000, interval: 10 },
        )
        await rival.commit().execute()
        const res = await create
        expect(res).toMatchObject({ status: 409, body: { Code: 'AccountNameExists', field: 'accountName' } })
      } catch (error) {
        await rival
          .rollback()
          .execute()
          .catch(() => {})
        throw error
      }
      // The batch the failed unit was in goes on: the node still writes.
      expect((await call(t, 'POST', A, { accountName: 'race-after/root' })).status).toBe(201)
    })

  it('recognises the engine’s own duplicate-key error, by index', async () => {
    const created = await call(t, 'POST', A, { accountName: 'dup-check/root' })
    const row = await t.services.store.db
      .selectFrom('accounts')
      .selectAll()
      .where('id', '=', created.body.accountId)
      .executeTakeFirstOrThrow()
    const duplicate = await t.services.store.db
      .insertInto('accounts')
      .values({ ...row, id: 'acct_00000000000000000000000001' })
      .execute()
      .then(
        () => undefined,
        (error: unknown) => error,
      )
    const accountsName = { name: 'accounts_name', table: 'accounts', columns: ['instance_id', 'name'] }
    expect(isUniqueViolation(duplicate)).toBe(true)
    expect(isUniqueViolation(duplicate, accountsName)).toBe(true)
    expect(isUniqueViolation(duplicate, { name: 'accounts_pkey', table: 'accounts', columns: ['id'] })).toBe(
      false,
    )
    const sameId = await t.services.store.db
      .insertInto('accounts')
      .values({ ...row, name: 'dup-check/other' })
      .execute()
      .then(
        () => undefined,
        (error: unknown) => error,
      )
    expect(isUniqueViolation(sameId)).toBe(true)
    expect(isUniqueViolation(sameId, accountsName)).toBe(false)
    expect(
      isUniqueViolation(new Error('UNIQUE constraint failed: accounts.instance_id, accounts.name')),
    ).toBe(false)
  })
})
