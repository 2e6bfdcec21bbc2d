import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newId } from '../../src/ids.js'
import {
  countTokens,
  insertTokenRecord,
  setTokensRevoked,
} from '../../src/services/authentication-tokens/token-counts.js'
import { FILTERED_PAGE_SCAN, pageOfTokens } from '../../src/services/authentication-tokens/token-records.js'
import { pruneSharedState } from '../../src/store/housekeeping.js'
import type { AuthenticationTokenTable } from '../../src/store/schema.js'
import { HOUR_MS, MINUTE_MS, pruneTokenCounts, recountTokens } from '../../src/store/token-counts-table.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

/** A moment on an hour boundary, so generated expiries fall on minute and hour edges too. */
const T0 = 1_800_000 * HOUR_MS
const CONSUMERS = ['app_a', 'app_b', 'app_c']

type Op =
  | { op: 'mint'; consumer: number; expiresAt: number }
  | { op: 'revokeOne'; token: number; revoked: boolean }
  | { op: 'revokeConsumer'; consumer: number; revoked: boolean }
  | { op: 'revokeProvider'; revoked: boolean }

/** Expiries around T0: on edges of minutes and hours, and anywhere within three hours either side. */
const expiry = fc.oneof(
  fc.integer({ min: -180, max: 180 }).map((m) => T0 + m * MINUTE_MS),
  fc.integer({ min: -3, max: 3 }).map((h) => T0 + h * HOUR_MS),
  fc.integer({ min: -3 * HOUR_MS, max: 3 * HOUR_MS }).map((d) => T0 + d),
)
/** Moments to count at: the expiries' edges, and ±1 ms around them. */
const moment = fc.oneof(
  expiry,
  expiry.map((e) => e - 1),
  expiry.map((e) => e + 1),
)

const operation: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant('mint' as const), consumer: fc.nat(2), expiresAt: expiry }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('revokeOne' as const), token: fc.nat(), revoked: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('revokeConsumer' as const),
      consumer: fc.nat(2),
      revoked: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('revokeProvider' as const), revoked: fc.boolean() }) },
)

