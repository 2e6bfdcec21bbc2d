import { afterEach, describe, expect, it } from 'vitest'
import {
  AuthenticationError,
  ConnectionError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ServerError,
  ValidationError,
} from '../../src/errors.js'
import { createHttpClient } from '../../src/http/http-client.js'
import { closedPort, errorBody, json, recordingSleep, startHttpServer, type TestServer } from './support.js'

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail')
    },
    (error: unknown) => error,
  )
}

describe('retries', () => {
  it('retries a 503 after the Retry-After seconds, then succeeds', async () => {
    server = await startHttpServer((_request, response, index) => {
      if (index === 0)
        json(response, 503, errorBody('AuditUnavailable', 'try again', 'req-1'), { 'retry-after': '2' })
      else json(response, 200, { ok: true })
    })
    const { sleep, waits } = recordingSleep()
    const client = createHttpClient({ sleep })
    await expect(client.request('POST', `${server.url}/v2/x/op`, { json: {} })).resolves.toEqual({ ok: true })
    expect(server.requests).toHaveLength(2)
    expect(waits).toEqual([2_000])
  })

  it('honours an HTTP-date Retry-After against the injected clock', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    server = await startHttpServer((_request, response, index) => {
      if (index === 0) json(response, 503, {}, { 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' })
      else json(response, 200, {})
    })
    const { sleep, waits } = recordingSleep()
    const client = createHttpClient({ sleep, now: () => now })
    await client.request('GET', server.url)
    expect(waits).toEqual([3_000])
  })

  it('honours x-acs-retry-after (milliseconds) on a 429 before Retry-After', async () => {
    server = await startHttpServer((_request, response, index) => {
      if (index === 0) {
        json(response, 429, errorBody('Throttling.User', 'slow down', 'req-429'), {
          'retry-after': '1',
          'x-acs-retry-after': '250',
        })
      } else json(response, 200, { n: 1 })
    })
    const { sleep, waits } = recordingSleep()
    const client = createHttpClient({ sleep })
    await expect(client.request('GET', server.url)).resolves.toEqual({ n: 1 })
    expect(waits).toEqual([250])
    expect(server.requests).toHaveLength(2)
  })

  it('gives up after maxAttempts with a RateLimitError carrying retryAfterMs, status, code and request id', async () => {
    server = await startHttpServer((_request, response) =>
      json(response, 429, errorBody('Throttling.User', 'slow down', 'req-rl'), {
        'x-acs-retry-after': '100',
      }),
    )
    const { sleep, waits } = recordingSleep()
    const client = createHttpClient({ sleep, retry: { maxAttempts: 4 } })
    const error = (await failure(client.request('GET', server.url))) as RateLimitError
    expect(error).toBeInstanceOf(RateLimitError)
    expect(error).toMatchObject({
      status: 429,
      serverCode: 'Throttling.User',
      requestId: 'req-rl',
      retryAfterMs: 100,
    })
    expect(server.requests).toHaveLength(4)
    expect(waits).toEqual([100, 100, 100])
  })

  it('does not wait longer than maxRetryAfterMs: a longer ask is returned at once', async () => {
    server = await startHttpServer((_request, response) =>
      json(response, 429, errorBody('Throttling.User', 'come back in an hour', 'req-h'), {
        'retry-after': '3600',
      }),
    )
    const { sleep, waits } = recordingSleep()
    const client = createHttpClient({ sleep, retry: { maxRetryAfterMs: 60_000 } })
    const error = (await failure(client.request('GET', server.url))) as RateLimitError
    expect(error.retryAfterMs).toBe(3_600_000)
    expect(server.requests).toHaveLength(1)
    expect(waits).toEqual([])
  })

  it.each([
    [400, ValidationError],
    [401, AuthenticationError],
    [403, PermissionError],
    [404, NotFoundError],
    [409, ValidationError],
    [422, ValidationError],
    [500, ServerError],
    [501, ServerError],
  ])('never retries a %i', async (status, type) => {
    server = await startHttpServer((_request, response) =>
      json(response, status, errorBody('Some.Code', `refused with ${status}`, `req-${status}`)),
    )
    const { sleep, waits } = recordingSleep()
    const client = createHttpClient({ sleep })
    const error = (await failure(client.request('GET', server.url))) as ServerError
    expect(error).toBeInstanceOf(type)
    expect(error).toMatchObject({ status, serverCode: 'Some.Code', requestId: `req-${status}` })
    expect(server.requests).toHaveLength(1)
    expect(waits).toEqual([])
  })

  it.each([502, 503, 504])('retries a %i with backoff and then surfaces a ServerError', async (status) => {
    server = await startHttpServer((_request, response) =>
      json(response, status, errorBody('Upstream', 'down', 'r')),
    )
    const { sleep, waits } = recordingSleep()
    const client = createHttpClient({ sleep, random: () => 0.5, retry: { maxAttempts: 3, baseDelayMs: 100 } })
    const error = await failure(client.request('GET', server.url))
    expect(error).toBeInstanceOf(ServerError)
    expect(server.requests).toHaveLength(3)
    expect(waits).toEqual([50, 100])
  })

  it('retries a refused connection, then raises ConnectionError without status or request id', async () => {
    const port = await closedPort()
    const { sleep, waits } = recordingSleep()
    const client = createHttpClient({ sleep, retry: { maxAttempts: 3 } })
    const error = (await failure(
      client.request('POST', `http://127.0.0.1:${port}/v2/x?secret=abc`, { json: { password: 'hunter2' } }),
    )) as ConnectionError
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error.code).toBe('ERR_PAM_CONNECTION')
    expect(error.message).toContain('connection refused (ECONNREFUSED) after 3 attempts')
    expect(error.message).not.toMatch(/secret|hunter2/)
    expect(error.status).toBeUndefined()
    expect(error.requestId).toBeUndefined()
    expect(waits).toHaveLength(2)
  })

  it('retries a reset connection only when the call is idempotent', async () => {
    server = await startHttpServer((request, response) => {
      if (server!.requests.length === 1) request.socket.destroy()
      else json(response, 200, { second: true })
    })
    const { sleep } = recordingSleep()
    const client = createHttpClient({ sleep })
    const error = await failure(client.request('POST', `${server.url}/generate`, { json: {} }))
    expect(error).toBeInstanceOf(ConnectionError)
    expect(server.requests).toHaveLength(1)
    await expect(
      client.request('POST', `${server.url}/obtain`, { json: {}, idempotent: true }),
    ).resolves.toEqual({
      second: true,
    })
    expect(server.requests).toHaveLength(2)
  })

  it('stops retrying when the caller aborts during the wait', async () => {
    server = await startHttpServer((_request, response) => json(response, 503, {}))
    const controller = new AbortController()
    const client = createHttpClient({
      sleep: async () => {
        controller.abort()
        controller.signal.throwIfAborted()
      },
    })
    const error = await failure(client.request('GET', server.url, { signal: controller.signal }))
    expect((error as Error).name).toBe('AbortError')
    expect(server.requests).toHaveLength(1)
  })

  it('makes a single attempt with retry: false', async () => {
    server = await startHttpServer((_request, response) => json(response, 503, {}))
    const client = createHttpClient({ retry: false })
    await expect(client.request('GET', server.url)).rejects.toBeInstanceOf(ServerError)
    expect(server.requests).toHaveLength(1)
  })
})
