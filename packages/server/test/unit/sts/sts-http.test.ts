// The shared STS transport with a scripted fetch: what is retried and what is not, Retry-After,
// backoff, the caller's abort signal, and the dispatch by vendor.

import { describe, expect, it } from 'vitest'
import type { AssumeRoleRequest } from '../../../src/sts/assume-role.js'
import { createStsClient } from '../../../src/sts/sts-clients.js'
import { backoffMs, retryAfterSeconds, stsRuntime } from '../../../src/sts/sts-http.js'
import { expectNoSecret, expectPamError, FIXED_NOW, fixedClock, rejection } from './sts-test-kit.js'

const SECRET = 'Scripted+Secret/0123456789abcdef'

const request = (over: Partial<AssumeRoleRequest> = {}): AssumeRoleRequest => ({
  vendor: 'aws',
  endpoint: 'https://sts.example.test',
  region: undefined,
  accessKeyId: 'AKIASCRIPTED00000001',
  accessKeySecret: SECRET,
  roleArn: 'arn:aws:iam::123456789012:role/r',
  roleSessionName: 'session-1',
  durationSeconds: 900,
  policy: undefined,
  externalId: undefined,
  ...over,
})

/** A fetch answering from `script` in turn (the last one again when it runs out), counting calls. */
function scripted(...script: (() => Response | Promise<Response>)[]) {
  const calls: { url: string; init: RequestInit | undefined }[] = []
  const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init })
    init?.signal?.throwIfAborted()
    return script[Math.min(calls.length, script.length) - 1]!()
  }) as typeof globalThis.fetch
  return { fetch, calls }
}

const html =
  (status: number, headers: Record<string, string> = {}) =>
  () =>
    new Response('<html><body>proxy</body></html>', {
      status,
      headers: { 'content-type': 'text/html', ...headers },
    })