describe.each(ENGINES)('token counts on %s', (engine) => {
  let t: TestServer
  beforeAll(async () => {
    t = await openTestServer(engine)
  })
  afterAll(async () => t?.close())

  const newProvider = async (): Promise<string> => {
    const res = await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/credential-providers`, {
      credentialProviderIdentifier: `counts-${newId('x', Date.now()).slice(2)}`,
      credentialProviderType: 'jwt',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    return res.body.credentialProviderId as string
  }
  const token = (providerId: string, consumer: string, expiresAt: number): AuthenticationTokenTable => ({
    id: newId('atntkn', Date.now()),
    instance_id: t.instanceId,
    provider_id: providerId,
    type: 'jwt',
    consumer_id: consumer,
    consumer_type: 'application',
    creator_id: consumer,
    creator_type: 'application',
    revoked: 0,
    value_hash: newId('h', Date.now()),
    value_ciphertext: null,
    key_version: null,
    short_token_hash: null,
    created_at: T0,
    updated_at: T0,
    expires_at: expiresAt,
  })
  /** What count(*) says: the answer the counts must give. */
  const counted = async (
    providerId: string,
    filter: { consumerId?: string; revoked?: boolean; expired?: boolean },
    now: number,
  ) => {
    const row = await t.services.store.db
      .selectFrom('authentication_tokens')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('instance_id', '=', t.instanceId)
      .where('provider_id', '=', providerId)
      .$if(filter.consumerId !== undefined, (q) => q.where('consumer_id', '=', filter.consumerId!))
      .$if(filter.revoked !== undefined, (q) => q.where('revoked', '=', filter.revoked ? 1 : 0))
      .$if(filter.expired !== undefined, (q) => q.where('expires_at', filter.expired ? '<=' : '>', now))
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }
  const everyFilter = (providerId: string) =>
    [undefined, ...CONSUMERS].flatMap((consumerId) =>
      [undefined, true, false].flatMap((revoked) =>
        [undefined, true, false].map((expired) => ({
          providerId,
          ...(consumerId === undefined ? {} : { consumerId }),
          ...(revoked === undefined ? {} : { revoked }),
          ...(expired === undefined ? {} : { expired }),
        })),
      ),
    )

  it('agree with count(*) for every filter, at every moment, after any mints, revocations and prunes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(operation, { minLength: 1, maxLength: 25 }),
        fc.array(moment, { minLength: 1, maxLength: 4 }),
        moment,
        async (ops, moments, pruneAt) => {
          const providerId = await newProvider()
          const ids: string[] = []
          await t.services.committer.run(async (unit) => {
            for (const o of ops) {
              if (o.op === 'mint') {
                const row = token(providerId, CONSUMERS[o.consumer]!, o.expiresAt)
                ids.push(row.id)
                await insertTokenRecord(unit, row)
              } else if (o.op === 'revokeOne' && ids.length > 0) {
                const tokenId = ids[o.token % ids.length]!
                await setTokensRevoked(unit, { instanceId: t.instanceId, providerId, tokenId }, o.revoked, T0)
              } else if (o.op === 'revokeConsumer') {
                const consumerId = CONSUMERS[o.consumer]!
                await setTokensRevoked(
                  unit,
                  { instanceId: t.instanceId, providerId, consumerId },
                  o.revoked,
                  T0,
                )
              } else if (o.op === 'revokeProvider') {
                await setTokensRevoked(unit, { instanceId: t.instanceId, providerId }, o.revoked, T0)
              }
            }
          })
          const check = async (now: number) => {
            for (const filter of everyFilter(providerId)) {
              const expected = await counted(providerId, filter, now)
              const got = await countTokens(t.services.store.db, t.instanceId, filter, now)
              expect(got, JSON.stringify({ filter, now: now - T0 })).toBe(expected)
            }
          }
          for (const now of moments) await check(now)
          // Pruning drops only hours and minutes that ended before the grace: counts at any moment
          // from then on are unchanged.
          const grace = 5 * MINUTE_MS
          await pruneTokenCounts(t.services.store.db, pruneAt, grace)
          for (const now of [pruneAt - grace, pruneAt, ...moments.filter((m) => m >= pruneAt - grace)]) {
            await check(now)
          }
        },
      ),
      { numRuns: engine === 'sqlite' ? 60 : 25 },
    )
  })

  it('are rebuilt by the recount exactly as they were kept (what the migration fills in)', async () => {
    const providerId = await newProvider()
    await t.services.committer.run(async (unit) => {
      for (let i = 0; i < 60; i++) {
        const row = token(providerId, CONSUMERS[i % 3]!, T0 + (i - 30) * 7 * MINUTE_MS)
        await insertTokenRecord(unit, row)
        if (i % 4 === 0)
          await setTokensRevoked(unit, { instanceId: t.instanceId, providerId, tokenId: row.id }, true, T0)
      }
      await setTokensRevoked(unit, { instanceId: t.instanceId, providerId, consumerId: 'app_b' }, true, T0)
      await setTokensRevoked(unit, { instanceId: t.instanceId, providerId, consumerId: 'app_c' }, false, T0)
    })
    const kept = async () =>
      (
        await t.services.store.db
          .selectFrom('authentication_token_counts')
          .selectAll()
          .where('provider_id', '=', providerId)
          .where('n', '!=', 0)
          .orderBy(['consumer_id', 'width', 'bucket', 'revoked'])
          .execute()
      ).map((r) => ({ ...r, width: Number(r.width), bucket: Number(r.bucket), n: Number(r.n) }))
    const before = await kept()
    expect(before.length).toBeGreaterThan(100)
    await recountTokens(t.services.store.db)
    expect(await kept()).toEqual(before)
  })

  it('housekeeping drops the hours and minutes that ended over an hour ago, and the counts still agree', async () => {
    const providerId = await newProvider()
    const now = Date.now()
    await t.services.committer.run(async (unit) => {
      await insertTokenRecord(unit, token(providerId, 'app_a', now - 3 * HOUR_MS))
      await insertTokenRecord(unit, token(providerId, 'app_a', now + HOUR_MS))
    })
    const { tokenCounts } = await pruneSharedState(t.services)
    // The old token's hour and minute, for its consumer and for every consumer.
    expect(tokenCounts).toBeGreaterThanOrEqual(4)
    for (const filter of everyFilter(providerId)) {
      expect(await countTokens(t.services.store.db, t.instanceId, filter, now)).toBe(
        await counted(providerId, filter, now),
      )
    }
  })

  it('a filtered page examines a bounded stretch of tokens and goes on with nextToken, the total still exact', async () => {
    const providerId = await newProvider()
    const many = FILTERED_PAGE_SCAN + 500
    const revokedIds: string[] = []
    await t.services.committer.run(async (unit) => {
      for (let i = 0; i < many; i++) {
        const row = token(providerId, 'app_a', T0 + HOUR_MS)
        await insertTokenRecord(unit, row)
        if (i >= many - 5) revokedIds.push(row.id)
      }
      for (const tokenId of revokedIds) {
        await setTokensRevoked(unit, { instanceId: t.instanceId, providerId, tokenId }, true, T0)
      }
    })
    const filter = { providerId, consumerId: 'app_a', revoked: true }
    const first = await pageOfTokens(t.services.store.db, t.instanceId, filter, {}, T0)
    // The first FILTERED_PAGE_SCAN tokens hold no revoked one: an empty page that goes on.
    expect(first.entities).toEqual([])
    expect(first.totalCount).toBe(5)
    expect(first.nextToken).not.toBeNull()
    const second = await pageOfTokens(
      t.services.store.db,
      t.instanceId,
      filter,
      { nextToken: first.nextToken! },
      T0,
    )
    expect(second.entities.map((e) => e.authenticationTokenId)).toEqual(revokedIds)
    expect(second.totalCount).toBe(5)
    expect(second.nextToken).toBeNull()
    // Unfiltered pages are full pages in id order, as before.
    const all = await pageOfTokens(t.services.store.db, t.instanceId, { providerId }, { maxResults: 100 }, T0)
    expect(all.entities).toHaveLength(100)
    expect(all.totalCount).toBe(many)
    // Not expired at T0, all of them; at their expiry, none.
    const live = await pageOfTokens(t.services.store.db, t.instanceId, { providerId, expired: false }, {}, T0)
    expect([live.entities.length, live.totalCount]).toEqual([20, many])
    const gone = await pageOfTokens(
      t.services.store.db,
      t.instanceId,
      { providerId, expired: false },
      {},
      T0 + HOUR_MS,
    )
    expect([gone.entities.length, gone.totalCount, gone.nextToken !== null]).toEqual([0, 0, true])
  })
})

describe('writes to authentication_tokens', () => {
  it('go through token-counts.ts only, so the counts cannot be skipped', () => {
    const src = join(import.meta.dirname, '../../src')
    const offenders: string[] = []
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (
          entry.name.endsWith('.ts') &&
          !path.endsWith(join('authentication-tokens', 'token-counts.ts')) &&
          /(insertInto|updateTable|deleteFrom)\(\s*'authentication_tokens'/.test(readFileSync(path, 'utf8'))
        ) {
          offenders.push(path.slice(src.length + 1))
        }
      }
    }
    walk(src)
    expect(offenders).toEqual([])
  })
})
