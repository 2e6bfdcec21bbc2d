import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintSecret } from '../../src/crypto/minted-secret.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import { concreteUrl, createFixture, type Fixture, routeTable } from '../support/routes.js'

describe.each(ENGINES)('admin API input handling on %s', (engine) => {
  let t: TestServer
  let f: Fixture
  beforeAll(async () => {
    // This suite fails authentication on purpose, hundreds of times, from one address.
    t = await openTestServer(engine, { app: { authFailures: { burst: 10_000, refillPerSecond: 1 } } })
    f = await createFixture(t)
  })
  afterAll(async () => t?.close())

  const routes = () => routeTable(t)
  const send = (method: string, url: string, headers: Record<string, string>, payload?: string | Buffer) =>
    t.app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload }) })

  it('answers 401 with WWW-Authenticate on every admin route for a missing, malformed, unknown, revoked or expired token', async () => {
    const revoked = await call(t, 'POST', '/admin/v1/admin-tokens', { name: 'to-revoke' })
    await call(t, 'POST', `/admin/v1/admin-tokens/${revoked.body.adminTokenId}/revoke`)
    const expiring = await call(t, 'POST', '/admin/v1/admin-tokens', {
      name: 'expiring',
      expiresInSeconds: 60,
    })
    await t.services.store.db
      .updateTable('admin_tokens')
      .set({ expires_at: Date.now() - 1000 })
      .where('id', '=', expiring.body.adminTokenId)
      .execute()
    const badHeaders: Record<string, Record<string, string>> = {
      missing: {},
      'wrong scheme': { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      malformed: { authorization: 'Bearer not-a-token' },
      'bad checksum': {
        authorization: `Bearer ${t.adminToken.slice(0, -1)}${t.adminToken.endsWith('A') ? 'B' : 'A'}`,
      },
      unknown: { authorization: `Bearer ${mintSecret('srat_')}` },
      revoked: { authorization: `Bearer ${revoked.body.token}` },
      expired: { authorization: `Bearer ${expiring.body.token}` },
    }
    for (const route of routes()) {
      for (const [why, headers] of Object.entries(badHeaders)) {
        const res = await send(
          route.method,
          concreteUrl(t, route, f),
          { ...headers, 'content-type': 'application/json' },
          '{}',
        )
        expect(res.statusCode, `${route.method} ${route.url} with a ${why} token`).toBe(401)
        expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"')
        expect(JSON.parse(res.body)).toMatchObject({ Code: 'InvalidToken', error: 'invalid_token' })
      }
    }
    // Every refusal is audited on the system chain, without the presented value.
    const failures = await call(
      t,
      'GET',
      '/admin/v1/instances/system/audit/events?action=admin.authenticate&maxResults=1000',
    )
    expect(failures.body.entities.length).toBe(routes().length * Object.keys(badHeaders).length)
    expect(JSON.stringify(failures.body)).not.toContain(revoked.body.token)
  })

  it('answers 400 naming the field for wrong types, over-long strings, unknown fields, bad UTF-8 and bad JSON', async () => {
    const headers = { ...t.auth, 'content-type': 'application/json' }
    for (const route of routes().filter((r) => r.body)) {
      const url = concreteUrl(t, route, f)
      // One error at a time: a missing required field is named before an unknown one.
      const required = (route.body as { required?: string[] }).required ?? []
      const unknownField = new RegExp(`^(surprise|${required.join('|')})$`)
      const cases: [string, string | Buffer, RegExp][] = [
        ['invalid JSON', '{"name": ', /^body$/],
        [
          'invalid UTF-8',
          Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
          /^body$/,
        ],
        ['an array body', '[]', /^body$/],
        ['an unknown field', '{"surprise": 1}', unknownField],
        ['a NUL character', '{"surprise": "a\\u0000b"}', /^surprise$/],
        ['a lone surrogate', '{"surprise": "\\ud800"}', /^surprise$/],
      ]
      for (const [what, payload, field] of cases) {
        const res = await send(route.method, url, headers, payload)
        expect(res.statusCode, `${route.method} ${route.url} with ${what}: ${res.body}`).toBe(400)
        const body = JSON.parse(res.body)
        expect(body.field, `${route.url} ${what}`).toMatch(field)
        expect(body.Message).toBeTruthy()
        expect(body.RequestId).toBe(body.request_id)
      }
    }
    const typed = await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/applications`, { name: 42 })
    expect(typed).toMatchObject({ status: 400, body: { field: 'name', rule: 'must be a string' } })
    const long = await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/applications`, {
      name: 'x'.repeat(129),
    })
    expect(long).toMatchObject({
      status: 400,
      body: { field: 'name', rule: 'must be at most 128 characters' },
    })
    // A name shown to people may not carry characters that make it read as another.
    for (const name of [
      'ci\u202Erotarepo',
      'tab\there',
      'zero\u200Bwidth',
      'isolate\u2066x\u2069',
      'bom\uFEFF',
    ]) {
      const disguised = await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/applications`, { name })
      expect(disguised, JSON.stringify(name)).toMatchObject({
        status: 400,
        body: {
          field: 'name',
          rule: 'must not contain control, bidirectional or invisible formatting characters',
        },
      })
    }
    const token = await call(t, 'POST', '/admin/v1/admin-tokens', { name: 'ci\u202Erotarepo' })
    expect(token).toMatchObject({ status: 400, body: { field: 'name' } })
    const plain = await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/applications`, {
      name: 'Zahlungsdienst – Prod 🚀 عربي',
    })
    expect(plain.status).toBe(201)
    const missing = await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/credentials`, {
      credentialType: 'api_key',
      value: {},
    })
    expect(missing).toMatchObject({
      status: 400,
      body: { field: 'credentialIdentifier', rule: 'is required' },
    })
    const wrongValue = await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/credentials`, {
      credentialIdentifier: 'x',
      credentialType: 'oauth_client',
      value: { clientId: 'c' },
    })
    expect(wrongValue).toMatchObject({ status: 400, body: { field: 'value.clientSecret' } })
    const badQuery = await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/applications?maxResults=1000`)
    expect(badQuery).toMatchObject({ status: 400, body: { field: 'maxResults' } })
    const badParam = await call(t, 'GET', `/admin/v1/instances/not-an-instance/applications`)
    expect(badParam).toMatchObject({ status: 400, body: { field: 'instanceId' } })
  })

  // With U+202E, the reason "4711 tnedicni" reads as "incident 1174" in the audit; a newline in a
  // description could forge a line of its own in a terminal.
  it('refuses control and bidirectional formatting characters in descriptions and reasons, naming the field and the rule', async () => {
    const i = `/admin/v1/instances/${t.instanceId}`
    const rule = 'must not contain control or bidirectional formatting characters'
    const planted = [
      'incident \u202e4711 tnedicni',
      'two\nlines',
      'carriage\rreturn',
      'tab\there',
      'escape \u001b[2J',
      'delete\u007f',
      'next line \u0085',
      'isolate \u2066x\u2069',
      'embedding \u202ax\u202c',
      'marks \u200e\u200f',
      'arabic letter mark \u061c',
    ]
    for (const text of planted) {
      const what = JSON.stringify(text)
      const app = await call(t, 'POST', `${i}/applications`, { name: 'described', description: text })
      expect(app, what).toMatchObject({ status: 400, body: { field: 'description', rule } })
      const edit = await call(t, 'PATCH', `${i}/credentials/${f.credentialId}`, { description: text })
      expect(edit, what).toMatchObject({ status: 400, body: { field: 'description', rule } })
      const reveal = await call(t, 'POST', `${i}/credentials/${f.credentialId}/reveal`, { reason: text })
      expect(reveal, what).toMatchObject({ status: 400, body: { field: 'reason', rule } })
      expect(reveal.body.Message).toBe(`field reason ${rule}`)
    }
    // Any other text is kept as given: other scripts, emoji joined by U+200D, punctuation.
    const text = 'Zahlungsdienst – Prod 🚀 عربي 👩‍💻 "quoted" \\n'
    const app = await call(t, 'POST', `${i}/applications`, { name: 'described', description: text })
    expect(app).toMatchObject({ status: 201, body: { description: text } })
    const reveal = await call(t, 'POST', `${i}/credentials/${f.credentialId}/reveal`, { reason: text })
    expect(reveal.status).toBe(200)
    // A name refuses U+061C too, like the other bidirectional marks.
    const name = await call(t, 'POST', `${i}/applications`, { name: 'mark\u061cname' })
    expect(name).toMatchObject({ status: 400, body: { field: 'name' } })
  })

  it('answers 413 to a 10 MB body before reading it all', async () => {
    const res = await send(
      'POST',
      `/admin/v1/instances/${t.instanceId}/credentials`,
      { ...t.auth, 'content-type': 'application/json' },
      JSON.stringify({
        credentialIdentifier: 'big',
        credentialType: 'api_key',
        value: { apiKey: 'x'.repeat(10 * 1024 * 1024) },
      }),
    )
    expect(res.statusCode).toBe(413)
    expect(JSON.parse(res.body)).toMatchObject({ Code: 'PayloadTooLarge' })
  })

  it('answers 404 with the contract error body for unknown resources and routes', async () => {
    const missing = await call(t, 'GET', `/admin/v1/instances/${t.instanceId}/credentials/no-such-thing`)
    expect(missing).toMatchObject({
      status: 404,
      body: { Code: 'CredentialNotFound', error: 'CredentialNotFound' },
    })
    const route = await call(t, 'GET', '/admin/v1/nowhere')
    expect(route).toMatchObject({ status: 404, body: { Code: 'RouteNotFound' } })
  })

  it('lets a token that expires mint only tokens that expire no later', async () => {
    const parent = await call(t, 'POST', '/admin/v1/admin-tokens', { name: 'short', expiresInSeconds: 120 })
    const asParent = { authorization: `Bearer ${parent.body.token}` }
    const mint = (body: object) => call(t, 'POST', '/admin/v1/admin-tokens', body, asParent)
    // Left out, the expiry is the parent's (never later); a permanent successor is not possible.
    const inherited = await mint({ name: 'inherits' })
    expect(inherited.status).toBe(201)
    expect(inherited.body.expirationTime).not.toBeNull()
    expect(inherited.body.expirationTime).toBeLessThanOrEqual(parent.body.expirationTime)
    expect(inherited.body.expirationTime).toBeGreaterThan(parent.body.expirationTime - 5000)
    const longer = await mint({ name: 'longer', expiresInSeconds: 3600 })
    expect(longer).toMatchObject({ status: 400, body: { field: 'expiresInSeconds' } })
    expect(longer.body.rule).toMatch(/^must be at most \d+: a token may not outlive/)
    const shorter = await mint({ name: 'shorter', expiresInSeconds: 60 })
    expect(shorter.status).toBe(201)
    expect(shorter.body.expirationTime).toBeLessThanOrEqual(parent.body.expirationTime)
    // The child of a child is held to the same end.
    const grandchild = await call(
      t,
      'POST',
      '/admin/v1/admin-tokens',
      { name: 'grandchild' },
      {
        authorization: `Bearer ${shorter.body.token}`,
      },
    )
    expect(grandchild.body.expirationTime).toBeLessThanOrEqual(shorter.body.expirationTime)
    const tooLong = await call(
      t,
      'POST',
      '/admin/v1/admin-tokens',
      { name: 'too-long', expiresInSeconds: 60 },
      { authorization: `Bearer ${shorter.body.token}` },
    )
    expect(tooLong).toMatchObject({ status: 400, body: { field: 'expiresInSeconds' } })
    expect(tooLong.body.rule).toMatch(/^must be left out: the admin token that creates it expires in \d+ s/)
    // A token that never expires still mints tokens that never expire.
    const forever = await call(t, 'POST', '/admin/v1/admin-tokens', { name: 'forever' })
    expect(forever.body.expirationTime).toBeNull()
  })

  // A cursor is base64url JSON: one that decodes to a fraction or 1e308 reached PostgreSQL as a
  // bigint and failed the query (500); negative ones passed silently.
  it.each([1.5, 1e308, -1, '12'])('answers 400 naming nextToken for a cursor of %s', async (key) => {
    const cursor = Buffer.from(JSON.stringify({ k: key })).toString('base64url')
    for (const filter of ['', '&actorId=someone']) {
      const res = await call(
        t,
        'GET',
        `/admin/v1/instances/${t.instanceId}/audit/events?nextToken=${cursor}${filter}`,
      )
      expect(res.status, filter).toBe(400)
      expect(res.body).toMatchObject({ Code: 'InvalidParameter', field: 'nextToken' })
    }
  })

  it('never answers 5xx to random JSON on any route (fast-check)', async () => {
    const headers = { ...t.auth, 'content-type': 'application/json' }
    const anyJson = fc.jsonValue({ maxDepth: 4 })
    const fieldNames = [
      'name',
      'description',
      'credentialIdentifier',
      'credentialType',
      'value',
      'applicationId',
      'resourceType',
      'resource',
      'resourceMatch',
      'actions',
      'reason',
      'instanceId',
      'expiresInSeconds',
      'credentialName',
      'apiKey',
      'credentialProviderIdentifier',
      'credentialProviderType',
      'credentialProviderName',
      'oauth',
      'jwt',
    ]
    const plausibleBody = fc.dictionary(fc.constantFrom(...fieldNames), anyJson, { maxKeys: 6 })
    const queryValue = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.integer().map(String),
      fc.constantFrom('true', '-1', '1e9', '%00', ''),
    )
    const query = fc.dictionary(
      fc.constantFrom(
        'maxResults',
        'nextToken',
        'from',
        'to',
        'afterSeq',
        'outcome',
        'order',
        'credentialType',
        'applicationId',
        'x',
      ),
      queryValue,
      { maxKeys: 4 },
    )
    const pathNoise = fc.oneof(fc.constant(null), fc.string({ minLength: 1, maxLength: 30 }))
    const table = routes().filter((r) => !/revoke$|disable$|DELETE/.test(`${r.method} ${r.url}`))
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...table),
        fc.oneof(plausibleBody, anyJson),
        query,
        pathNoise,
        async (route, body, q, noise) => {
          let url = concreteUrl(t, route, f)
          if (noise !== null && route.url.includes(':credential'))
            url = url.replace(f.credentialId, encodeURIComponent(noise))
          const search = new URLSearchParams(q).toString()
          const res = await send(
            route.method,
            search ? `${url}?${search}` : url,
            headers,
            route.method === 'GET' ? undefined : JSON.stringify(body),
          )
          expect(res.statusCode, `${route.method} ${url} ${res.body}`).toBeLessThan(500)
          expect(() => JSON.parse(res.body)).not.toThrow()
        },
      ),
      { numRuns: engine === 'postgres' ? 300 : 600 },
    )
  })
})
