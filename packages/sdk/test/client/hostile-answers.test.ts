// What the SDK does with answers a hostile or broken server (or a proxy in between) could give:
// found by an attacker's review, each case failing on the code before its fix.
import { inspect } from 'node:util'
import { describe, expect, it, vi } from 'vitest'
import { boundFetch } from '../../src/bound-tokens/bound-fetch.js'
import { warnIfPlainHttp } from '../../src/config/endpoint-url.js'
import { accessTokenFrom } from '../../src/credentials/token-response.js'
import { ServerError } from '../../src/errors.js'
import { createHttpClient } from '../../src/http/http-client.js'
import { createProofKey } from '../../src/proof/proof-key.js'
import { AWS_ROLE, awsAnswer, cloudClient } from '../cloud/cloud-fixtures.js'
import { accountSummary } from './account-fixtures.js'
import { clientWith, rejectionOf } from './support.js'

describe('answers a hostile server could give', () => {
  it('getAccounts refuses a page longer than asked for, and a listing that never ends', async () => {
    const long = clientWith(() =>
      Response.json({
        entities: Array.from({ length: 101 }, (_, i) => accountSummary(`t/${i}`)),
        nextToken: null,
        maxResults: 100,
      }),
    )
    const tooLong = await rejectionOf(long.client.getAccounts())
    expect(tooLong).toBeInstanceOf(ServerError)
    expect((tooLong as Error).message).toMatch(/more than the 100 accounts asked for/)

    // A new nextToken on every page: a bounded number of requests, then an error, not a full heap.
    const endless = clientWith((_request, index) =>
      Response.json({
        entities: [accountSummary(`t/${index}`)],
        nextToken: `next-${index}`,
        maxResults: 100,
      }),
    )
    const never = await rejectionOf(endless.client.getAccounts())
    expect(never).toBeInstanceOf(ServerError)
    expect((never as Error).message).toMatch(/answered more than 1000 pages/)
    expect(endless.fake.requests).toHaveLength(1000)
  })

  it('sends a call that is not safe to repeat once after a 502 or 504; an idempotent one again', async () => {
    for (const status of [502, 504]) {
      const sent: string[] = []
      const statuses = [status, status, 200]
      const http = createHttpClient({
        sleep: async () => {},
        fetch: async (_url: string, init: RequestInit) => {
          sent.push(init.method ?? 'GET')
          return Response.json({ ok: true }, { status: statuses[sent.length - 1] ?? 200 })
        },
      })
      // A gateway's 502/504: the origin may have minted a token already.
      await expect(http.request('POST', 'https://api.example.test/mint', { json: {} })).rejects.toMatchObject(
        {
          status,
        },
      )
      expect(sent).toEqual(['POST'])
      await expect(http.request('GET', 'https://api.example.test/read')).resolves.toEqual({ ok: true })
      expect(sent).toEqual(['POST', 'GET', 'GET'])
    }
  })

  it('keeps no part of a body that is not JSON in the error, not even in its cause', async () => {
    const http = createHttpClient({
      fetch: async () => new Response('Tr0ub4dor&3-prod-db', { headers: { 'content-type': 'text/plain' } }),
    })
    const error = await rejectionOf(http.request('GET', 'https://api.example.test/password'))
    expect(error).toBeInstanceOf(ServerError)
    expect((error as Error).cause).toBeUndefined()
    expect(inspect(error, { depth: 10 })).not.toContain('Tr0ub4dor')
  })

  it('quotes no request id that is not one, and no line break of a server message', async () => {
    const forged = `req-1\n2026-12-07T00:00:00Z INFO admin logged in ${'x'.repeat(200)}`
    const http = createHttpClient({
      fetch: async () =>
        Response.json(
          { Code: 'Boom', Message: 'first line\nsecond line\u2028third', RequestId: forged },
          { status: 500 },
        ),
      retry: false,
    })
    const error = (await rejectionOf(http.request('GET', 'https://api.example.test/x'))) as ServerError
    expect(error.requestId).toBeUndefined()
    expect(error.message).toBe('first line second line third')
    const fine = createHttpClient({
      fetch: async () => Response.json({ Message: 'no', RequestId: 'req_01ABC-def' }, { status: 500 }),
      retry: false,
    })
    const quoted = (await rejectionOf(fine.request('GET', 'https://api.example.test/x'))) as ServerError
    expect(quoted.requestId).toBe('req_01ABC-def')
    expect(quoted.message).toBe('no (request id req_01ABC-def)')
  })

  it('warns once when the endpoint is plain http to another machine, never for this one', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      warnIfPlainHttp('http://pam.example.test:8080')
      warnIfPlainHttp('http://pam.example.test:8080/v2')
      for (const local of [
        'http://127.0.0.1:8080',
        'http://localhost:8080',
        'http://[::1]:8080',
        'https://pam.example.test',
      ])
        warnIfPlainHttp(local)
      expect(warn).toHaveBeenCalledTimes(1)
      expect(warn.mock.calls[0]?.[0]).toMatch(
        /^http:\/\/pam\.example\.test:8080 is plain http to another machine/,
      )
      expect(warn.mock.calls[0]?.[1]).toMatchObject({ code: 'STRONGROOM_SDK_PLAIN_HTTP' })
    } finally {
      warn.mockRestore()
    }
  })

  it('refuses cloud credentials answered for another role than the one asked for', async () => {
    const { client, clock } = cloudClient({
      handler: () =>
        Response.json({
          ...awsAnswer(clock.now() + 3_600_000),
          cloudAccountRoleExternalId: 'arn:aws:iam::999999999999:role/admin',
        }),
    })
    const error = await rejectionOf(client.getCloudCredentials(AWS_ROLE))
    expect(error).toBeInstanceOf(ServerError)
    expect((error as Error).message).toMatch(/another role than the one asked for/)
    await client.close()
  })

  it('boundFetch does not follow a redirect unless the caller asks', async () => {
    const key = await createProofKey()
    const redirects: (string | undefined)[] = []
    const send = boundFetch('bound-token', key, {
      fetch: async (_url, init) => {
        redirects.push(init?.redirect)
        return new Response('ok')
      },
    })
    await send('https://api.example.test/a')
    await send('https://api.example.test/b', { redirect: 'follow' })
    expect(redirects).toEqual(['manual', 'follow'])
  })

  it('takes a token to live a year at most, and prints one with an absurd expires_in', () => {
    const requestedAt = Date.UTC(2026, 0, 1)
    const token = accessTokenFrom({ access_token: 'at', expires_in: 1e13 }, requestedAt)
    expect(token.expiresAt).toBe(requestedAt + 365 * 24 * 3600 * 1000)
    expect(() => inspect(token)).not.toThrow()
  })
})
