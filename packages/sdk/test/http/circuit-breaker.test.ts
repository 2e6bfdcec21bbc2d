import { afterEach, describe, expect, it } from 'vitest'
import { CircuitOpenError, ConnectionError, ServerError } from '../../src/errors.js'
import { CircuitBreaker } from '../../src/http/circuit-breaker.js'
import { createHttpClient } from '../../src/http/http-client.js'
import { closedPort, json, startHttpServer, type TestServer } from './support.js'

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('circuit breaker', () => {
  it('is off by default: failures never make calls fail fast', async () => {
    server = await startHttpServer((_request, response) => json(response, 500, {}))
    const client = createHttpClient({ retry: false })
    for (let i = 0; i < 8; i++)
      await expect(client.request('GET', server.url)).rejects.toBeInstanceOf(ServerError)
    expect(server.requests).toHaveLength(8)
    expect(client.circuitState).toBeUndefined()
  })

  it('opens after N consecutive failures, fails fast, then half-opens with one trial call', async () => {
    let healthy = false
    server = await startHttpServer((_request, response) => json(response, healthy ? 200 : 500, { healthy }))
    let clock = 1_000_000
    const client = createHttpClient({
      retry: false,
      now: () => clock,
      circuitBreaker: { failureThreshold: 3, cooldownMs: 10_000 },
    })
    for (let i = 0; i < 3; i++)
      await expect(client.request('GET', server.url)).rejects.toBeInstanceOf(ServerError)
    expect(client.circuitState).toBe('open')

    const fast = await client.request('GET', server.url).catch((error: unknown) => error)
    expect(fast).toBeInstanceOf(CircuitOpenError)
    expect((fast as CircuitOpenError).code).toBe('ERR_PAM_CIRCUIT_OPEN')
    expect((fast as Error).cause).toBeInstanceOf(ServerError)
    expect(server.requests).toHaveLength(3)

    clock += 10_000
    expect(client.circuitState).toBe('half-open')
    // The trial fails: open again for another cool-down.
    await expect(client.request('GET', server.url)).rejects.toBeInstanceOf(ServerError)
    expect(server.requests).toHaveLength(4)
    await expect(client.request('GET', server.url)).rejects.toBeInstanceOf(CircuitOpenError)
    expect(server.requests).toHaveLength(4)

    clock += 10_000
    healthy = true
    await expect(client.request('GET', server.url)).resolves.toEqual({ healthy: true })
    expect(client.circuitState).toBe('closed')
    await expect(client.request('GET', server.url)).resolves.toEqual({ healthy: true })
    expect(server.requests).toHaveLength(6)
  })

  it('lets only one trial through while half-open', async () => {
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let calls = 0
    let clock = 0
    const client = createHttpClient({
      retry: false,
      now: () => clock,
      circuitBreaker: { failureThreshold: 1, cooldownMs: 1_000 },
      fetch: async () => {
        calls += 1
        if (calls === 1) return Response.json({}, { status: 503 })
        await gate
        return Response.json({ trial: true })
      },
    })
    await expect(client.request('GET', 'http://pam.invalid/')).rejects.toBeInstanceOf(ServerError)
    clock = 1_000
    const trial = client.request('GET', 'http://pam.invalid/')
    await expect(client.request('GET', 'http://pam.invalid/')).rejects.toBeInstanceOf(CircuitOpenError)
    release()
    await expect(trial).resolves.toEqual({ trial: true })
    expect(calls).toBe(2)
  })

  it('counts network failures, and a 4xx resets the count', async () => {
    const port = await closedPort()
    const client = createHttpClient({
      retry: false,
      circuitBreaker: { failureThreshold: 2, cooldownMs: 60_000 },
    })
    await expect(client.request('GET', `http://127.0.0.1:${port}/`)).rejects.toBeInstanceOf(ConnectionError)
    await expect(client.request('GET', `http://127.0.0.1:${port}/`)).rejects.toBeInstanceOf(ConnectionError)
    await expect(client.request('GET', `http://127.0.0.1:${port}/`)).rejects.toBeInstanceOf(CircuitOpenError)

    const breaker = new CircuitBreaker({ failureThreshold: 2 }, () => 0)
    breaker.recordFailure(breaker.acquire(), new Error('x'))
    breaker.recordSuccess(breaker.acquire())
    breaker.recordFailure(breaker.acquire(), new Error('y'))
    expect(breaker.state).toBe('closed')
  })

  it('does not count a 429 as a failure', async () => {
    const client = createHttpClient({
      retry: false,
      circuitBreaker: { failureThreshold: 1 },
      fetch: async () => Response.json({ Code: 'Throttling.User' }, { status: 429 }),
    })
    for (let i = 0; i < 3; i++) await expect(client.request('GET', 'http://pam.invalid/')).rejects.toThrow()
    expect(client.circuitState).toBe('closed')
  })
})
