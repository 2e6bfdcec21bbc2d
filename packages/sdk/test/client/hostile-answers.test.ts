// What the SDK does with answers a hostile or broken server (or a proxy in between) could give:
// found by an attacker's review, each case failing on the code before its fix.
import { inspect } from 'node:util'
import { describe, expect, it, vi } from 'vitest'
import { boundFetch } from '../../src/bound-tokens/bound-fetch.js'
import { parseScopedToken, parseSessionToken } from '../../src/bound-tokens/parse-bound-token.js'
import { MAX_AUTHENTICATION_TOKEN_PAGES } from '../../src/client/pam-client.js'
import { warnIfPlainHttp } from '../../src/config/endpoint-url.js'
import { fromClientSecretJwt } from '../../src/credentials/from-client-secret-jwt.js'
import { tokenEndpointCall } from '../../src/credentials/token-endpoint-call.js'
import { accessTokenFrom } from '../../src/credentials/token-response.js'
import { AuthenticationError, CredentialProviderError, ServerError } from '../../src/errors.js'
import { createHttpClient } from '../../src/http/http-client.js'
import { createProofKey } from '../../src/proof/proof-key.js'
import { sealAccessToken } from '../../src/token-cache/access-token.js'
import { AWS_ROLE, awsAnswer, cloudClient } from '../cloud/cloud-fixtures.js'
import { accountSummary, obtainedSshKey, PRIVATE_KEY } from './account-fixtures.js'
import { clientWith, rejectionOf, tokenRecord } from './support.js'

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

  it('leaves out an SSH key fileName that is a path or hidden, so a caller writing it there stays in its folder', async () => {
    for (const fileName of [
      '../escaped',
      '/etc/cron.d/x',
      'a\\b',
      '.',
      '..',
      'id\nkey',
      '',
      '.bashrc',
      '.profile',
    ]) {
      const { client } = clientWith(() => Response.json(obtainedSshKey({ fileName })))
      // The key is answered (a name stored before the server's rule must not make it unreadable).
      const sshKey = await client.getSshKey('web-01/deploy')
      expect(sshKey.fileName, fileName).toBeNull()
      expect(sshKey.key).toBe(PRIVATE_KEY)
      await client.close()
    }
    const { client } = clientWith(() => Response.json(obtainedSshKey({ fileName: 'id_ed25519.deploy' })))
    expect((await client.getSshKey('web-01/deploy')).fileName).toBe('id_ed25519.deploy')
    await client.close()
  })

  it('does not send a client assertion again after a 502 or 504: its jti was spent if it got through', async () => {
    for (const status of [502, 504]) {
      const forms: string[] = []
      let answers: number[] = []
      const http = createHttpClient({
        sleep: async () => {},
        fetch: async (_url: string, init: RequestInit) => {
          forms.push(String(init.body))
          return Response.json({ ok: true }, { status: answers.shift() ?? 200 })
        },
      })
      const call = tokenEndpointCall(http, 'https://pam.example.test/token')
      answers = [status]
      const assertion = new URLSearchParams({ grant_type: 'client_credentials', client_assertion: 'a.b.c' })
      await expect(call(assertion, {})).rejects.toMatchObject({ status })
      expect(forms).toEqual([assertion.toString()])
      // A client secret is not spent by being sent: the same request goes again.
      forms.length = 0
      answers = [status]
      const secret = new URLSearchParams({ grant_type: 'client_credentials', client_secret: 's' })
      await expect(call(secret, {})).resolves.toEqual({ ok: true })
      expect(forms).toEqual([secret.toString(), secret.toString()])
    }
  })

  it('counts a token from expires_in, so a client clock ahead of the server does not expire it on arrival', () => {
    const requestedAt = Date.UTC(2026, 0, 1)
    // The client's clock is an hour ahead: by it, the server's expires_at is already past.
    const serverNow = requestedAt / 1000 - 3600
    const token = accessTokenFrom(
      { access_token: 'at', expires_in: 600, expires_at: serverNow + 600 },
      requestedAt,
    )
    expect(token.expiresAt).toBe(requestedAt + 600_000)
    // expires_at alone still counts.
    const alone = accessTokenFrom({ access_token: 'at', expires_at: requestedAt / 1000 + 900 }, requestedAt)
    expect(alone.expiresAt).toBe(requestedAt + 900_000)
  })

  it('refuses a token the server says has already expired, rather than keep it five minutes', () => {
    for (const expiresIn of [0, -30]) {
      const refuse = () => accessTokenFrom({ access_token: 'at', expires_in: expiresIn }, Date.now())
      expect(refuse).toThrow(AuthenticationError)
      expect(refuse).toThrow(`already expired (expires_in ${expiresIn})`)
    }
  })

  it('refuses a token a header cannot carry without quoting it, wherever it comes from', async () => {
    const secret = 'canary-token-9d1f'
    for (const bad of [`${secret}\r\nx-injected: 1`, `${secret}\u0000`, `${secret} two`, `${secret}é`]) {
      const refusals = [
        () => accessTokenFrom({ access_token: bad, expires_in: 60 }, Date.now()),
        () => sealAccessToken({ accessToken: bad, expiresAt: Date.now() + 60_000 }),
      ]
      const [fromEndpoint, fromProvider] = refusals.map((refuse) => {
        try {
          refuse()
        } catch (error) {
          return error as Error
        }
        throw new Error('not refused')
      })
      expect(fromEndpoint).toBeInstanceOf(AuthenticationError)
      expect(fromProvider).toBeInstanceOf(CredentialProviderError)
      for (const error of [fromEndpoint!, fromProvider!]) expect(inspect(error)).not.toContain(secret)
    }
    const key = await createProofKey()
    const body = {
      accessToken: 'canary\nbound',
      tokenType: 'DPoP',
      scope: 's',
      expiresIn: 900,
      expirationTime: 1_900_000_900_000,
      jkt: key.thumbprint,
      tokenId: 't',
      sessionId: 'sess_01',
      sessionExpirationTime: 1_900_001_800_000,
    }
    for (const parse of [parseScopedToken, parseSessionToken]) {
      let refused: unknown
      try {
        parse('CreateScopedToken', body, key)
      } catch (error) {
        refused = error
      }
      expect(refused).toBeInstanceOf(ServerError)
      expect(inspect(refused)).not.toContain('canary')
    }
  })

  it('stops a listing whose pages stay empty but never end', async () => {
    // Past 1,000 requests the fake gives up, so that a regression fails this test, not the heap.
    const endless = clientWith((_request, index) =>
      index < 1000
        ? Response.json({ entities: [], nextToken: `next-${index}`, maxResults: 100, totalCount: 0 })
        : Response.json({ Code: 'Gone', Message: 'the fake stopped answering' }, { status: 400 }),
    )
    const tokens: unknown[] = []
    const refused = await rejectionOf(
      (async () => {
        for await (const token of endless.client.listAllAuthenticationTokens({
          consumerId: 'app_demo',
          credentialProviderIdentifier: 'demo-jwt',
        }))
          tokens.push(token)
      })(),
    )
    expect(refused).toBeInstanceOf(ServerError)
    expect((refused as Error).message).toMatch(/100 empty pages in a row/)
    expect(endless.fake.requests).toHaveLength(100)
    expect(tokens).toEqual([])
    await endless.client.close()
  })

  it('does not send a client assertion again after a 503: the server may have recorded its jti first', async () => {
    // The server writes the assertion's jti, then fails (its database locked) and answers 503:
    // the same assertion again is a replay, refused 401 and counted against the client.
    const ENDPOINT = 'https://pam.example.test/v2/idaas_x/authorizationServer/iauths_system/oauth2/token'
    const assertions: string[] = []
    const statuses = [503, 200]
    const http = createHttpClient({
      sleep: async () => {},
      fetch: async (_url: string, init: RequestInit) => {
        const form = new URLSearchParams(String(init.body))
        const assertion = form.get('client_assertion')!
        const replayed = assertions.includes(assertion)
        assertions.push(assertion)
        if (replayed) return Response.json({ error: 'invalid_client' }, { status: 401 })
        return Response.json(
          { access_token: `at-${assertions.length}`, expires_in: 600 },
          {
            status: statuses.shift() ?? 200,
            headers: { 'retry-after': '1' },
          },
        )
      },
    })
    const provider = fromClientSecretJwt({
      clientId: 'app_1',
      clientSecret: 'k'.repeat(32),
      tokenEndpoint: ENDPOINT,
      call: tokenEndpointCall(http, ENDPOINT),
    })
    await expect(provider.getToken()).rejects.toMatchObject({ status: 503 })
    expect(assertions).toHaveLength(1)
    // The next getToken signs a new assertion, which the server takes.
    await expect(provider.getToken()).resolves.toMatchObject({ accessToken: 'at-2' })
    expect(assertions).toHaveLength(2)
    expect(assertions[1]).not.toBe(assertions[0])
  })

  it('sends a single-use request again only when it never left or was throttled', async () => {
    const answer = (status: number) => () => Response.json({}, { status })
    const fail = (code: string) => () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) })
    }
    const cases: [string, () => Response, boolean][] = [
      ['503', answer(503), false],
      ['502', answer(502), false],
      ['504', answer(504), false],
      ['reset after sending', fail('ECONNRESET'), false],
      ['429', answer(429), true],
      ['refused before sending', fail('ECONNREFUSED'), true],
    ]
    for (const [name, first, again] of cases) {
      let sent = 0
      const http = createHttpClient({
        sleep: async () => {},
        fetch: async () => (++sent === 1 ? first() : Response.json({ ok: true })),
      })
      const call = tokenEndpointCall(http, 'https://pam.example.test/token')
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_assertion: 'a.b.c' })
      const outcome = await call(form, {}).then(
        () => 'resolved',
        () => 'rejected',
      )
      expect({ name, outcome, sent }).toEqual({
        name,
        outcome: again ? 'resolved' : 'rejected',
        sent: again ? 2 : 1,
      })
      // A request authenticated by a client secret is not spent by being sent: it goes again.
      if (!again) {
        sent = 0
        const secret = new URLSearchParams({ grant_type: 'client_credentials', client_secret: 's' })
        await expect(call(secret, {})).resolves.toEqual({ ok: true })
        expect(sent).toBe(2)
      }
    }
    // singleUse wins over idempotent: true.
    let sent = 0
    const http = createHttpClient({
      sleep: async () => {},
      fetch: async () => Response.json({}, { status: ++sent === 1 ? 503 : 200 }),
    })
    const request = http.request('POST', 'https://pam.example.test/x', {
      form: {},
      idempotent: true,
      singleUse: true,
    })
    await expect(request).rejects.toMatchObject({ status: 503 })
    expect(sent).toBe(1)
  })

  it('refuses a token_type that cannot be a header scheme, without quoting it, wherever it comes from', () => {
    const secret = 'canary-type-5b2e'
    const bad = [
      `Bearer\n${secret}`,
      `Bearer ${secret}`,
      '',
      `${'B'.repeat(129)}`,
      `Bearer\u0000${secret}`,
      'Bearér',
    ]
    for (const tokenType of bad) {
      let fromEndpoint: unknown
      let fromProvider: unknown
      try {
        accessTokenFrom({ access_token: 'at', token_type: tokenType, expires_in: 60 }, Date.now())
      } catch (error) {
        fromEndpoint = error
      }
      try {
        sealAccessToken({ accessToken: 'at', tokenType, expiresAt: Date.now() + 60_000 })
      } catch (error) {
        fromProvider = error
      }
      expect(fromEndpoint, JSON.stringify(tokenType)).toBeInstanceOf(AuthenticationError)
      expect((fromEndpoint as Error).message).toMatch(/token_type/)
      expect(fromProvider, JSON.stringify(tokenType)).toBeInstanceOf(CredentialProviderError)
      expect((fromProvider as Error).message).toMatch(/tokenType/)
      for (const error of [fromEndpoint, fromProvider]) expect(inspect(error)).not.toContain(secret)
    }
    for (const tokenType of ['Bearer', 'bearer', 'DPoP', 'N_A', 'B'.repeat(128)]) {
      const token = accessTokenFrom({ access_token: 'at', token_type: tokenType, expires_in: 60 }, Date.now())
      expect(token.tokenType).toBe(tokenType)
      // What token-cache documents doing with it works.
      expect(() => new Headers({ authorization: `${token.tokenType} ${token.accessToken}` })).not.toThrow()
    }
    expect(accessTokenFrom({ access_token: 'at', expires_in: 60 }, Date.now()).tokenType).toBe('Bearer')
  })

  it('stops a token listing that puts one token after every 99 empty pages, for ever', async () => {
    // Past the cap the fake gives up, so that a regression fails this test rather than run for ever.
    const giveUpAt = MAX_AUTHENTICATION_TOKEN_PAGES + 10
    const endless = clientWith((_request, index) =>
      index < giveUpAt
        ? Response.json({
            entities: index % 100 === 99 ? [tokenRecord({ authenticationTokenId: `at_${index}` })] : [],
            nextToken: `next-${index}`,
            maxResults: 100,
            totalCount: 1,
          })
        : Response.json({ Code: 'Gone', Message: 'the fake stopped answering' }, { status: 400 }),
    )
    let tokens = 0
    const refused = await rejectionOf(
      (async () => {
        for await (const _token of endless.client.listAllAuthenticationTokens({
          consumerId: 'app_demo',
          credentialProviderIdentifier: 'demo-jwt',
        }))
          tokens += 1
      })(),
    )
    expect(refused).toBeInstanceOf(ServerError)
    expect((refused as Error).message).toMatch(`answered more than ${MAX_AUTHENTICATION_TOKEN_PAGES} pages`)
    expect(endless.fake.requests).toHaveLength(MAX_AUTHENTICATION_TOKEN_PAGES)
    expect(tokens).toBe(MAX_AUTHENTICATION_TOKEN_PAGES / 100)
    await endless.client.close()
  }, 120_000)
})
