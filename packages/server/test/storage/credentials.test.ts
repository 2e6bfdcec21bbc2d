import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { privateKeyText } from '../../../../test/fixtures/ssh/ssh-fixtures.js'
import { openServices } from '../../src/server.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

describe.each(ENGINES)('credentials on %s', (engine) => {
  let t: TestServer
  afterEach(async () => t?.close())

  const create = (identifier: string, value: Record<string, unknown>, type = 'api_key') =>
    call(t, 'POST', `/admin/v1/instances/${t.instanceId}/credentials`, {
      credentialIdentifier: identifier,
      credentialType: type,
      value,
    })
  const reveal = (id: string) =>
    call(t, 'POST', `/admin/v1/instances/${t.instanceId}/credentials/${encodeURIComponent(id)}/reveal`, {})

  it('stores each type, rotates, and reveals the current version', async () => {
    t = await openTestServer(engine)
    const values = {
      api_key: { apiKey: 'k-1' },
      oauth_client: { clientId: 'client-1', clientSecret: 's-1' },
      password: { password: 'p-1', username: 'admin' },
      ssh_key: { privateKey: privateKeyText('ed25519-encrypted'), passphrase: 'pass' },
    }
    for (const [type, value] of Object.entries(values)) {
      const created = await create(`svc/${type}`, value, type)
      expect(created.status).toBe(201)
      expect(created.body).toMatchObject({ credentialType: type, currentVersion: 1, status: 'enabled' })
      expect((await reveal(`svc/${type}`)).body.value).toEqual(value)
    }
    const rotated = await call(
      t,
      'POST',
      `/admin/v1/instances/${t.instanceId}/credentials/svc%2Fapi_key/versions`,
      {
        value: { apiKey: 'k-2' },
      },
    )
    expect(rotated.status).toBe(201)
    expect(rotated.body.currentVersion).toBe(2)
    const revealed = await reveal('svc/api_key')
    expect(revealed.body).toMatchObject({ version: 2, value: { apiKey: 'k-2' } })
    const versions = await call(
      t,
      'GET',
      `/admin/v1/instances/${t.instanceId}/credentials/svc%2Fapi_key/versions`,
    )
    expect(
      versions.body.entities.map((v: { version: number; current: boolean }) => [v.version, v.current]),
    ).toEqual([
      [2, true],
      [1, false],
    ])
    expect(JSON.stringify(versions.body)).not.toContain('k-1')
  })

  it('keeps values encrypted at rest: the plaintext is nowhere in the rows', async () => {
    t = await openTestServer(engine)
    const canary = `canary-${randomBytes(16).toString('hex')}`
    await create('canary', { apiKey: canary })
    const rows = await t.services.store.db.selectFrom('credential_versions').select('ciphertext').execute()
    expect(rows).toHaveLength(1)
    expect(Buffer.from(rows[0]!.ciphertext).includes(Buffer.from(canary))).toBe(false)
    const events = await t.services.store.db.selectFrom('audit_events').selectAll().execute()
    expect(JSON.stringify(events)).not.toContain(canary)
  })

  it('refuses both values when two ciphertexts are swapped between rows, and audits the failure', async () => {
    t = await openTestServer(engine)
    const a = (await create('swap/a', { apiKey: 'value-a' })).body
    const b = (await create('swap/b', { apiKey: 'value-b' })).body
    const db = t.services.store.db
    const rowA = await db
      .selectFrom('credential_versions')
      .select('ciphertext')
      .where('credential_id', '=', a.credentialId)
      .executeTakeFirstOrThrow()
    const rowB = await db
      .selectFrom('credential_versions')
      .select('ciphertext')
      .where('credential_id', '=', b.credentialId)
      .executeTakeFirstOrThrow()
    await db
      .updateTable('credential_versions')
      .set({ ciphertext: rowB.ciphertext })
      .where('credential_id', '=', a.credentialId)
      .execute()
    await db
      .updateTable('credential_versions')
      .set({ ciphertext: rowA.ciphertext })
      .where('credential_id', '=', b.credentialId)
      .execute()
    for (const id of ['swap/a', 'swap/b']) {
      const res = await reveal(id)
      expect(res.status).toBe(500)
      expect(res.body.Code).toBe('IntegrityError')
      expect(res.body.Message).toMatch(/failed its integrity check/)
      expect(JSON.stringify(res.body)).not.toMatch(/value-[ab]/)
    }
    const failures = await call(
      t,
      'GET',
      `/admin/v1/instances/${t.instanceId}/audit/events?action=credential.reveal&outcome=failure`,
    )
    expect(failures.body.entities).toHaveLength(2)
  })

  it('survives a restart with the same root key and refuses another key', async () => {
    t = await openTestServer(engine)
    await create('restart/me', { apiKey: 'still-here' })
    const { db, rootKey } = t
    await t.app.close()
    await t.services.committer.close()
    await t.services.store.close()
    t = await openTestServer(engine, { db, rootKey })
    expect(t.adminToken).toBe('') // bootstrapped already: no new token
    const again = await openTestServer(engine, { db, rootKey })
    await again.app.close()
    await again.services.committer.close()
    await again.services.store.close()
    const admin = (await t.services.store.db.selectFrom('admin_tokens').select('id').execute()).length
    expect(admin).toBe(1)
    await expect(
      openServices({
        db,
        rootKey: { kind: 'env', base64: randomBytes(32).toString('base64') },
        dataDir: null,
      }),
    ).rejects.toThrow(/root key does not match this database/)
    // The reopened server has no token in hand; mint one straight through the service to read back.
    const { insertAdminToken } = await import('../../src/services/admin-tokens/admin-tokens.js')
    const token = await t.services.committer.run(({ trx }) =>
      insertAdminToken(t.services, trx, { name: 't' }, Date.now()),
    )
    t.auth = { authorization: `Bearer ${token.token}` }
    expect((await reveal('restart/me')).body.value).toEqual({ apiKey: 'still-here' })
  })

  it('pages through credentials with keyset tokens, each exactly once while new ones arrive', async () => {
    t = await openTestServer(engine)
    const total = 57
    for (let i = 0; i < total; i++) await create(`page/${String(i).padStart(3, '0')}`, { apiKey: `k${i}` })
    const seen: string[] = []
    let next: string | null = null
    let pages = 0
    do {
      const q: string = next ? `&nextToken=${encodeURIComponent(next)}` : ''
      const res = await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/credentials?maxResults=10${q}`)
      expect(res.status).toBe(200)
      seen.push(...res.body.entities.map((c: { credentialIdentifier: string }) => c.credentialIdentifier))
      next = res.body.nextToken
      if (pages++ === 2) await create('page/zzz-late', { apiKey: 'late' })
    } while (next)
    expect(seen.filter((s) => s !== 'page/zzz-late').sort()).toEqual(
      Array.from({ length: total }, (_, i) => `page/${String(i).padStart(3, '0')}`),
    )
    expect(new Set(seen).size).toBe(seen.length)
    const bad = await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/credentials?nextToken=bogus`)
    expect(bad.status).toBe(400)
    expect(bad.body.field).toBe('nextToken')
    const prefixed = await call(
      t,
      'GET',
      `/admin/v1/instances/${t.instanceId}/credentials?identifierPrefix=page%2F00&maxResults=100`,
    )
    expect(prefixed.body.entities).toHaveLength(10)
  })

  it('refuses a duplicate identifier with 409 and no partial write', async () => {
    t = await openTestServer(engine)
    expect((await create('dup', { apiKey: 'one' })).status).toBe(201)
    const res = await create('dup', { apiKey: 'two' })
    expect(res.status).toBe(409)
    expect(res.body).toMatchObject({ Code: 'CredentialIdentifierExists', field: 'credentialIdentifier' })
    const count = await t.services.store.db
      .selectFrom('credential_versions')
      .select(sql<number>`count(*)`.as('n'))
      .executeTakeFirstOrThrow()
    expect(Number(count.n)).toBe(1)
  })
})
