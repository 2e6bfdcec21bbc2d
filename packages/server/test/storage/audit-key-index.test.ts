import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AuditQuery } from '@strongroom/protocol'
import fc from 'fast-check'
import type { Kysely } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { latestAnchor } from '../../src/audit/anchors.js'
import { archiveAuditEvents } from '../../src/audit/archive.js'
import { GENESIS_HASH } from '../../src/audit/chain.js'
import {
  decodeSeqs,
  encodeSeqs,
  indexAuditKeys,
  indexedSeq,
  startAuditKeyIndexer,
} from '../../src/audit/key-index.js'
import { queryAuditEvents, scanAuditEvents } from '../../src/audit/query.js'
import type { Database } from '../../src/store/schema.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const T0 = Date.UTC(2026, 0, 1, 12)
const ACTORS = ['app_a', 'app_b', 'usr_c']
const RESOURCES = ['cred_1', 'cred_2', 'acct_3']
const RESOURCE_TYPES = ['credential', 'account']
const ACTIONS = ['credential.obtain', 'account.update']

const eventArb = fc.record({
  actor: fc.nat(ACTORS.length - 1),
  /** RESOURCES.length: an event without a resource. */
  resource: fc.nat(RESOURCES.length),
  resourceType: fc.nat(RESOURCE_TYPES.length - 1),
  action: fc.nat(ACTIONS.length - 1),
  failure: fc.boolean(),
  /** Milliseconds after the event before it: several events share a time. */
  dt: fc.nat(2),
})
type EventSpec = typeof eventArb extends fc.Arbitrary<infer T> ? T : never

/** `arb` in one case out of `oneIn`, else left out. */
const sometimes = <T>(arb: fc.Arbitrary<T>, oneIn: number) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: oneIn - 1 }, { arbitrary: arb, weight: 1 })

/** Any combination of the filters, including ids no event has; each filter rare enough that pages hold events. */
const queryArb = fc
  .record({
    actorId: sometimes(fc.constantFrom(...ACTORS, 'app_nobody'), 2),
    resourceId: sometimes(fc.constantFrom(...RESOURCES, 'cred_none'), 2),
    resourceType: sometimes(fc.constantFrom(...RESOURCE_TYPES), 5),
    action: sometimes(fc.constantFrom(...ACTIONS), 5),
    outcome: sometimes(fc.constantFrom('success' as const, 'failure' as const), 5),
    from: sometimes(fc.integer({ min: T0, max: T0 + 80 }), 5),
    to: sometimes(fc.integer({ min: T0, max: T0 + 80 }), 5),
    afterSeq: sometimes(fc.nat(45), 5),
    order: sometimes(fc.constantFrom('asc' as const, 'desc' as const), 2),
    maxResults: fc.integer({ min: 1, max: 4 }),
  })
  .map((q) => Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as AuditQuery)

/** Every key the index holds for `chain`, one `kind:key:seq` per seq of each block, sorted. */
async function keysIn(db: Kysely<Database>, chain: string): Promise<string[]> {
  const blocks = await db
    .selectFrom('audit_key_blocks')
    .select(['kind', 'key', 'first_seq', 'last_seq', 'seqs'])
    .where('instance_id', '=', chain)
    .execute()
  return blocks
    .flatMap((b) => {
      const seqs = decodeSeqs(b.seqs)
      expect([seqs[0], seqs[seqs.length - 1]]).toEqual([Number(b.first_seq), Number(b.last_seq)])
      return seqs.map((seq) => `${b.kind}:${b.key}:${seq}`)
    })
    .sort()
}

describe('posting blocks', () => {
  it('decode to the seqs encoded, whatever their gaps; a block cut short or overlong is refused', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 ** 40 })), {
          maxLength: 50,
        }),
        (first, gaps) => {
          const seqs = [first]
          for (const gap of gaps) {
            const next = seqs[seqs.length - 1]! + gap
            if (!Number.isSafeInteger(next)) break
            seqs.push(next)
          }
          const block = encodeSeqs(seqs)
          expect(decodeSeqs(block)).toEqual(seqs)
        },
      ),
    )
    // A run of consecutive seqs is a byte each after the first.
    expect(encodeSeqs([1000, 1001, 1002, 1003])).toHaveLength(2 + 3)
    expect(() => decodeSeqs(Buffer.from([0x81]))).toThrow(/ends inside a varint/)
    expect(() => decodeSeqs(Buffer.alloc(9, 0xff))).toThrow(/too long/)
    expect(() => encodeSeqs([3, 3])).toThrow(/ascending/)
    expect(() => encodeSeqs([3, 2])).toThrow(/ascending/)
  })
})

