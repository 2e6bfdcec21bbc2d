import { afterEach, describe, expect, it } from 'vitest'
import { TimeoutError } from '../../src/errors.js'
import { createHttpClient } from '../../src/http/http-client.js'
import { recordingSleep, startHttpServer, type TestServer } from './support.js'

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

describe('timeouts', () => {
  it('raises TimeoutError naming the connect timeout when the server never answers, without retrying', async () => {
    server = await startHttpServer(() => {
      // never answers
    })
    const { sleep, waits } = recordingSleep()
    const client = createHttpClient({ connectTimeout: 200, readTimeout: 5_000, sleep })
    const started = performance.now()
    const error = await failure(client.request('GET', `${server.url}/v2/x?token=secret-query`))
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).code).toBe('ERR_PAM_TIMEOUT')
    expect((error as Error).message).toContain('connect timeout of 200 ms')
    expect((error as Error).message).not.toContain('secret-query')
    // It waited for the timeout, not less (no upper bound: machines differ).
    expect(performance.now() - started).toBeGreaterThanOrEqual(150)
    expect(server.requests).toHaveLength(1)
    expect(waits).toEqual([])
    await client.close()
  })

  it('raises TimeoutError naming the read timeout when the body stalls after the headers', async () => {
    server = await startHttpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.write('{"partial":')
    })
    const client = createHttpClient({ connectTimeout: 5_000, readTimeout: 200 })
    const error = await failure(client.request('GET', `${server.url}/slow`))
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as Error).message).toContain('read timeout of 200 ms')
    await client.close()
  })

  it('applies the timeouts with an injected fetch that ignores the signal', async () => {
    const client = createHttpClient({
      connectTimeout: 100,
      fetch: () => new Promise<Response>(() => {}),
    })
    const error = await failure(client.request('GET', 'http://127.0.0.1:9/never'))
    expect(error).toBeInstanceOf(TimeoutError)
  })

  it("cancels with the caller's signal: the reason comes back and nothing is retried", async () => {
    server = await startHttpServer(() => {})
    const { sleep, waits } = recordingSleep()
    const client = createHttpClient({ connectTimeout: 10_000, sleep })
    const controller = new AbortController()
    const call = client.request('GET', `${server.url}/hang`, { signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    const error = await failure(call)
    expect((error as Error).name).toBe('AbortError')
    expect(server.requests).toHaveLength(1)
    expect(waits).toEqual([])
    await client.close()
  })

  it('refuses a call whose signal has already aborted without sending it', async () => {
    server = await startHttpServer((_request, response) => response.end('{}'))
    const client = createHttpClient()
    const reason = new Error('changed my mind')
    await expect(client.request('GET', server.url, { signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    )
    expect(server.requests).toHaveLength(0)
  })

  it('refuses a negative timeout as a programming error', () => {
    expect(() => createHttpClient({ connectTimeout: -1 })).toThrow(TypeError)
  })
})
