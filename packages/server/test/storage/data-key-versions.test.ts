// Data key versions: a new version of an instance's data key is made by use (a count of seals per
// process, an age), by `admin rotate-root-key`, and by another process; values sealed under every
// version keep opening. Real SQLite and PostgreSQL through the real start-up path.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { AeadError, bindingAad, open, seal } from '../../src/crypto/aead.js'
import {
  type Binding,
  DATA_KEY_REFRESH_MS,
  Keyring,
  type KeyringOptions,
  MAX_VERSION_AGE_MS,
} from '../../src/crypto/keyring.js'
import { rotateRootKey } from '../../src/offline.js'
import { openStore } from '../../src/store/connect.js'
import { call, ENGINES, freshDatabase, openTestServer, type TestServer } from '../support/engines.js'

const T0 = 1_800_000_000_000

/** A second keyring on the server's database (another process, as far as its caches go), writing through its committer. */
async function keyringOf(t: TestServer, options: KeyringOptions = {}): Promise<Keyring> {
  const { store, committer } = t.services
  return store.db.transaction().execute((trx) =>
    Keyring.open(trx, Buffer.from(t.rootKey, 'base64'), T0, {
      writer: { dialect: store.dialect, run: (work) => committer.run((unit) => work(unit.trx)) },
      now: () => T0,
      ...options,
    }),
  )
}

const bindingOf = (t: TestServer, n: number): Binding => ({
  instanceId: t.instanceId,
  table: 'test_values',
  recordId: `rec_${n}`,
  field: 'value',
  version: 1,
})

/** Seals value `n` in a unit of the committer, as a request does. */
function sealValue(t: TestServer, keyring: Keyring, n: number) {
  return t.services.committer.run((unit) =>
    keyring.encrypt(unit.trx, bindingOf(t, n), Buffer.from(`value ${n}`)),
  )
}

async function versionsOf(t: TestServer): Promise<number[]> {
  const rows = await t.services.store.db
    .selectFrom('instance_keys')
    .select('version')
    .where('instance_id', '=', t.instanceId)
    .orderBy('version')
    .execute()
  return rows.map((r) => r.version)
}

