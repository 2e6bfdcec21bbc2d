import { afterEach, describe, expect, it } from 'vitest'
import { pruneExpired } from '../../src/store/housekeeping.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

describe.each(ENGINES)('housekeeping on %s', (engine) => {
  let t: TestServer
  afterEach(async () => t?.close())

  it('prunes used assertion ids, revocations and secret-token records whose tokens have expired, and keeps the rest', async () => {
    let now = 1_800_000_000_000
    t = await openTestServer(engine, { now: () => now })
    const db = t.services.store.db
    await db
      .insertInto('used_client_assertions')
      .values([
        { instance_id: t.instanceId, client_id: 'app_a', jti: 'old', expires_at: now - 60_000 },
        { instance_id: t.instanceId, client_id: 'app_a', jti: 'live', expires_at: now + 30 * 60_000 },
      ])
      .execute()
    await db
      .insertInto('revoked_access_tokens')
      .values([
        { jti: 'old', instance_id: t.instanceId, expires_at: now - 60_000 },
        { jti: 'live', instance_id: t.instanceId, expires_at: now + 3_600_000 },
      ])
      .execute()
    await db
      .insertInto('client_secret_tokens')
      .values([
        { jti: 'old', instance_id: t.instanceId, client_secret_id: 'cs_a', expires_at: now - 60_000 },
        { jti: 'live', instance_id: t.instanceId, client_secret_id: 'cs_a', expires_at: now + 3_600_000 },
      ])
      .execute()
    // Within the grace period nothing goes: another node's clock may be behind.
    expect(await pruneExpired(t.services)).toEqual({ assertions: 0, revocations: 0, secretTokens: 0 })
    now += 10 * 60_000
    expect(await pruneExpired(t.services)).toEqual({ assertions: 1, revocations: 1, secretTokens: 1 })
    expect((await db.selectFrom('used_client_assertions').select('jti').execute()).map((r) => r.jti)).toEqual(
      ['live'],
    )
    expect((await db.selectFrom('revoked_access_tokens').select('jti').execute()).map((r) => r.jti)).toEqual([
      'live',
    ])
    expect((await db.selectFrom('client_secret_tokens').select('jti').execute()).map((r) => r.jti)).toEqual([
      'live',
    ])
  })
})
