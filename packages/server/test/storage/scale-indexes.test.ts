import {
  CompiledQuery,
  createQueryId,
  type Kysely,
  type KyselyPlugin,
  type RootOperationNode,
  sql,
} from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { indexAuditKeys } from '../../src/audit/key-index.js'
import { queryAuditEvents } from '../../src/audit/query.js'
import { countTokens } from '../../src/services/authentication-tokens/token-counts.js'
import { pageOfTokens } from '../../src/services/authentication-tokens/token-records.js'
import type { Database } from '../../src/store/schema.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

/** Keeps the queries a function sends, so the test explains exactly what the server runs. */
class Recorded implements KyselyPlugin {
  readonly queries: RootOperationNode[] = []
  transformQuery({ node }: { node: RootOperationNode }): RootOperationNode {
    this.queries.push(node)
    return node
  }
  async transformResult<R>({ result }: { result: R }): Promise<R> {
    return result
  }
}

/**
 * The plans of the queries `run` sends, as text, one per query in the order sent. PostgreSQL plans
 * a small table with a sequential scan and a sort whatever its indexes; with both priced out for
 * the transaction it takes an index that serves the filter and the order if there is one, and
 * sorts only if not.
 */
async function plansOf(t: TestServer, run: (db: Kysely<Database>) => Promise<unknown>): Promise<string[]> {
  return t.services.store.db.transaction().execute(async (trx) => {
    if (t.engine === 'postgres') {
      await sql`set local enable_seqscan = off`.execute(trx)
      await sql`set local enable_sort = off`.execute(trx)
    }
    const recorded = new Recorded()
    await run(trx.withPlugin(recorded))
    const plans: string[] = []
    for (const query of recorded.queries) {
      const compiled = trx.getExecutor().compileQuery(query, createQueryId())
      const explain = t.engine === 'postgres' ? 'explain ' : 'explain query plan '
      const { rows } = await trx.executeQuery(
        CompiledQuery.raw(explain + compiled.sql, [...compiled.parameters]),
      )
      plans.push(
        (rows as Record<string, unknown>[]).map((r) => String(r.detail ?? r['QUERY PLAN'] ?? '')).join('\n'),
      )
    }
    return plans
  })
}

/** The plan of the first query `run` sends. */
async function planOf(t: TestServer, run: (db: Kysely<Database>) => Promise<unknown>): Promise<string> {
  return (await plansOf(t, run))[0]!
}