describe.each(ENGINES)('data key versions on %s', (engine) => {
  const opened: TestServer[] = []
  const cleanups: (() => void)[] = []
  afterEach(async () => {
    for (const t of opened.splice(0).reverse()) await t.close()
    for (const c of cleanups.splice(0)) c()
  })
  const server = async (options: Parameters<typeof openTestServer>[1] = {}) => {
    const t = await openTestServer(engine, options)
    opened.push(t)
    return t
  }
  const closeServer = async (t: TestServer) => {
    opened.splice(opened.indexOf(t), 1)
    await t.close()
  }

  it('starts a new version once this process has sealed its bound, and values of every version open', async () => {
    const t = await server({ now: () => T0 })
    const keyring = await keyringOf(t, { sealsPerVersion: 3 })
    const sealed = []
    for (let n = 0; n < 3; n++) sealed.push(await sealValue(t, keyring, n))
    expect(sealed.map((s) => s.keyVersion)).toEqual([1, 1, 1])
    // The third seal reached the bound: version 2 is written in a unit of its own, then used.
    await keyring.settled()
    expect(await versionsOf(t)).toEqual([1, 2])
    for (let n = 3; n < 6; n++) sealed.push(await sealValue(t, keyring, n))
    expect(sealed.map((s) => s.keyVersion)).toEqual([1, 1, 1, 2, 2, 2])
    await keyring.settled()
    sealed.push(await sealValue(t, keyring, 6))
    expect(sealed[6]!.keyVersion).toBe(3)
    expect(await versionsOf(t)).toEqual([1, 2, 3])
    // Both keyrings open every value: this one from its cache, the server's from the database.
    for (const k of [keyring, t.services.keyring]) {
      for (const [n, s] of sealed.entries()) {
        expect((await k.decrypt(t.services.store.db, bindingOf(t, n), s)).toString()).toBe(`value ${n}`)
      }
    }
    // A value is bound to its version: claimed under another, it does not open.
    await expect(
      keyring.decrypt(t.services.store.db, bindingOf(t, 0), { ...sealed[0]!, keyVersion: 2 }),
    ).rejects.toThrow(/failed its integrity check/)
  })

  it('uses a version another process made once it reads the newest again, and a restart seals under the newest', async () => {
    const clock = { now: T0 }
    const fresh = await freshDatabase(engine)
    cleanups.push(fresh.cleanup)
    const rootKey = randomBytes(32).toString('base64')
    const t = await server({ now: () => clock.now, db: fresh.db, rootKey })
    const mine = t.services.keyring
    expect((await sealValue(t, mine, 0)).keyVersion).toBe(1)
    const other = await keyringOf(t, { sealsPerVersion: 1, now: () => clock.now })
    await sealValue(t, other, 1)
    await other.settled()
    expect(await versionsOf(t)).toEqual([1, 2])
    // No read in the steady state: the version held is used until it is due to be read again.
    expect((await sealValue(t, mine, 2)).keyVersion).toBe(1)
    clock.now += DATA_KEY_REFRESH_MS
    expect((await sealValue(t, mine, 3)).keyVersion).toBe(2)

    await closeServer(t)
    const again = await server({ now: () => clock.now, db: fresh.db, rootKey })
    const made = await call(
      again,
      'POST',
      `/admin/v1/instances/${again.instanceId}/credentials`,
      {
        credentialIdentifier: 'after/restart',
        credentialType: 'api_key',
        value: { apiKey: 'k' },
      },
      t.auth, // the first start's admin token: a restart prints none
    )
    expect(made.status).toBe(201)
    const row = await again.services.store.db
      .selectFrom('credential_versions')
      .innerJoin('credentials', 'credentials.id', 'credential_versions.credential_id')
      .select('credential_versions.key_version')
      .where('credentials.identifier', '=', 'after/restart')
      .executeTakeFirstOrThrow()
    expect(row.key_version).toBe(2)
  })

  it('replaces a version older than the age bound through the server, and reveals values of both', async () => {
    const clock = { now: T0 }
    const t = await server({ now: () => clock.now })
    const i = `/admin/v1/instances/${t.instanceId}/credentials`
    const create = (id: string) =>
      call(t, 'POST', i, { credentialIdentifier: id, credentialType: 'api_key', value: { apiKey: id } })
    const keyVersion = async (id: string) =>
      (
        await t.services.store.db
          .selectFrom('credential_versions')
          .innerJoin('credentials', 'credentials.id', 'credential_versions.credential_id')
          .select('credential_versions.key_version')
          .where('credentials.identifier', '=', id)
          .executeTakeFirstOrThrow()
      ).key_version
    expect((await create('a')).status).toBe(201)
    clock.now += MAX_VERSION_AGE_MS
    // Sealed under version 1 while version 2 is written, in a unit after this one.
    expect((await create('b')).status).toBe(201)
    await t.services.keyring.settled()
    expect((await create('c')).status).toBe(201)
    expect([await keyVersion('a'), await keyVersion('b'), await keyVersion('c')]).toEqual([1, 1, 2])
    expect(await versionsOf(t)).toEqual([1, 2])
    for (const id of ['a', 'b', 'c']) {
      const revealed = await call(t, 'POST', `${i}/${id}/reveal`, {})
      expect(revealed.status).toBe(200)
      expect(revealed.body.value).toEqual({ apiKey: id })
    }
  })

  it('after rotate-root-key, a value written afterwards opens neither with the old root key nor with an older copy', async () => {
    const fresh = await freshDatabase(engine)
    cleanups.push(fresh.cleanup)
    const dir = mkdtempSync(join(tmpdir(), 'sr-key-versions-'))
    const oldRoot = randomBytes(32)
    const newRoot = randomBytes(32)
    writeFileSync(join(dir, 'old.key'), oldRoot.toString('base64'), { mode: 0o600 })
    writeFileSync(join(dir, 'new.key'), newRoot.toString('base64'), { mode: 0o600 })
    const before = await server({ db: fresh.db, rootKey: oldRoot.toString('base64') })
    const instanceId = before.instanceId
    const credentials = `/admin/v1/instances/${instanceId}/credentials`
    // The first start's admin token: a later start prints none.
    const auth = before.auth
    const create = (t: TestServer, id: string) =>
      call(
        t,
        'POST',
        credentials,
        { credentialIdentifier: id, credentialType: 'api_key', value: { apiKey: id } },
        auth,
      )
    expect((await create(before, 'before')).status).toBe(201)
    // What a copy of the database taken now holds: version 1, wrapped under the old root key.
    const oldCopy = await before.services.store.db
      .selectFrom('instance_keys')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .execute()
    expect(oldCopy.map((k) => k.version)).toEqual([1])
    await closeServer(before)

    await rotateRootKey({
      db: fresh.db,
      rootKeyFile: join(dir, 'old.key'),
      newRootKeyFile: join(dir, 'new.key'),
    })
    const after = await server({ db: fresh.db, rootKey: newRoot.toString('base64') })
    expect((await create(after, 'after')).status).toBe(201)
    const values = await after.services.store.db
      .selectFrom('credential_versions')
      .innerJoin('credentials', 'credentials.id', 'credential_versions.credential_id')
      .select(['credentials.identifier', 'credentials.id', 'credential_versions.key_version', 'ciphertext'])
      .where('credentials.instance_id', '=', instanceId)
      .execute()
    const value = (id: string) => values.find((v) => v.identifier === id)!
    expect(value('before').key_version).toBe(1)
    expect(value('after').key_version).toBe(2)
    for (const id of ['before', 'after']) {
      const revealed = await call(after, 'POST', `${credentials}/${id}/reveal`, {}, auth)
      expect(revealed.body.value).toEqual({ apiKey: id })
    }

    const keys = await after.services.store.db
      .selectFrom('instance_keys')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .orderBy('version')
      .execute()
    expect(keys.map((k) => k.version)).toEqual([1, 2])
    const wrapAad = (version: number) => bindingAad('wrap', `instance:${instanceId}:${version}`)
    const valueAad = (v: { id: string; key_version: number }) =>
      bindingAad('value', instanceId, 'credential_versions', v.id, 'value', 1, v.key_version)
    // The old root key with the old copy opens version 1, and so what was sealed before…
    const v1 = open(oldRoot, oldCopy[0]!.wrapped, wrapAad(1))
    expect(JSON.parse(open(v1, value('before').ciphertext, valueAad(value('before'))).toString())).toEqual({
      apiKey: 'before',
    })
    // …but not what was sealed after: that is under version 2, which only the new root key unwraps.
    expect(() => open(v1, value('after').ciphertext, valueAad(value('after')))).toThrow(AeadError)
    expect(() => open(oldRoot, keys[1]!.wrapped, wrapAad(2))).toThrow(AeadError)
    expect(open(newRoot, keys[1]!.wrapped, wrapAad(2))).toHaveLength(32)
  })
})