describe.each(ENGINES)('audit key index on %s', (engine) => {
  let t: TestServer
  let now = T0
  let dir: string
  let chains = 0
  beforeEach(async () => {
    now = T0
    dir = mkdtempSync(join(tmpdir(), 'strongroom-key-index-'))
    t = await openTestServer(engine, { now: () => now })
  })
  afterEach(async () => {
    await t?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /** A new chain holding `events`, appended by the real appender, its clock starting at T0. */
  async function chainOf(events: EventSpec[]): Promise<string> {
    const chain = `ins_keyindex${chains++}`
    await t.services.store.db
      .insertInto('audit_heads')
      .values({ instance_id: chain, seq: 0, hash: GENESIS_HASH })
      .execute()
    now = T0
    await t.services.committer.run(async ({ audit }) => {
      for (const e of events) {
        now += e.dt
        await audit.append({
          instanceId: chain,
          actor: { type: 'application', id: ACTORS[e.actor]! },
          action: ACTIONS[e.action]!,
          ...(e.resource < RESOURCES.length
            ? { resource: { type: RESOURCE_TYPES[e.resourceType]!, id: RESOURCES[e.resource]! } }
            : {}),
          outcome: e.failure ? 'failure' : 'success',
        })
      }
    })
    return chain
  }

  /** Every page `list` serves for `query`, following its tokens to the end. */
  async function allPages(list: typeof queryAuditEvents, chain: string, query: AuditQuery) {
    const pages = []
    let nextToken: string | undefined
    for (let i = 0; i < 100; i++) {
      const page = await list(t.services.store.db, chain, nextToken ? { ...query, nextToken } : query)
      pages.push(page)
      if (page.nextToken === null) return pages
      nextToken = page.nextToken
    }
    throw new Error('more than 100 pages')
  }

  /** Every key the index holds for `chain`, one `kind:key:seq` per seq of each block, sorted. */
  const keysOf = (chain: string) => keysIn(t.services.store.db, chain)

  /** Indexes the chains the test server started with, so that a step then sees only the test's. */
  async function indexTheRest() {
    while ((await indexAuditKeys(t.services)).more) {}
  }

  it('serves exactly the pages of a plain scan, whatever the filters, the mark and the archived prefix', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventArb, { maxLength: 40 }),
        fc.record({
          batch: fc.integer({ min: 1, max: 12 }),
          stepsBefore: fc.nat(4),
          archiveBefore: fc.option(fc.integer({ min: T0, max: T0 + 80 }), { nil: null }),
          stepsAfter: fc.nat(4),
        }),
        fc.array(queryArb, { minLength: 1, maxLength: 8 }),
        async (events, plan, queries) => {
          const chain = await chainOf(events)
          for (let i = 0; i < plan.stepsBefore; i++) await indexAuditKeys(t.services, plan.batch)
          if (plan.archiveBefore !== null) {
            await archiveAuditEvents(t.services, {
              before: plan.archiveBefore,
              dir,
              actor: { type: 'system', id: 'test' },
              chains: [chain],
            })
            // The archived events' keys went with them: every block that ends by the anchor (one
            // that straddles it stays, its archived seqs finding no event any more).
            const anchor = await latestAnchor(t.services.store.db, chain)
            if (anchor !== null) {
              const left = await t.services.store.db
                .selectFrom('audit_key_blocks')
                .select('last_seq')
                .where('instance_id', '=', chain)
                .where('last_seq', '<=', anchor.seq)
                .execute()
              expect(left).toEqual([])
            }
          }
          for (let i = 0; i < plan.stepsAfter; i++) await indexAuditKeys(t.services, plan.batch)
          for (const query of queries) {
            expect(await allPages(queryAuditEvents, chain, query)).toEqual(
              await allPages(scanAuditEvents, chain, query),
            )
          }
        },
      ),
      { numRuns: engine === 'postgres' ? 60 : 100 },
    )
  })

  it('pages through blocks whatever the cursor cuts: inside a block, at its first or its last seq', async () => {
    // Three steps of four: blocks 1-4, 5-8 and 9-10 of one actor, the other actor's in between.
    const chain = await chainOf(
      Array.from({ length: 10 }, (_, i) => ({
        actor: i === 5 ? 1 : 0,
        resource: 0,
        resourceType: 0,
        action: 0,
        failure: false,
        dt: 1,
      })),
    )
    while ((await indexAuditKeys(t.services, 4)).more) {}
    for (let afterSeq = 0; afterSeq <= 10; afterSeq++) {
      for (let maxResults = 1; maxResults <= 4; maxResults++) {
        for (const order of ['asc', 'desc'] as const) {
          const query: AuditQuery = { actorId: 'app_a', afterSeq, maxResults, order }
          expect(await allPages(queryAuditEvents, chain, query), JSON.stringify(query)).toEqual(
            await allPages(scanAuditEvents, chain, query),
          )
        }
      }
    }
  })

  it('indexes each chain in steps of at most a batch, the mark moving with the keys', async () => {
    await indexTheRest()
    const chain = await chainOf(
      Array.from({ length: 7 }, (_, i) => ({
        actor: i % 2,
        resource: i % 4,
        resourceType: 0,
        action: 0,
        failure: false,
        dt: 1,
      })),
    )
    expect(await indexAuditKeys(t.services, 3)).toEqual({ indexed: 3, more: true })
    expect(await indexedSeq(t.services.store.db, chain)).toBe(3)
    expect(await keysOf(chain)).toEqual([
      'actor:app_a:1',
      'actor:app_a:3',
      'actor:app_b:2',
      'resource:acct_3:3',
      'resource:cred_1:1',
      'resource:cred_2:2',
    ])
    expect(await indexAuditKeys(t.services, 3)).toEqual({ indexed: 3, more: true })
    expect(await indexedSeq(t.services.store.db, chain)).toBe(6)
    expect(await indexAuditKeys(t.services, 3)).toEqual({ indexed: 1, more: false })
    expect(await indexedSeq(t.services.store.db, chain)).toBe(7)
    expect(await indexAuditKeys(t.services, 3)).toEqual({ indexed: 0, more: false })
    // Seq 4 has no resource: seven actor keys, six resource keys.
    expect(await keysOf(chain)).toHaveLength(7 + 6)
  })

  it('a step redone over events already indexed (a mark moved back by hand) adds no event twice to a query', async () => {
    const chain = await chainOf(
      Array.from({ length: 5 }, (_, i) => ({
        actor: i % 3,
        resource: i % 3,
        resourceType: 1,
        action: 1,
        failure: true,
        dt: 0,
      })),
    )
    await indexAuditKeys(t.services)
    expect(await keysOf(chain)).toHaveLength(10)
    const queries: AuditQuery[] = ACTORS.flatMap((actorId) => [{ actorId }, { actorId, order: 'desc' }])
    const before = await Promise.all(queries.map((q) => allPages(queryAuditEvents, chain, q)))
    await t.services.store.db
      .updateTable('audit_key_marks')
      .set({ indexed_seq: 2 })
      .where('instance_id', '=', chain)
      .execute()
    await indexAuditKeys(t.services)
    expect(await indexedSeq(t.services.store.db, chain)).toBe(5)
    expect(await Promise.all(queries.map((q) => allPages(queryAuditEvents, chain, q)))).toEqual(before)
    expect(before).toEqual(await Promise.all(queries.map((q) => allPages(scanAuditEvents, chain, q))))
  })

  it('catches up in the background from the start, and stops', async () => {
    const chain = await chainOf(
      Array.from({ length: 25 }, (_, i) => ({
        actor: i % 3,
        resource: 3,
        resourceType: 0,
        action: 0,
        failure: false,
        dt: 1,
      })),
    )
    const warnings: unknown[] = []
    const stop = startAuditKeyIndexer(t.services, { warn: (obj) => warnings.push(obj) }, 60_000, 4)
    try {
      // Seven steps of four, one after the other, well before the minute between idle checks.
      await expect
        .poll(() => indexedSeq(t.services.store.db, chain), { timeout: 5000, interval: 20 })
        .toBe(25)
    } finally {
      await stop()
    }
    expect(warnings).toEqual([])
    expect(await keysOf(chain)).toHaveLength(25)
  })

  it('serves the events after the mark before the indexer reaches them', async () => {
    await indexTheRest()
    const chain = await chainOf([
      { actor: 0, resource: 0, resourceType: 0, action: 0, failure: false, dt: 1 },
      { actor: 1, resource: 0, resourceType: 0, action: 0, failure: false, dt: 1 },
    ])
    const seqs = async (query: AuditQuery) =>
      (await queryAuditEvents(t.services.store.db, chain, query)).entities.map((e) => e.seq)
    expect(await seqs({ resourceId: 'cred_1' })).toEqual([1, 2])
    await indexAuditKeys(t.services, 1)
    expect(await indexedSeq(t.services.store.db, chain)).toBe(1)
    expect(await seqs({ resourceId: 'cred_1', order: 'desc' })).toEqual([2, 1])
    expect(await seqs({ actorId: 'app_b' })).toEqual([2])
  })

  // An insider cut the chain's tail and rolled its head back: the mark stayed past the head, and
  // genuine events written after the cut, numbered at or below it, had no blocks, so a query by
  // resource or actor hid them (found by an attacker's review of the audit chain).
  it('finds by key the events written after a cut tail, before and after the indexer sets its mark back', async () => {
    await indexTheRest()
    const spec = (resource: number) => ({
      actor: 0,
      resource,
      resourceType: 0,
      action: 0,
      failure: false,
      dt: 1,
    })
    const chain = await chainOf(Array.from({ length: 50 }, () => spec(0)))
    await indexTheRest()
    const db = t.services.store.db
    const kept = await db
      .selectFrom('audit_events')
      .select('hash')
      .where('instance_id', '=', chain)
      .where('seq', '=', 30)
      .executeTakeFirstOrThrow()
    await db.deleteFrom('audit_events').where('instance_id', '=', chain).where('seq', '>', 30).execute()
    await db
      .updateTable('audit_heads')
      .set({ seq: 30, hash: kept.hash })
      .where('instance_id', '=', chain)
      .execute()
    await t.services.committer.run(async ({ audit }) => {
      for (let i = 0; i < 5; i++) {
        await audit.append({
          instanceId: chain,
          actor: { type: 'application', id: ACTORS[1]! },
          action: ACTIONS[0]!,
          resource: { type: RESOURCE_TYPES[0]!, id: RESOURCES[1]! },
          outcome: 'success',
        })
      }
    })
    const seqs = async (query: AuditQuery) =>
      (await queryAuditEvents(db, chain, query)).entities.map((e) => e.seq)
    const written = [31, 32, 33, 34, 35]
    expect(await seqs({ resourceId: RESOURCES[1]! })).toEqual(written)
    expect(await seqs({ actorId: ACTORS[1]! })).toEqual(written)
    await indexTheRest()
    expect(await indexedSeq(db, chain)).toBe(35)
    expect(await seqs({ resourceId: RESOURCES[1]! })).toEqual(written)
    expect(await seqs({ actorId: ACTORS[1]!, order: 'desc' })).toEqual([...written].reverse())
    expect((await seqs({ resourceId: RESOURCES[0]! })).length).toBe(30)
  })
})