describe('the STS transport', () => {
  it('throttles on a bare 429, with its Retry-After, without retrying', async () => {
    const { fetch, calls } = scripted(html(429, { 'retry-after': '9' }))
    const error = await rejection(createStsClient({ fetch, now: fixedClock }).assumeRole(request()))
    expectPamError(error, 'StsThrottled', 503)
    expect(error.retryAfterSeconds).toBe(9)
    expect(calls).toHaveLength(1)
  })

  it('retries a 502 that is not STS’s, then gives up as StsUnavailable', async () => {
    const { fetch, calls } = scripted(html(502))
    const error = await rejection(
      createStsClient({ fetch, now: fixedClock, random: () => 0 }).assumeRole(request()),
    )
    expectPamError(error, 'StsUnavailable', 502)
    expect(error.message).toBe(
      'STS at sts.example.test answered HTTP 502 with something that is not an STS answer',
    )
    expect(calls).toHaveLength(3)
  })

  it('does not retry a 4xx that is not STS’s', async () => {
    const { fetch, calls } = scripted(html(404))
    const error = await rejection(createStsClient({ fetch, now: fixedClock }).assumeRole(request()))
    expectPamError(error, 'StsUnavailable', 502)
    expect(calls).toHaveLength(1)
  })

  it('refuses an answer far bigger than an STS answer', async () => {
    const { fetch, calls } = scripted(() => new Response('x'.repeat(300 * 1024), { status: 200 }))
    const error = await rejection(createStsClient({ fetch, now: fixedClock }).assumeRole(request()))
    expectPamError(error, 'StsUnavailable', 502)
    expect(error.message).toBe('STS at sts.example.test answered more than an STS answer can be')
    expect(calls).toHaveLength(1)
  })

  it('names a network failure by its code and keeps nothing of the original error', async () => {
    const original = new TypeError('fetch failed', {
      cause: Object.assign(new Error(`getaddrinfo ENOTFOUND sts.example.test ${SECRET}`), {
        code: 'ENOTFOUND',
      }),
    })
    const { fetch, calls } = scripted(() => Promise.reject(original))
    const error = await rejection(
      createStsClient({ fetch, now: fixedClock, random: () => 0 }).assumeRole(request()),
    )
    expectPamError(error, 'StsUnavailable', 502)
    expect(error.message).toBe('STS at sts.example.test could not be reached (ENOTFOUND)')
    expect((error.cause as Error).message).toBe('ENOTFOUND')
    expectNoSecret(error, [SECRET])
    expect(calls).toHaveLength(3)
  })

  it('a network failure then an answer: two calls, the second signed anew', async () => {
    let n = 0
    const { fetch, calls } = scripted(
      () => Promise.reject(new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } })),
      html(403),
    )
    const now = () => FIXED_NOW + 1000 * n++
    await rejection(createStsClient({ fetch, now, random: () => 0 }).assumeRole(request()))
    expect(calls).toHaveLength(2)
    const dates = calls.map((c) => (c.init?.headers as Record<string, string> | undefined)?.['x-amz-date'])
    expect(dates[0]).not.toBe(dates[1])
  })

  it('stops at once when the caller aborts, even between attempts, with the caller’s reason', async () => {
    const controller = new AbortController()
    const { fetch, calls } = scripted(() => {
      setTimeout(() => controller.abort(new Error('caller gone')), 10)
      return html(500)()
    })
    await expect(
      createStsClient({ fetch, now: fixedClock, random: () => 0.99 }).assumeRole(
        request(),
        controller.signal,
      ),
    ).rejects.toThrow('caller gone')
    expect(calls).toHaveLength(1)
    const aborted = scripted(html(200))
    await expect(
      createStsClient({ fetch: aborted.fetch }).assumeRole(
        request(),
        AbortSignal.abort(new Error('already gone')),
      ),
    ).rejects.toThrow('already gone')
    expect(aborted.calls).toHaveLength(0)
  })

  it('dispatches by vendor', async () => {
    const { fetch, calls } = scripted(html(404))
    const client = createStsClient({ fetch, now: fixedClock })
    await rejection(
      client.assumeRole(request({ vendor: 'alibaba_cloud', endpoint: 'https://sts.aliyuncs.com' })),
    )
    await rejection(client.assumeRole(request({ vendor: 'aws', endpoint: 'https://sts.amazonaws.com' })))
    expect(new URL(calls[0]!.url).searchParams.get('Action')).toBe('AssumeRole')
    expect(new URL(calls[0]!.url).host).toBe('sts.aliyuncs.com')
    expect(calls[1]!.url).toBe('https://sts.amazonaws.com/')
    expect(String(calls[1]!.init?.body)).toMatch(/^Action=AssumeRole&Version=2011-06-15&/)
    const unknown = await rejection(client.assumeRole(request({ vendor: 'gcp' as never })))
    expectPamError(unknown, 'StsUnavailable', 502)
  })

  it('refuses an endpoint that is not a URL', async () => {
    const { fetch, calls } = scripted(html(200))
    const error = await rejection(createStsClient({ fetch }).assumeRole(request({ endpoint: 'not a url' })))
    expectPamError(error, 'StsUnavailable', 502)
    expect(calls).toHaveLength(0)
  })

  it('reads Retry-After as seconds or an HTTP date, within 1–3600, else 2', () => {
    const at = (value?: string) =>
      retryAfterSeconds(new Headers(value === undefined ? {} : { 'retry-after': value }), FIXED_NOW)
    expect(at('5')).toBe(5)
    expect(at('0')).toBe(1)
    expect(at('999999')).toBe(3600)
    expect(at(new Date(FIXED_NOW + 30_000).toUTCString())).toBe(30)
    expect(at('soon')).toBe(2)
    expect(at()).toBe(2)
  })

  it('backs off exponentially with jitter, capped at one second', () => {
    expect(backoffMs(1, () => 0)).toBe(50)
    expect(backoffMs(1, () => 0.999)).toBeLessThan(100)
    expect(backoffMs(2, () => 0)).toBe(100)
    expect(backoffMs(10, () => 0.999)).toBeLessThan(1000)
    expect(backoffMs(10, () => 0)).toBe(500)
  })

  it('allows at most two retries', () => {
    expect(() => stsRuntime({ retries: 3 })).toThrow(RangeError)
    expect(() => stsRuntime({ timeoutMs: 0 })).toThrow(RangeError)
    expect(stsRuntime()).toMatchObject({ retries: 2, timeoutMs: 10_000 })
  })
})
