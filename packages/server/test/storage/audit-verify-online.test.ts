// Verifying a chain through the admin API while the server goes on appending to it: found by an
// attacker's review of the console, whose audit page verifies on every visit. On SQLite the rows
// come back synchronously, so a million events held every request for seconds; on either engine
// the head was read after the last page, so events committed in between read as a broken chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GENESIS_HASH } from '../../src/audit/chain.js'
import { verifyChain, verifyChainOnce } from '../../src/audit/verify.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const ACTOR = { type: 'application', id: 'app_online' } as const
const SEEDED = 5_000

describe.each(ENGINES)('verifying a chain online on %s', (engine) => {
  let t: TestServer
  const chain = `ins_online_${engine}`

  /** Appends `count` events to the chain, 250 to a unit of work. */
  async function append(count: number): Promise<void> {
    for (let done = 0; done < count; done += 250) {
      await t.services.committer.run(async ({ audit }) => {
        for (let i = done; i < Math.min(count, done + 250); i++) {
          await audit.append({
            instanceId: chain,
            actor: ACTOR,
            action: 'credential.obtain',
            outcome: 'success',
          })
        }
      })
    }
  }

  beforeAll(async () => {
    t = await openTestServer(engine)
    await t.services.store.db
      .insertInto('audit_heads')
      .values({ instance_id: chain, seq: 0, hash: GENESIS_HASH })
      .execute()
    await append(SEEDED)
  }, 120_000)
  afterAll(async () => t?.close())

  it('lets other work run between its pages', async () => {
    let turns = 0
    let stop = false
    const tick = () => {
      turns++
      if (!stop) setImmediate(tick)
    }
    setImmediate(tick)
    const result = await verifyChain(t.services.store.db, chain)
    stop = true
    expect(result).toMatchObject({ ok: true, checked: SEEDED })
    // One page is 1,000 events: the loop got a turn after each of the first four at least.
    expect(turns).toBeGreaterThanOrEqual(4)
  })

  it('reports an intact chain while events are appended to it, and a tail past the head as broken', async () => {
    let appending = true
    const writer = (async () => {
      while (appending) {
        await append(20)
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    })()
    try {
      for (let round = 0; round < 5; round++) {
        const result = await verifyChain(t.services.store.db, chain)
        expect(result, `round ${round}`).toMatchObject({ ok: true, firstBrokenSeq: null })
      }
    } finally {
      appending = false
      await writer
    }
    // An event stored past the head without it (a tail an insider added) is still reported.
    const head = await t.services.store.db
      .selectFrom('audit_heads')
      .select(['seq', 'hash'])
      .where('instance_id', '=', chain)
      .executeTakeFirstOrThrow()
    const last = await t.services.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('instance_id', '=', chain)
      .where('seq', '=', Number(head.seq))
      .executeTakeFirstOrThrow()
    await t.services.store.db
      .insertInto('audit_events')
      .values({ ...last, seq: Number(head.seq) + 1, prev_hash: head.hash })
      .execute()
    try {
      const result = await verifyChain(t.services.store.db, chain)
      expect(result).toMatchObject({ ok: false, firstBrokenSeq: Number(head.seq) + 1 })
    } finally {
      await t.services.store.db
        .deleteFrom('audit_events')
        .where('instance_id', '=', chain)
        .where('seq', '>', Number(head.seq))
        .execute()
    }
  }, 120_000)

  it('runs one verification of a chain at a time, shared by those who ask meanwhile', async () => {
    const first = verifyChainOnce(t.services.store.db, chain)
    expect(verifyChainOnce(t.services.store.db, chain)).toBe(first)
    expect(await first).toMatchObject({ ok: true })
    // Once it settled, the next request verifies again.
    const next = verifyChainOnce(t.services.store.db, chain)
    expect(next).not.toBe(first)
    expect(await next).toMatchObject({ ok: true })
  })
})