describe('audit key index on several PostgreSQL nodes', () => {
  let nodes: TestServer[] = []
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.close()
  })

  it('indexes while other nodes index and append, each key once, the mark at the head', async () => {
    const first = await openTestServer('postgres')
    nodes = [first, await openTestServer('postgres', { db: first.db, rootKey: first.rootKey })]
    const chain = first.instanceId
    const appending = (async () => {
      for (let batch = 0; batch < 20; batch++) {
        await Promise.all(
          nodes.map((node, n) =>
            node.services.committer.run(async ({ audit }) => {
              for (let i = 0; i < 10; i++) {
                await audit.append({
                  instanceId: chain,
                  actor: { type: 'application', id: ACTORS[(batch + i + n) % ACTORS.length]! },
                  action: ACTIONS[0]!,
                  resource: { type: RESOURCE_TYPES[0]!, id: RESOURCES[i % RESOURCES.length]! },
                  outcome: 'success',
                })
              }
            }),
          ),
        )
      }
    })()
    let done = false
    const indexing = nodes.map(async (node) => {
      while (!done) await indexAuditKeys(node.services, 7)
    })
    await appending
    done = true
    await Promise.all(indexing)
    while ((await indexAuditKeys(first.services, 7)).more) {}

    const db = first.services.store.db
    const events = await db
      .selectFrom('audit_events')
      .select(['seq', 'actor_id', 'resource_id'])
      .where('instance_id', '=', chain)
      .execute()
    const expected = events
      .flatMap((e) => [
        `actor:${e.actor_id}:${Number(e.seq)}`,
        ...(e.resource_id === null ? [] : [`resource:${e.resource_id}:${Number(e.seq)}`]),
      ])
      .sort()
    expect(await keysIn(db, chain)).toEqual(expected)
    expect(await indexedSeq(db, chain)).toBe(Math.max(...events.map((e) => Number(e.seq))))
  })
})