describe.each(ENGINES)('scale indexes on %s', (engine) => {
  let t: TestServer
  afterEach(async () => t?.close())

  it('an audit query by actor or by resource walks the key index in seq order, never the whole chain', async () => {
    t = await openTestServer(engine)
    // A chain of some size, indexed (audit/key-index.ts) but for a tail, with its statistics: on
    // empty tables PostgreSQL may pick a join that walks the chain for each key, as good as any
    // other when every table holds one row.
    const actor = 'app_01m96zvky8a6t3b2x9yeddwjy5'
    const resource = 'cred_01m96zvkpnre9w2c75rgv33qyf'
    const append = (n: number) =>
      t.services.committer.run(async ({ audit }) => {
        for (let i = 0; i < n; i++) {
          await audit.append({
            instanceId: t.instanceId,
            actor: { type: 'application', id: i % 50 === 0 ? actor : `app_${i % 40}` },
            action: 'credential.obtain',
            resource: { type: 'credential', id: i % 100 === 0 ? resource : `cred_${i % 90}` },
            outcome: 'success',
          })
        }
      })
    await append(3000)
    while ((await indexAuditKeys(t.services)).more) {}
    await append(20)
    await sql`analyze`.execute(t.services.store.db)

    const query = (q: Parameters<typeof queryAuditEvents>[2]) => (db: Kysely<Database>) =>
      queryAuditEvents(db, t.instanceId, q)
    const fullScanOrSort = /\bSCAN\b|TEMP B-TREE|Seq Scan|Sort/
    /**
     * The key's posting blocks, a range of their primary key; the events they name, each looked
     * up by the chain's primary key; and the tail the indexer has not reached, a range of it.
     */
    const walksKeysAndTail = (plans: string[]) => {
      for (const plan of plans) expect(plan).not.toMatch(fullScanOrSort)
      const all = plans.join('\n')
      if (engine === 'sqlite') {
        expect(all).toMatch(
          /SEARCH audit_key_blocks USING PRIMARY KEY \(instance_id=\? AND kind=\? AND key=\? AND first_seq>\? AND first_seq<\?\)/,
        )
        expect(all).toMatch(
          /SEARCH e USING (INDEX sqlite_autoindex_audit_events_1|PRIMARY KEY) \(instance_id=\? AND seq=\?\)/,
        )
        expect(all).toMatch(
          /SEARCH e USING (INDEX sqlite_autoindex_audit_events_1|PRIMARY KEY) \(instance_id=\? AND seq>\?/,
        )
      } else {
        expect(all).toMatch(
          /Index Scan (Backward )?using audit_key_blocks_pk on audit_key_blocks[^\n]*\n\s*Index Cond: [^\n]*key = [^\n]*first_seq >= [^\n]*first_seq < /,
        )
        expect(all).toMatch(/Index Cond: \(\(instance_id = [^\n]*\) AND \(seq = ANY /)
        expect(all).toMatch(/Index Scan (Backward )?using audit_events_pk on audit_events e[\s\S]*seq > /)
      }
    }

    // Oldest first: the indexed part, then the tail (the actor has fewer events than a page).
    walksKeysAndTail(await plansOf(t, query({ actorId: actor })))
    // Newest first: the tail, then the indexed part.
    walksKeysAndTail(
      await plansOf(t, query({ resourceType: 'credential', resourceId: resource, order: 'desc' })),
    )
    // A later page: the block that straddles the cursor, then the blocks after it.
    const nextPage = await plansOf(t, query({ actorId: actor, afterSeq: 5 }))
    walksKeysAndTail(nextPage)
    expect(nextPage.join('\n')).toMatch(
      engine === 'sqlite'
        ? /SEARCH audit_key_blocks USING PRIMARY KEY \(instance_id=\? AND kind=\? AND key=\? AND first_seq<\?\)/
        : /Index Scan Backward using audit_key_blocks_pk[^\n]*\n\s*Index Cond: [^\n]*first_seq <= /,
    )
  })

  it("the admin list of a provider's tokens walks them in id order without sorting them all", async () => {
    t = await openTestServer(engine)
    const page = (consumerId?: string) => (db: Kysely<Database>) =>
      pageOfTokens(db, t.instanceId, { providerId: 'atp_01m96zvk7x750fbq2gjxhzj8bm', consumerId }, {}, 0)

    const everyConsumer = await planOf(t, page())
    expect(everyConsumer).toContain('authentication_tokens_provider')
    expect(everyConsumer).not.toMatch(/TEMP B-TREE|Sort/)

    // One consumer's page (the developer API's ListAuthenticationTokens) is not sorted either.
    // SQLite takes the index with the most equalities, the consumer's; PostgreSQL takes whichever
    // its statistics of the table favour (on an empty one the two tie).
    const oneConsumer = await planOf(t, page('app_01m96zvky8a6t3b2x9yeddwjy5'))
    expect(oneConsumer).not.toMatch(/TEMP B-TREE|Sort/)
    if (engine === 'sqlite') expect(oneConsumer).toContain('authentication_tokens_consumer')
  })
  it('the total of a token list reads the count rows and one minute of the expiry index, never every token', async () => {
    t = await openTestServer(engine)
    const total = (consumerId?: string) => (db: Kysely<Database>) =>
      countTokens(
        db,
        t.instanceId,
        { providerId: 'atp_01m96zvk7x750fbq2gjxhzj8bm', consumerId, expired: false },
        1_800_000_000_000,
      )
    for (const consumerId of [undefined, 'app_01m96zvky8a6t3b2x9yeddwjy5']) {
      // Kysely hands the plugin each subquery too: the last plan is the whole statement's.
      const plan = (await plansOf(t, total(consumerId))).at(-1)!
      expect(plan).not.toMatch(/\bSCAN authentication_tokens\b|Seq Scan/)
      expect(plan).toMatch(/authentication_tokens_expiry/)
      // The hours and minutes to come: a range of buckets, not every bucket of the consumer.
      expect(plan).toMatch(
        engine === 'sqlite'
          ? /SEARCH authentication_token_counts USING PRIMARY KEY \(instance_id=\? AND provider_id=\? AND consumer_id=\? AND width=\? AND bucket>\? AND bucket<\?\)/
          : /Index Scan using authentication_token_counts_pk[^\n]*\n\s*Index Cond: \(\(instance_id = [^\n]*width = '60000'::bigint\) AND \(bucket > [^\n]*bucket < /,
      )
    }
  })
})
