// What the server takes from an upstream OAuth token endpoint (a fake one here: the outside world),
// and what happens when keeping its answer fails: the lifetime is whole seconds and at most a day,
// the informational fields are short printable ASCII, the shared lease is released whatever fails,
// and every failure after the upstream was called is audited. Also: moving a provider's token
// endpoint to another origin needs its client secret again.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DatabaseUnavailable } from '../../src/store/postgres-pool.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const PAM = 'urn:cloud:idaas:pam'
const START = 1_800_000_000_000
const SECRET = 'upstream-client-secret-canary-5d1e'
/** The longest an upstream token is believed to live: a day. */
const MAX_LIFETIME_MS = 86_400_000

/** A fake upstream token endpoint answering `answer()` with 200, counting the calls. */
async function fakeUpstream(answer: () => Record<string, unknown>) {
  let calls = 0
  const server: Server = createServer((req, res) => {
    calls++
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(answer()))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    calls: () => calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

describe.each(ENGINES)('upstream OAuth answers and failures on %s', (engine) => {
  let t: TestServer
  let upstream: Awaited<ReturnType<typeof fakeUpstream>> | undefined
  let answer: Record<string, unknown> = {}
  let now = START
  afterEach(async () => {
    vi.restoreAllMocks()
    await upstream?.close()
    upstream = undefined
    await t?.close()
  })

  /** A server, an `oauth` provider `up` at the fake upstream, and a consumer allowed to use it. */
  async function setup() {
    now = START
    answer = { access_token: 'upstream-access-token', token_type: 'Bearer', expires_in: 600 }
    upstream = await fakeUpstream(() => answer)
    t = await openTestServer(engine, { now: () => now })
    const i = `/admin/v1/instances/${t.instanceId}`
    const app = (
      await call(t, 'POST', `${i}/applications`, { name: 'consumer', allowedScopes: [`${PAM}|.all`] })
    ).body
    const secret = (await call(t, 'POST', `${i}/applications/${app.applicationId}/client-secrets`, {})).body
      .clientSecret as string
    const created = await call(t, 'POST', `${i}/credential-providers`, {
      credentialProviderIdentifier: 'up',
      credentialProviderType: 'oauth',
      oauth: { tokenEndpoint: upstream.url, clientId: 'c', clientSecret: SECRET },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    await call(t, 'POST', `${i}/grants`, {
      applicationId: app.applicationId,
      resourceType: 'credential_provider',
      resource: 'up',
      actions: ['use'],
    })
    const tokenRes = await t.app.inject({
      method: 'POST',
      url: `/v2/${t.instanceId}/authorizationServer/iauths_system/oauth2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: secret,
        scope: `${PAM}|.all`,
      }).toString(),
    })
    const bearer = tokenRes.json().access_token as string
    const fetchToken = async (fields: Record<string, unknown> = {}) => {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v2/${t.instanceId}/authenticationTokens/_/actions/fetchOAuthAccessToken`,
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ credentialProviderIdentifier: 'up', ...fields }),
      })
      // biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field
      return { status: res.statusCode, body: res.json() as any }
    }
    const events = (outcome: string) =>
      t.services.store.db
        .selectFrom('audit_events')
        .select(['outcome', 'details'])
        .where('action', '=', 'authentication_token.fetch_oauth')
        .where('outcome', '=', outcome)
        .execute()
    return { i, fetchToken, events, upstream }
  }

  it('takes expires_in as whole seconds, at most 24 hours, however large the upstream says', async () => {
    const { fetchToken } = await setup()
    answer = { access_token: 'long-lived-token', token_type: 'Bearer', expires_in: 1e300 }
    const first = await fetchToken()
    expect(first.status, JSON.stringify(first.body)).toBe(200)
    expect(first.body.expirationTime).toBe(START + MAX_LIFETIME_MS)
    const records = await t.services.store.db
      .selectFrom('authentication_tokens')
      .select('expires_at')
      .execute()
    expect(records.map((r) => Number(r.expires_at))).toEqual([START + MAX_LIFETIME_MS])
    const shared = await t.services.store.db.selectFrom('upstream_tokens').select('expires_at').execute()
    expect(shared.map((r) => Number(r.expires_at))).toEqual([START + MAX_LIFETIME_MS])

    // A fraction is cut to whole seconds.
    answer = { access_token: 'fractional-token', token_type: 'Bearer', expires_in: 1234.9 }
    const fractional = await fetchToken({ forceAuthentication: true })
    expect(fractional.status, JSON.stringify(fractional.body)).toBe(200)
    expect(fractional.body.expirationTime).toBe(START + 1_234_000)
  })

  it.each([
    ['a 60 KB token_type', { token_type: 'B'.repeat(60_000) }, 'token_type'],
    ['a token_type with a control character', { token_type: 'Bearer\u0000' }, 'token_type'],
    ['a scope with an OSC 52 sequence', { scope: 'read \u001b]52;c;cHduZWQ=\u0007' }, 'scope'],
    ['a scope with a bidi override', { scope: 'read\u202ewrite' }, 'scope'],
    ['a scope of 1025 characters', { scope: 's'.repeat(1025) }, 'scope'],
  ])('refuses %s with 502 naming the provider and the field, and audits it', async (_, fields, field) => {
    const { fetchToken, events } = await setup()
    answer = { access_token: 'tok', token_type: 'Bearer', expires_in: 600, ...fields }
    const refused = await fetchToken()
    expect(refused.status).toBe(502)
    expect(refused.body.Code).toBe('UpstreamError')
    expect(refused.body.Message).toContain('credential provider up')
    expect(refused.body.Message).toContain(`a ${field} that is not at most`)
    expect(refused.body.Message).not.toMatch(/[^\x20-\x7e]/)
    expect(JSON.stringify(refused.body)).not.toContain('cHduZWQ')
    const failures = await events('failure')
    expect(failures).toHaveLength(1)
    expect(JSON.parse(failures[0]!.details)).toMatchObject({ code: 'UpstreamError', why: 'upstream' })
  })

  it('keeps an upstream scope of 1024 printable characters', async () => {
    const { fetchToken } = await setup()
    answer = { access_token: 'tok', token_type: 'N_A', expires_in: 600, scope: `a b ${'c'.repeat(1020)}` }
    const fetched = await fetchToken()
    expect(fetched.status, JSON.stringify(fetched.body)).toBe(200)
    expect(fetched.body.oauthAccessTokenContent).toMatchObject({ tokenType: 'N_A' })
    expect(fetched.body.oauthAccessTokenContent.scope).toHaveLength(1024)
  })

  it('releases the shared lease and audits the failure when keeping the token fails; a database outage is 503', async () => {
    const { fetchToken, events, upstream } = await setup()
    // The upstream answers, then the database goes away before the token is stored.
    const encrypt = vi
      .spyOn(t.services.keyring, 'encrypt')
      .mockRejectedValueOnce(new DatabaseUnavailable('the database is unavailable (test)'))
    const outage = await fetchToken()
    expect(outage.status, JSON.stringify(outage.body)).toBe(503)
    expect(outage.body.Code).toBe('ServiceUnavailable')
    expect(encrypt).toHaveBeenCalled()
    expect(upstream.calls()).toBe(1)
    const failures = await events('failure')
    expect(failures.map((e) => JSON.parse(e.details))).toEqual([
      expect.objectContaining({ code: 'ServiceUnavailable', why: 'store', credentialProvider: 'up' }),
    ])
    expect(JSON.stringify(failures)).not.toContain(SECRET)
    expect(JSON.stringify(failures)).not.toContain('upstream-access-token')
    const lease = await t.services.store.db.selectFrom('upstream_tokens').select('lease_owner').execute()
    expect(lease.map((r) => r.lease_owner)).toEqual([null])

    // Anything else that breaks there is audited too, and answered 500 as before. (A second
    // later: a failure is handed to those who waited for it, not to requests that start after it.)
    now += 1000
    encrypt.mockRejectedValueOnce(new Error('something unexpected'))
    const broken = await fetchToken()
    expect(broken.status).toBe(500)
    expect((await events('failure')).map((e) => JSON.parse(e.details).code)).toEqual([
      'ServiceUnavailable',
      'InternalError',
    ])

    // The clock moved less than the lease's 15 s: a lease still held would make this wait forever.
    now += 1000
    const next = await Promise.race([
      fetchToken(),
      new Promise<{ status: number }>((resolve) => setTimeout(() => resolve({ status: -1 }), 5_000)),
    ])
    expect(next.status).toBe(200)
    expect(upstream.calls()).toBe(3)
  })

  it('refuses to move the token endpoint to another origin without the client secret', async () => {
    const { i, upstream } = await setup()
    const path = `${i}/credential-providers/up`
    const elsewhere = 'https://attacker.example/token'
    const moved = await call(t, 'PATCH', path, { oauth: { tokenEndpoint: elsewhere } })
    expect(moved.status).toBe(400)
    expect(moved.body).toMatchObject({
      Code: 'InvalidParameter',
      field: 'oauth.clientSecret',
      rule: 'is required when tokenEndpoint moves to another origin',
    })
    expect(moved.body.Message).toContain(
      'clientSecret is required when tokenEndpoint moves to another origin',
    )
    // Another port is another origin.
    const port = Number(new URL(upstream.url).port)
    const otherPort = await call(t, 'PATCH', path, {
      oauth: { tokenEndpoint: `http://127.0.0.1:${port === 65535 ? 1 : port + 1}/token` },
    })
    expect(otherPort.status).toBe(400)
    expect(otherPort.body.field).toBe('oauth.clientSecret')
    expect((await call(t, 'GET', path)).body.oauth.tokenEndpoint).toBe(upstream.url)

    // Same origin, another path: allowed without the secret. Another origin with it: allowed.
    const samePlace = await call(t, 'PATCH', path, {
      oauth: { tokenEndpoint: `${new URL(upstream.url).origin}/oauth2/token` },
    })
    expect(samePlace.status, JSON.stringify(samePlace.body)).toBe(200)
    const withSecret = await call(t, 'PATCH', path, {
      oauth: { tokenEndpoint: elsewhere, clientSecret: 'a-new-secret-for-the-new-place' },
    })
    expect(withSecret.status, JSON.stringify(withSecret.body)).toBe(200)
    expect(withSecret.body.oauth.tokenEndpoint).toBe(elsewhere)
  })
})
