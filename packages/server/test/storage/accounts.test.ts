import { afterEach, describe, expect, it } from 'vitest'
import { createWorkload, grantAccounts, privateKeyText, workloadCall } from '../http/accounts-fixtures.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const PASSWORDS = { a: 'stored-password-a-6e0f', b: 'stored-password-b-19c4' }

describe.each(ENGINES)('accounts at rest on %s', (engine) => {
  let t: TestServer
  afterEach(async () => t?.close())

  const setUp = async () => {
    t = await openTestServer(engine)
    const A = `/admin/v1/instances/${t.instanceId}/accounts`
    const a = await call(t, 'POST', A, {
      accountName: 'rest-a/root',
      password: PASSWORDS.a,
      sshKey: { key: privateKeyText('ed25519-encrypted'), passphrase: 'pass' },
    })
    const b = await call(t, 'POST', A, { accountName: 'rest-b/root', password: PASSWORDS.b })
    const workload = await createWorkload(t, 'reader')
    await grantAccounts(t, workload.applicationId, 'rest-', ['obtain'], true)
    return { A, a: a.body.accountId as string, b: b.body.accountId as string, token: await workload.token() }
  }

  it('keeps no password, key or passphrase in any column, only sealed versions and public facts', async () => {
    await setUp()
    const rows = [
      ...(await t.services.store.db.selectFrom('accounts').selectAll().execute()),
      ...(await t.services.store.db.selectFrom('account_versions').selectAll().execute()),
    ]
    const text = rows
      .map((row) =>
        Object.values(row)
          .map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v)))
          .join('|'),
      )
      .join('\n')
    expect(text).toContain('ssh-ed25519 AAAA')
    for (const secret of [...Object.values(PASSWORDS), '"pass"', 'OPENSSH PRIVATE KEY', 'BEGIN PRIVATE KEY'])
      expect(text).not.toContain(secret)
    const versions = await t.services.store.db.selectFrom('account_versions').selectAll().execute()
    expect(
      versions.map((v) => [Number(v.version), Number(v.has_password), Number(v.has_key)]).sort(),
    ).toEqual([
      [1, 1, 0],
      [1, 1, 1],
    ])
  })

  it('refuses a ciphertext moved to another account (AEAD binding), auditing the failure, and writes nothing on rotation', async () => {
    const { A, a, b, token } = await setUp()
    const db = t.services.store.db
    const sealedA = await db
      .selectFrom('account_versions')
      .select('ciphertext')
      .where('account_id', '=', a)
      .executeTakeFirstOrThrow()
    await db
      .updateTable('account_versions')
      .set({ ciphertext: sealedA.ciphertext })
      .where('account_id', '=', b)
      .execute()
    const obtained = await workloadCall(t, token, 'POST', '/accounts/_/actions/obtainPassword', {
      accountName: 'rest-b/root',
    })
    expect(obtained).toMatchObject({ status: 500, body: { Code: 'IntegrityError' } })
    expect(JSON.stringify(obtained.body)).not.toContain(PASSWORDS.a)
    // The workload learns that the check failed, not which table, row or key it was.
    expect(obtained.body.Message).toMatch(/^a stored value failed its integrity check/)
    expect(JSON.stringify(obtained.body)).not.toMatch(/account_versions|acc_|version \d/)
    const events = await call(
      t,
      'GET',
      `/admin/v1/instances/${t.instanceId}/audit/events?action=account.obtain_password`,
    )
    expect(events.body.entities.at(-1)).toMatchObject({
      outcome: 'failure',
      resourceId: b,
      details: { why: 'integrity' },
    })
    // Rotating one secret opens the current version to keep the other: refused, nothing written.
    const rotated = await call(t, 'POST', `${A}/rest-b%2Froot/versions`, { sshKey: null })
    expect(rotated).toMatchObject({ status: 500, body: { Code: 'IntegrityError' } })
    expect((await call(t, 'GET', `${A}/rest-b%2Froot`)).body.currentVersion).toBe(1)
    const count = await db
      .selectFrom('account_versions')
      .select('version')
      .where('account_id', '=', b)
      .execute()
    expect(count).toHaveLength(1)
    // Replacing both secrets needs nothing from the broken version.
    const replaced = await call(t, 'POST', `${A}/rest-b%2Froot/versions`, {
      password: 'fresh-1',
      sshKey: null,
    })
    expect(replaced.body.currentVersion).toBe(2)
    const fresh = await workloadCall(t, token, 'POST', '/accounts/_/actions/obtainPassword', {
      accountName: 'rest-b/root',
    })
    expect(fresh.body).toMatchObject({ version: 2, password: 'fresh-1' })
  })
})
