// The failure budgets several processes share (http/shared-failure-throttle.ts), on both engines:
// two throttles on one database stand for two nodes. Counted after a failure, the budget is exact
// however the failures race; what a process learned refuses without asking; time earns failures
// back for all; and a database that does not take a failure leaves the process counting alone.
import { afterEach, describe, expect, it } from 'vitest'
import { PamError } from '../../src/errors.js'
import { SharedFailureThrottle } from '../../src/http/shared-failure-throttle.js'
import type { Committer } from '../../src/store/committer.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const BURST = 20

describe.each(ENGINES)('shared failure budgets on %s', (engine) => {
  let t: TestServer
  let now = 1_800_000_000_000
  const stores: Store[] = []
  afterEach(async () => {
    await t?.close()
    for (const store of stores.splice(0)) await store.close()
  })

  const warnings: string[] = []
  /** A PostgreSQL store whose server is not there: every statement fails to connect. */
  const unreachable = (): Store => {
    const store = openStore('postgres://strongroom@127.0.0.1:1/none')
    stores.push(store)
    return store
  }
  /** A throttle as one process has it: the database's store and committer unless told otherwise. */
  const node = (
    options: { surface?: string; store?: Store; committer?: Committer } = {},
  ): SharedFailureThrottle =>
    new SharedFailureThrottle(
      options.store ?? t.services.store,
      options.surface ?? 'admin_address',
      { burst: BURST, refillPerSecond: 0.5, now: () => now },
      options.committer ?? t.services.committer,
      { warn: (_fields, msg) => warnings.push(msg) },
    )
  /** Each failure's outcome: 'spent', 'exhausted' (spent the last) or the 429's retry-after. */
  const outcome = (counted: Promise<boolean>) =>
    counted.then(
      (exhausted) => (exhausted ? 'exhausted' : 'spent'),
      (err: unknown) => {
        if (err instanceof PamError && err.code === 'Throttling.User') return 429
        throw err
      },
    )

  it('allows the budget exactly to failures raced over two processes, and one of them exhausts it', async () => {
    t = await openTestServer(engine, { now: () => now })
    const [a, b] = [node(), node()]
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => outcome((i % 2 ? a : b).countFailure('10.1.1.1'))),
    )
    expect(results.filter((r) => r === 'spent')).toHaveLength(BURST - 1)
    expect(results.filter((r) => r === 'exhausted')).toHaveLength(1)
    expect(results.filter((r) => r === 429)).toHaveLength(60 - BURST)
    // Both learned it: the next failure is refused without a write.
    expect(a.retryAfter('10.1.1.1')).toBe(2)
    expect(b.retryAfter('10.1.1.1')).toBe(2)
    // Another address, another surface: their own budgets.
    expect(await outcome(a.countFailure('10.1.1.2'))).toBe('spent')
    expect(await outcome(node({ surface: 'workload_address' }).countFailure('10.1.1.1'))).toBe('spent')
  })

  it('refuses in a process that never saw the address fail, and earns one failure back for all', async () => {
    t = await openTestServer(engine, { now: () => now })
    const [a, b] = [node(), node()]
    for (let n = 0; n < BURST; n++) await a.countFailure('10.2.2.2')
    expect(b.retryAfter('10.2.2.2')).toBe(0) // it does not know yet
    expect(await outcome(b.countFailure('10.2.2.2'))).toBe(429)
    expect(b.retryAfter('10.2.2.2')).toBe(2) // now it does
    now += 2_000
    const back = await Promise.all([outcome(a.countFailure('10.2.2.2')), outcome(b.countFailure('10.2.2.2'))])
    expect(back.sort()).toEqual([429, 'exhausted'].sort())
  })

  it('counts in the process alone, and says so once a minute, while the database does not take failures', async () => {
    t = await openTestServer(engine, { now: () => now })
    warnings.length = 0
    // On SQLite a failure is written through the committer: one that refuses every unit, as after
    // a failed sync. On PostgreSQL it is one statement on the pool: a server that is not there.
    const throttle =
      engine === 'sqlite'
        ? node({
            committer: { run: () => Promise.reject(new Error('disk I/O error')) } as unknown as Committer,
          })
        : node({ store: unreachable() })
    const results = []
    for (let n = 0; n < BURST + 3; n++) results.push(await outcome(throttle.countFailure('10.3.3.3')))
    expect(results.slice(0, BURST - 1)).toEqual(Array(BURST - 1).fill('spent'))
    expect(results.slice(BURST - 1)).toEqual(['exhausted', 429, 429, 429])
    expect(warnings).toEqual([
      'failed authentications are counted by this process alone: the database does not take them',
    ])
  })
})
