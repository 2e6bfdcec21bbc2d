import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { verifyChain } from '../../src/audit/verify.js'
import { closeServices, openServices } from '../../src/server.js'
import { revealCredential } from '../../src/services/credentials/credentials.js'
import type { Caller, Services } from '../../src/services.js'

const ADMIN: Caller = {
  actor: { type: 'admin_token', id: 'adm_test' },
  instanceScope: null,
  request: { requestId: null, sourceIp: null, userAgent: null },
}

/** The demo is made by the admin API's services, on the first start with a data folder. */
describe('the demo workload of the first start', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })

  function embedded() {
    const dataDir = mkdtempSync(join(tmpdir(), 'strongroom-demo-'))
    dirs.push(dataDir)
    const config = {
      db: `sqlite:${join(dataDir, 'strongroom.db')}`,
      rootKey: { kind: 'env' as const, base64: randomBytes(32).toString('base64') },
      dataDir,
    }
    return async <T>(work: (s: Services) => Promise<T>): Promise<T> => {
      const { services } = await openServices(config)
      try {
        return await work(services)
      } finally {
        await closeServices(services)
      }
    }
  }

  const events = (s: Services) =>
    s.store.db
      .selectFrom('audit_events')
      .select(['action', 'actor_type', 'actor_id', 'resource_type', 'details'])
      .where('instance_id', '=', s.defaultInstanceId)
      .orderBy('seq')
      .execute()
  const demoEvents = async (s: Services) =>
    (await events(s))
      .filter(
        (e) =>
          e.action !== 'instance.create' &&
          !e.action.startsWith('application') &&
          !e.action.startsWith('client_secret'),
      )
      .map((e) => ({
        action: e.action,
        actor: `${e.actor_type}/${e.actor_id}`,
        details: JSON.parse(e.details),
      }))
  const pending = async (s: Services) =>
    (await s.store.db
      .selectFrom('meta')
      .select('key')
      .where('key', '=', 'demo_resources_pending')
      .executeTakeFirst()) !== undefined

  const EXPECTED = [
    {
      action: 'credential.create',
      actor: 'system/bootstrap',
      details: { identifier: 'demo/api-key', credentialType: 'api_key', version: 1 },
    },
    {
      action: 'credential_provider.create',
      actor: 'system/bootstrap',
      details: { identifier: 'demo-jwt', providerType: 'jwt' },
    },
    {
      action: 'account.create',
      actor: 'system/bootstrap',
      details: {
        accountName: 'demo-db/admin',
        version: 1,
        hasPassword: true,
        hasKey: false,
        requiresReason: true,
      },
    },
    ...[
      ['credential', 'demo/api-key', 'obtain'],
      ['credential_provider', 'demo-jwt', 'manage,read,use'],
      ['account', 'demo-db/admin', 'obtain,read'],
    ].map(([resourceType, resource, actions]) => ({
      action: 'grant.create',
      actor: 'system/bootstrap',
      details: expect.objectContaining({ resourceType, resource, actions, resourceMatch: 'exact' }),
    })),
  ]

  it('is created through the services, audited as an admin creation is, and only once', async () => {
    const start = embedded()
    const first = await start(async (s) => {
      expect(await demoEvents(s)).toEqual(EXPECTED)
      expect(await pending(s)).toBe(false)
      expect((await verifyChain(s.store.db, s.defaultInstanceId)).ok).toBe(true)
      return (await events(s)).length
    })
    await start(async (s) => {
      expect((await events(s)).length).toBe(first)
      expect(await s.store.db.selectFrom('grants').select('id').execute()).toHaveLength(3)
      // Sealed like any credential value: readable through the service, not in the row.
      const revealed = await revealCredential(s, ADMIN, s.defaultInstanceId, 'demo/api-key', undefined)
      const apiKey = (revealed.value as { apiKey: string }).apiKey
      expect(apiKey).toMatch(/^demo-[0-9a-f]{32}$/)
      const sealed = await s.store.db.selectFrom('credential_versions').select('ciphertext').execute()
      expect(sealed).toHaveLength(1)
      expect(Buffer.from(sealed[0]?.ciphertext ?? '').includes(apiKey)).toBe(false)
    })
  })

  it('a start that stopped half-way is completed by the next, keeping what was made', async () => {
    const start = embedded()
    const made = await start(async (s) => {
      // As a crash after the credential, the provider and the account, before the grants.
      await s.store.db.deleteFrom('grants').execute()
      await s.store.db.insertInto('meta').values({ key: 'demo_resources_pending', value: '1' }).execute()
      return s.store.db.selectFrom('credentials').select('id').executeTakeFirstOrThrow()
    })
    await start(async (s) => {
      expect(await pending(s)).toBe(false)
      expect(await s.store.db.selectFrom('credentials').select('id').execute()).toEqual([made])
      expect(await s.store.db.selectFrom('grants').select('resource').orderBy('resource').execute()).toEqual([
        { resource: 'demo-db/admin' },
        { resource: 'demo-jwt' },
        { resource: 'demo/api-key' },
      ])
      // The three grants again, and nothing else: what existed was not made twice.
      expect((await demoEvents(s)).map((e) => e.action)).toEqual([
        ...EXPECTED.map((e) => e.action),
        ...Array(3).fill('grant.create'),
      ])
    })
  })

  it('a finished demo is not made again after an admin deletes part of it', async () => {
    const start = embedded()
    await start(async (s) => {
      await s.store.db.deleteFrom('grants').execute()
    })
    await start(async (s) => {
      expect(await s.store.db.selectFrom('grants').select('id').execute()).toEqual([])
    })
  })

  it('a start without a data folder makes no demo', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-demo-'))
    dirs.push(dir)
    const { services } = await openServices({
      db: `sqlite:${join(dir, 'strongroom.db')}`,
      rootKey: { kind: 'env', base64: randomBytes(32).toString('base64') },
      dataDir: null,
    })
    try {
      expect(await demoEvents(services)).toEqual([])
      expect(await pending(services)).toBe(false)
    } finally {
      await closeServices(services)
    }
  })
})