describe('two processes making the same version (PostgreSQL)', () => {
  let t: TestServer | undefined
  afterEach(async () => t?.close())

  it('the one that loses waits for the other, then uses its key rather than failing', async () => {
    t = await openTestServer('postgres', { now: () => T0 })
    const root = Buffer.from(t.rootKey, 'base64')
    const keyring = await keyringOf(t, { sealsPerVersion: 1 })
    // The other process, in the middle of writing version 2: its row is not committed yet.
    const theirs = randomBytes(32)
    const other = openStore(t.db)
    const trx = await other.db.startTransaction().execute()
    let committed = false
    try {
      await trx
        .insertInto('instance_keys')
        .values({
          instance_id: t.instanceId,
          version: 2,
          wrapped: seal(root, theirs, bindingAad('wrap', `instance:${t.instanceId}:2`)),
          created_at: T0,
        })
        .execute()
      // This process reaches its bound and writes version 2 too: its insert waits on that row.
      expect((await sealValue(t, keyring, 0)).keyVersion).toBe(1)
      for (let waited = 0; ; waited += 20) {
        const blocked = await sql<{ n: string }>`
          select count(*) as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`.execute(t.services.store.db)
        if (Number(blocked.rows[0]!.n) > 0) break
        if (waited > 10_000) throw new Error('the second insert never waited for the first')
        await new Promise((r) => setTimeout(r, 20))
      }
      await trx.commit().execute()
      committed = true
    } finally {
      if (!committed) await trx.rollback().execute()
      await other.close()
    }
    await keyring.settled()
    expect(await versionsOf(t)).toEqual([1, 2])
    const after = await sealValue(t, keyring, 1)
    expect(after.keyVersion).toBe(2)
    // Sealed under the winner's key.
    const b = bindingOf(t, 1)
    const aad = bindingAad('value', b.instanceId, b.table, b.recordId, b.field, b.version, 2)
    expect(open(theirs, after.ciphertext, aad).toString()).toBe('value 1')
  })
})
