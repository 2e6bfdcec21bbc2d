import { describe, expect, it } from 'vitest'
import { NotFoundError, ServerError } from '../../src/errors.js'
import { FakeClock, MINUTE, SECOND } from '../token-cache/fake-clock.js'
import { accountSummary } from './account-fixtures.js'
import { clientWith, errorResponse, type Handler, rejectionOf } from './support.js'

const page = (...names: string[]) =>
  Response.json({ entities: names.map((name) => accountSummary(name)), nextToken: null, maxResults: 100 })

/** A client listing `t/a`, then `t/b`, … on each request, on a fake clock. */
function cachedClient(options: { ttlSeconds?: number; handler?: Handler } = {}) {
  const clock = new FakeClock()
  const handler: Handler = options.handler ?? ((_request, index) => page(`t/${'abcdefgh'[index]}`))
  const { client, fake } = clientWith(handler, {
    accountsCache: {
      now: clock.now,
      ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
    },
    http: { retry: false },
  })
  return { client, fake, clock }
}

const names = (accounts: readonly { name: string }[]) => accounts.map((a) => a.name)

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

describe('getAccounts caches the list', () => {
  it('a second call within the TTL (default 300 s) makes no request', async () => {
    const { client, fake, clock } = cachedClient()
    expect(names(await client.getAccounts())).toEqual(['t/a'])
    await clock.jump(299 * SECOND)
    expect(names(await client.getAccounts())).toEqual(['t/a'])
    expect(fake.requests).toHaveLength(1)
    await client.close()
  })

  it('after the TTL it lists again', async () => {
    const { client, fake, clock } = cachedClient()
    await client.getAccounts()
    await clock.jump(300 * SECOND)
    expect(names(await client.getAccounts())).toEqual(['t/b'])
    expect(fake.requests).toHaveLength(2)
    expect(names(await client.getAccounts())).toEqual(['t/b'])
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('forceRefresh lists afresh within the TTL and keeps the new list', async () => {
    const { client, fake, clock } = cachedClient()
    await client.getAccounts()
    expect(names(await client.getAccounts({ forceRefresh: true }))).toEqual(['t/b'])
    expect(fake.requests).toHaveLength(2)
    await clock.jump(MINUTE)
    expect(names(await client.getAccounts())).toEqual(['t/b'])
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('takes its TTL from accountsCache.ttlSeconds', async () => {
    const { client, fake, clock } = cachedClient({ ttlSeconds: 10 })
    await client.getAccounts()
    await clock.jump(9 * SECOND)
    await client.getAccounts()
    expect(fake.requests).toHaveLength(1)
    await clock.jump(SECOND)
    await client.getAccounts()
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('ttlSeconds 0 disables it: every call lists, concurrent ones too', async () => {
    const { client, fake } = cachedClient({ ttlSeconds: 0 })
    await Promise.all([client.getAccounts(), client.getAccounts()])
    await client.getAccounts()
    expect(fake.requests).toHaveLength(3)
    await client.close()
  })

  it('100 concurrent cold calls share one request sequence, pages included', async () => {
    const gate = deferred<void>()
    const { client, fake } = cachedClient({
      handler: async (request) => {
        await gate.promise
        return request.url.searchParams.has('nextToken')
          ? page('t/last')
          : Response.json({ entities: [accountSummary('t/first')], nextToken: 'n', maxResults: 100 })
      },
    })
    const calls = Array.from({ length: 100 }, () => client.getAccounts())
    gate.resolve()
    const lists = await Promise.all(calls)
    expect(fake.requests).toHaveLength(2)
    expect(new Set(lists).size).toBe(1)
    expect(names(lists[0]!)).toEqual(['t/first', 't/last'])
    await client.close()
  })

  it('forceRefresh during a listing joins it', async () => {
    const gate = deferred<void>()
    const { client, fake } = cachedClient({
      handler: async () => {
        await gate.promise
        return page('t/a')
      },
    })
    const first = client.getAccounts()
    const forced = client.getAccounts({ forceRefresh: true })
    gate.resolve()
    expect(await forced).toBe(await first)
    expect(fake.requests).toHaveLength(1)
    await client.close()
  })

  it('a failure is not cached: every waiting caller gets it, the next call lists again', async () => {
    const gate = deferred<void>()
    const { client, fake } = cachedClient({
      handler: async (_request, index) => {
        if (index === 0) {
          await gate.promise
          return errorResponse(500, 'InternalError', 'down', 'req_1')
        }
        return page('t/ok')
      },
    })
    const failing = [client.getAccounts(), client.getAccounts()].map(rejectionOf)
    gate.resolve()
    for (const error of await Promise.all(failing)) expect(error).toBeInstanceOf(ServerError)
    expect(fake.requests).toHaveLength(1)
    expect(names(await client.getAccounts())).toEqual(['t/ok'])
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('a failed forceRefresh keeps the list still within its TTL', async () => {
    const { client, fake } = cachedClient({
      handler: (_request, index) =>
        index === 1 ? errorResponse(404, 'RouteNotFound', 'gone', 'req_2') : page(`t/${index}`),
    })
    expect(names(await client.getAccounts())).toEqual(['t/0'])
    expect(await rejectionOf(client.getAccounts({ forceRefresh: true }))).toBeInstanceOf(NotFoundError)
    expect(names(await client.getAccounts())).toEqual(['t/0'])
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('a caller that gives up stops waiting; the shared listing goes on and is kept', async () => {
    const gate = deferred<void>()
    const { client, fake } = cachedClient({
      handler: async () => {
        await gate.promise
        return page('t/a')
      },
    })
    const controller = new AbortController()
    const impatient = rejectionOf(client.getAccounts({ signal: controller.signal }))
    const patient = client.getAccounts()
    const reason = new Error('impatient')
    controller.abort(reason)
    expect(await impatient).toBe(reason)
    gate.resolve()
    expect(names(await patient)).toEqual(['t/a'])
    expect(names(await client.getAccounts())).toEqual(['t/a'])
    expect(fake.requests).toHaveLength(1)
    await client.close()
  })

  it('close forgets the list and stops a listing under way', async () => {
    const gate = deferred<void>()
    const { client } = cachedClient({
      handler: async () => {
        await gate.promise
        return page('t/a')
      },
    })
    const pending = rejectionOf(client.getAccounts())
    await client.close()
    gate.resolve()
    expect(await pending).toMatchObject({ name: 'AbortError' })
    expect(await rejectionOf(client.getAccounts())).toMatchObject({ name: 'AbortError' })
  })

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, '300'])('ttlSeconds %o is a TypeError', (ttlSeconds) => {
    expect(() => clientWith(() => page(), { accountsCache: { ttlSeconds: ttlSeconds as number } })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }),
    )
  })
})
