// The durable change sequence (store/changes.ts) and the housekeeping of what the nodes share, on
// both engines: changes are numbered in commit order inside the committer's transaction, dropped
// with a unit that rolls back, read by a node from where it left off, shared by concurrent
// readers, and a node that missed pruned changes forgets everything it cached.
import { afterEach, describe, expect, it } from 'vitest'
import { type Change, ChangeFeed } from '../../src/store/changes.js'
import { pruneSharedState } from '../../src/store/housekeeping.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const DAY = 24 * 60 * 60_000

describe.each(ENGINES)('the change sequence on %s', (engine) => {
  let t: TestServer
  let now = 1_800_000_000_000
  afterEach(async () => t?.close())

  /** A second reader of the sequence, as another node would have, recording what it is told. */
  async function reader() {
    const feed = new ChangeFeed(t.services.store, () => now)
    await feed.start()
    const seen: string[] = []
    let flushed = 0
    feed.on('signing_keys', {
      evict: (c: Change) => seen.push(c.key),
      evictAll: () => {
        flushed++
      },
    })
    return { feed, seen, flushed: () => flushed }
  }

  /** The sequence as a database restored (or failed over) `commits` back had it: answers the head before. */
  async function rollBack(commits: number): Promise<number> {
    const db = t.services.store.db
    const head = Number((await db.selectFrom('change_head').select('seq').executeTakeFirstOrThrow()).seq)
    await db
      .deleteFrom('changes')
      .where('seq', '>', head - commits)
      .execute()
    await db
      .updateTable('change_head')
      .set({ seq: head - commits })
      .execute()
    return head
  }

  const record = (key: string, fail = false) =>
    t.services.committer.run(async ({ changes }) => {
      changes.record({ kind: 'signing_keys', instanceId: t.instanceId, key })
      if (fail) throw new Error('this unit fails')
    })

  it('reads the sequence before signing only where another node may have written it', async () => {
    now = 1_800_000_000_000
    t = await openTestServer(engine, { now: () => now })
    const feed = t.services.changes
    const before = feed.reads
    for (let i = 0; i < 5; i++) await t.services.signingKeys.active(t.instanceId)
    // SQLite has one writer, this process: a read per token would find nothing and cost ~15%.
    if (engine === 'sqlite') expect(feed.reads).toBe(before)
    else expect(feed.reads).toBeGreaterThanOrEqual(before + 5)
    // Readiness still asks the database on both.
    await feed.probe()
    expect(feed.reads).toBeGreaterThan(before)
  })

  it('numbers committed changes in order, drops a failed unit’s, and tells each reader once', async () => {
    now = 1_800_000_000_000
    t = await openTestServer(engine, { now: () => now })
    const other = await reader()
    const results = await Promise.allSettled([record('a'), record('b', true), record('c'), record('d')])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
    // Concurrent readers share the reads: no more than one in flight and one queued.
    const before = other.feed.reads
    await Promise.all(Array.from({ length: 20 }, () => other.feed.sync()))
    expect(other.feed.reads - before).toBeLessThanOrEqual(2)
    expect(other.seen).toEqual(['a', 'c', 'd'])
    const rows = await t.services.store.db
      .selectFrom('changes')
      .select(['seq', 'key'])
      .orderBy('seq')
      .execute()
    const numbers = rows.map((r) => Number(r.seq))
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i))
    expect(other.feed.health()).toMatchObject({ seq: numbers.at(-1), error: null })
    await other.feed.sync()
    expect(other.seen).toEqual(['a', 'c', 'd'])
  })

  it('keeps the last change when pruning, so a node away for longer forgets everything it cached', async () => {
    now = 1_800_000_000_000
    t = await openTestServer(engine, { now: () => now })
    const away = await reader()
    await record('old-1')
    await record('old-2')
    now += 2 * DAY
    const present = await reader()
    await record('recent')
    expect(await pruneSharedState(t.services)).toMatchObject({ changes: 2 })
    await present.feed.sync()
    expect(present.seen).toEqual(['recent'])
    expect(present.flushed()).toBe(0)
    await away.feed.sync()
    expect(away.flushed()).toBe(1)
    // Even with nothing new since: the last change is never pruned, so the hole shows.
    now += 2 * DAY
    const lateReader = await reader()
    expect(await pruneSharedState(t.services)).toMatchObject({ changes: 0 })
    await lateReader.feed.sync()
    expect(lateReader.flushed()).toBe(0)
  })

  it('forgets everything at a hole anywhere in a page, not only at its start', async () => {
    now = 1_800_000_000_000
    t = await openTestServer(engine, { now: () => now })
    const other = await reader()
    for (const key of ['h-1', 'h-2', 'h-3', 'h-4']) await record(key)
    // A row in the middle gone (pruned by a writer whose clock ran far ahead, say).
    const rows = await t.services.store.db.selectFrom('changes').select('seq').orderBy('seq').execute()
    await t.services.store.db.deleteFrom('changes').where('seq', '=', rows.at(-2)!.seq).execute()
    await other.feed.sync()
    expect(other.flushed()).toBe(1)
    expect(other.seen).toEqual(['h-1', 'h-2', 'h-4'])
  })

  it('forgets everything and follows on when the sequence goes back (a restore, a failover)', async () => {
    now = 1_800_000_000_000
    t = await openTestServer(engine, { now: () => now })
    const other = await reader()
    await record('before-1')
    await record('before-2')
    await other.feed.sync()
    expect(other.seen).toEqual(['before-1', 'before-2'])
    // The database as it was before those two commits: their rows gone, the head two back.
    const head = await rollBack(2)
    await other.feed.sync()
    expect(other.flushed()).toBe(1)
    // The next change gets a number the node had seen before: it is told of it all the same.
    await record('after')
    await other.feed.sync()
    expect(other.seen).toEqual(['before-1', 'before-2', 'after'])
    expect(other.feed.health()).toMatchObject({ seq: head - 1, error: null })
  })

  it('forgets everything when the sequence went back and then past the change it saw (another history)', async () => {
    now = 1_800_000_000_000
    t = await openTestServer(engine, { now: () => now })
    const other = await reader()
    await record('old-1')
    await record('old-2')
    await other.feed.sync()
    // A failover to a replica two commits behind, which then commits three changes of its own:
    // numbered head − 1, head and head + 1, past what the node saw before it reads again.
    await rollBack(2)
    now += 1
    for (const key of ['new-1', 'new-2', 'new-3']) await record(key)
    await other.feed.sync()
    expect(other.flushed()).toBe(1)
    expect(other.seen).toEqual(['old-1', 'old-2', 'new-3'])
  })

  it('ends every read when the table holds more rows past its head than a page (no commit makes them)', async () => {
    now = 1_800_000_000_000
    t = await openTestServer(engine, { now: () => now })
    const other = await reader()
    const db = t.services.store.db
    const head = Number((await db.selectFrom('change_head').select('seq').executeTakeFirstOrThrow()).seq)
    await db
      .insertInto('changes')
      .values(
        Array.from({ length: 1_200 }, (_, i) => ({
          seq: head + 1 + i,
          instance_id: t.instanceId,
          kind: 'signing_keys',
          key: `stray-${i}`,
          at: now,
        })),
      )
      .execute()
    await other.feed.sync()
    await other.feed.sync()
    expect(other.seen).toEqual([])
    expect(other.flushed()).toBe(2)
    expect(other.feed.health()).toMatchObject({ seq: head, error: null })
  })

  it('prunes failure buckets untouched for an hour and upstream tokens long expired and not leased', async () => {
    now = 1_800_000_000_000
    t = await openTestServer(engine, { now: () => now })
    const db = t.services.store.db
    await db
      .insertInto('auth_failures')
      .values([
        { surface: 'oauth_address', source: 'old', tokens: 0, at: now - 2 * 3_600_000 },
        { surface: 'oauth_address', source: 'fresh', tokens: 0, at: now - 60_000 },
      ])
      .execute()
    const token = (provider_id: string, fields: Record<string, number | null>) => ({
      provider_id,
      variant: 'v',
      instance_id: t.instanceId,
      generation: 1,
      fetches: 1,
      token_ciphertext: null,
      key_version: null,
      token_type: null,
      scope: null,
      obtained_at: null,
      expires_at: null,
      usable_until: null,
      lease_owner: null,
      lease_until: null,
      failed_at: null,
      failure: null,
      ...fields,
    })
    await db
      .insertInto('upstream_tokens')
      .values([
        token('expired', { expires_at: now - 3_600_000 }),
        token('live', { expires_at: now + 60_000 }),
        token('leased', { expires_at: now - 3_600_000, lease_until: now + 5_000 }),
      ])
      .execute()
    expect(await pruneSharedState(t.services)).toEqual({
      changes: 0,
      failureBuckets: 1,
      upstreamTokens: 1,
      tokenCounts: 0,
    })
    expect((await db.selectFrom('auth_failures').select('source').execute()).map((r) => r.source)).toEqual([
      'fresh',
    ])
    expect(
      (await db.selectFrom('upstream_tokens').select('provider_id').orderBy('provider_id').execute()).map(
        (r) => r.provider_id,
      ),
    ).toEqual(['leased', 'live'])
  })
})
