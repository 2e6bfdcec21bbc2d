import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selfSignedCertificate } from '../../../../test/support/tls.js'
import { mintSecret } from '../../src/crypto/minted-secret.js'
import { AuditUnavailable } from '../../src/errors.js'
import { pruneConsoleSessions } from '../../src/store/housekeeping.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import { logCollector, type SignedIn, sessionHeaders, signIn } from './console-support.js'
import { type Cluster, openCluster } from './nodes-support.js'

const HOUR = 60 * 60_000
const MINUTE = 60_000

describe.each(ENGINES)('console sessions on %s', (engine) => {
  let t: TestServer
  let now = 1_800_000_000_000
  const log = logCollector()
  /** Every session secret and CSRF token handed out, to look for where they must never be. */
  const handedOut: string[] = []
  const open = async (token = t.adminToken, headers: Record<string, string> = {}) => {
    const session = await signIn(t, token, headers)
    expect(session.status, JSON.stringify(session.body)).toBe(201)
    handedOut.push(session.secret!, session.body.csrfToken)
    return session
  }
  const admin = (
    session: SignedIn,
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    body?: unknown,
    extra = {},
  ) => call(t, method, url, body, { ...sessionHeaders(session), ...extra })
  const newAdminToken = async (name: string, expiresInSeconds?: number) =>
    (
      await call(t, 'POST', '/admin/v1/admin-tokens', {
        name,
        ...(expiresInSeconds ? { expiresInSeconds } : {}),
      })
    ).body
  const events = async (action: string) =>
    (
      await t.services.store.db
        .selectFrom('audit_events')
        .selectAll()
        .where('action', '=', action)
        .orderBy('seq')
        .execute()
    ).map((e) => ({ ...e, details: JSON.parse(e.details) }))

  beforeAll(async () => {
    t = await openTestServer(engine, {
      now: () => now,
      // This suite fails on purpose many times from one address; the throttle has its own test.
      app: {
        logger: { level: 'trace', stream: log.stream },
        authFailures: { burst: 10_000, refillPerSecond: 1 },
      },
    })
  })
  afterAll(async () => t?.close())

  it('signs in with an admin token: 201, the session (8 hours at most), and an HttpOnly SameSite=Strict browser-session cookie', async () => {
    const session = await open()
    const whoami = await call(t, 'GET', '/admin/v1/whoami')
    expect(session.body).toEqual({
      csrfToken: expect.stringMatching(/^[0-9a-f]{64}$/),
      expiresAt: now + 8 * HOUR,
      idleExpiresAt: now + 30 * MINUTE,
      adminTokenId: whoami.body.adminTokenId,
      adminTokenName: whoami.body.name,
      instanceScope: null,
    })
    // No Max-Age or Expires: the browser forgets it when it closes; the server ends it after 8 hours.
    expect(session.setCookie).toMatch(
      /^strongroom_session=srcon_[0-9A-Za-z]{49}; Path=\/; HttpOnly; SameSite=Strict$/,
    )
    expect(session.headers['content-security-policy']).toContain("default-src 'none'")
    const created = (await events('console.session.create')).at(-1)
    expect(created).toMatchObject({
      instance_id: 'system',
      actor_type: 'admin_token',
      actor_id: whoami.body.adminTokenId,
      resource_type: 'console_session',
      outcome: 'success',
    })
    expect(created?.resource_id).toMatch(/^cs_[0-9a-z]{26}$/)
  })

  it('refuses to sign in with a revoked, expired, unknown or garbage token (401, audited), and a body without a token (400)', async () => {
    const revoked = await newAdminToken('revoked')
    await call(t, 'POST', `/admin/v1/admin-tokens/${revoked.adminTokenId}/revoke`)
    const expiring = await newAdminToken('expiring', 60)
    now += 61_000
    const before = (await events('admin.authenticate')).length
    for (const token of [revoked.token, expiring.token, mintSecret('srat_'), 'garbage', `${t.adminToken}x`]) {
      const refused = await signIn(t, token)
      expect(refused.status, token).toBe(401)
      expect(refused.body).toMatchObject({ Code: 'InvalidToken' })
      expect(refused.setCookie).toBeUndefined()
    }
    const failures = (await events('admin.authenticate')).slice(before)
    expect(failures.map((e) => e.details.why)).toEqual([
      'revoked',
      'expired',
      'unknown',
      'malformed',
      'malformed',
    ])
    const missing = await t.app.inject({
      method: 'POST',
      url: '/console/session',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    })
    expect(missing.statusCode).toBe(400)
    expect(JSON.parse(missing.body)).toMatchObject({
      Code: 'InvalidParameter',
      field: 'token',
      rule: 'is required',
    })
    const extra = await signIn(t, 42)
    expect(extra.status).toBe(400)
    expect(extra.body).toMatchObject({ field: 'token' })
  })

  it('answers GET /console/session with the same session (a reloaded page gets its CSRF token), pushing the idle end forward', async () => {
    const session = await open()
    now += 10 * MINUTE
    const res = await t.app.inject({
      method: 'GET',
      url: '/console/session',
      headers: { cookie: session.cookie! },
    })
    expect(res.statusCode).toBe(200)
    expect(JSON.parse(res.body)).toEqual({ ...session.body, idleExpiresAt: now + 30 * MINUTE })
    expect(res.headers['x-frame-options']).toBe('DENY')
    const none = await t.app.inject({ method: 'GET', url: '/console/session' })
    expect(none.statusCode).toBe(401)
    expect(none.headers['set-cookie']).toBeUndefined()
    const garbage = await t.app.inject({
      method: 'GET',
      url: '/console/session',
      headers: { cookie: `strongroom_session=${mintSecret('srcon_')}` },
    })
    expect(garbage.statusCode).toBe(401)
    // A refused cookie is removed from the browser.
    expect(garbage.headers['set-cookie']).toMatch(
      /^strongroom_session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict$/,
    )
  })

  it('lets the admin API take the cookie and its CSRF token instead of Authorization: the caller is the admin token', async () => {
    const session = await open()
    const whoami = await admin(session, 'GET', '/admin/v1/whoami')
    expect(whoami.status).toBe(200)
    expect(whoami.body.adminTokenId).toBe(session.body.adminTokenId)
    const created = await admin(session, 'POST', `/admin/v1/instances/${t.instanceId}/credentials`, {
      credentialIdentifier: 'console/made-by-cookie',
      credentialType: 'api_key',
      value: { apiKey: 'console-canary-value' },
    })
    expect(created.status).toBe(201)
    const event = (await events('credential.create')).at(-1)
    expect(event).toMatchObject({
      actor_type: 'admin_token',
      actor_id: session.body.adminTokenId,
      outcome: 'success',
    })
    // The browser's own Origin, and a navigation typed in the address bar, are fine.
    const sameOrigin = await admin(session, 'GET', '/admin/v1/whoami', undefined, {
      origin: 'http://localhost',
      'sec-fetch-site': 'same-origin',
    })
    expect(sameOrigin.status).toBe(200)
  })

  it('refuses a cookie without X-CSRF-Token on every method (403 naming the header), with a wrong one, or from another origin', async () => {
    const session = await open()
    const list = `/admin/v1/instances/${t.instanceId}/credentials`
    const count = async () => (await call(t, 'GET', `${list}?maxResults=100`)).body.entities.length
    const before = await count()
    for (const method of ['GET', 'POST', 'DELETE'] as const) {
      const res = await call(
        t,
        method,
        method === 'DELETE'
          ? `/admin/v1/instances/${t.instanceId}/grants/grant_00000000000000000000000000`
          : list,
        method === 'POST'
          ? { credentialIdentifier: 'csrf/x', credentialType: 'api_key', value: { apiKey: 'v' } }
          : undefined,
        { cookie: session.cookie! },
      )
      expect(res.status, method).toBe(403)
      expect(res.body).toMatchObject({ Code: 'CsrfRejected', field: 'X-CSRF-Token' })
      expect(res.body.Message).toContain('X-CSRF-Token')
    }
    const wrong = await call(
      t,
      'POST',
      list,
      { credentialIdentifier: 'csrf/y', credentialType: 'api_key', value: { apiKey: 'v' } },
      {
        cookie: session.cookie!,
        'x-csrf-token': 'a'.repeat(64),
      },
    )
    expect(wrong.status).toBe(403)
    expect(wrong.body).toMatchObject({
      Code: 'CsrfRejected',
      rule: 'must be the csrfToken of this console session',
    })
    const other = await open()
    const swapped = await call(t, 'GET', list, undefined, {
      cookie: session.cookie!,
      'x-csrf-token': other.body.csrfToken,
    })
    expect(swapped.status).toBe(403)
    for (const origin of ['https://evil.example', 'null', 'http://localhost:8080', 'not a url']) {
      const foreign = await admin(
        session,
        'POST',
        list,
        { credentialIdentifier: 'csrf/z', credentialType: 'api_key', value: { apiKey: 'v' } },
        { origin },
      )
      expect(foreign.status, origin).toBe(403)
      expect(foreign.body).toMatchObject({ Code: 'CsrfRejected', field: 'Origin' })
    }
    const crossSite = await admin(session, 'GET', list, undefined, { 'sec-fetch-site': 'cross-site' })
    expect(crossSite.status).toBe(403)
    expect(await count()).toBe(before)
    const refusals = (await events('admin.authenticate'))
      .filter((e) => e.outcome === 'denied')
      .map((e) => e.details.why)
    expect(refusals).toEqual(
      expect.arrayContaining(['csrf_missing', 'csrf_mismatch', 'foreign_origin', 'cross_site']),
    )
    // Sign-in from another origin is refused too (login CSRF).
    const foreignSignIn = await signIn(t, t.adminToken, { origin: 'https://evil.example' })
    expect(foreignSignIn.status).toBe(403)
    expect(foreignSignIn.setCookie).toBeUndefined()
  })

  it('uses the bearer token when a request presents both (the CLI is unchanged)', async () => {
    const session = await open()
    const both = await call(t, 'GET', '/admin/v1/whoami', undefined, {
      ...t.auth,
      cookie: 'strongroom_session=garbage',
    })
    expect(both.status).toBe(200)
    const badBearer = await call(t, 'GET', '/admin/v1/whoami', undefined, {
      ...sessionHeaders(session),
      authorization: `Bearer ${mintSecret('srat_')}`,
    })
    expect(badBearer.status).toBe(401)
  })

  it('signs out: DELETE needs the CSRF token, ends the session on the server, clears the cookie; the same cookie then gets 401', async () => {
    const session = await open()
    const unproven = await t.app.inject({
      method: 'DELETE',
      url: '/console/session',
      headers: { cookie: session.cookie! },
    })
    expect(unproven.statusCode).toBe(403)
    const out = await t.app.inject({
      method: 'DELETE',
      url: '/console/session',
      headers: sessionHeaders(session),
    })
    expect(out.statusCode).toBe(204)
    expect(out.headers['set-cookie']).toMatch(/^strongroom_session=; Max-Age=0;/)
    expect((await admin(session, 'GET', '/admin/v1/whoami')).status).toBe(401)
    const again = await t.app.inject({
      method: 'GET',
      url: '/console/session',
      headers: { cookie: session.cookie! },
    })
    expect(again.statusCode).toBe(401)
    const ended = await events('console.session.end')
    expect(ended.at(-1)).toMatchObject({ actor_id: session.body.adminTokenId, outcome: 'success' })
    const row = await t.services.store.db
      .selectFrom('console_sessions')
      .selectAll()
      .where('id', '=', ended.at(-1)!.resource_id!)
      .executeTakeFirstOrThrow()
    expect(Number(row.ended_at)).toBe(now)
    const refused = (await events('admin.authenticate')).at(-1)
    expect(refused?.details).toEqual({ why: 'session_ended', via: 'console_session' })
  })

  it('ends the session a browser still holds when it signs in again; a dead cookie is ignored, not counted as a failure', async () => {
    const first = await open()
    // The same browser signs in again (another token, even): its cookie names the first session.
    const other = await newAdminToken('second sign-in')
    const second = await open(other.token, { cookie: first.cookie! })
    expect(second.secret).not.toBe(first.secret)
    expect((await admin(first, 'GET', '/admin/v1/whoami')).status).toBe(401)
    expect((await events('admin.authenticate')).at(-1)?.details).toEqual({
      why: 'session_ended',
      via: 'console_session',
    })
    expect((await admin(second, 'GET', '/admin/v1/whoami')).status).toBe(200)
    const ended = (await events('console.session.end')).at(-1)
    expect(ended).toMatchObject({ actor_id: first.body.adminTokenId, outcome: 'success' })
    const replaced = await t.services.store.db
      .selectFrom('console_sessions')
      .select(['id', 'ended_at'])
      .where('id', '=', ended!.resource_id!)
      .executeTakeFirstOrThrow()
    expect(Number(replaced.ended_at)).toBe(now)

    // A cookie naming no live session (ended above, or garbage): the sign-in goes ahead, and
    // the cookie is no failed authentication, neither audited nor another end.
    const failuresBefore = (await events('admin.authenticate')).length
    const endsBefore = (await events('console.session.end')).length
    for (const cookie of [first.cookie!, 'strongroom_session=srcon_garbage']) {
      const again = await open(t.adminToken, { cookie })
      expect((await admin(again, 'GET', '/admin/v1/whoami')).status).toBe(200)
    }
    expect((await events('admin.authenticate')).length).toBe(failuresBefore)
    expect((await events('console.session.end')).length).toBe(endsBefore)
    // A refused sign-in ends nothing: the session the cookie names stays.
    const refused = await signIn(t, mintSecret('srat_'), { cookie: second.cookie! })
    expect(refused.status).toBe(401)
    expect((await admin(second, 'GET', '/admin/v1/whoami')).status).toBe(200)
  })

  it('tells the browser to drop the cookie even when the server cannot end the session (503)', async () => {
    const session = await open()
    const realRun = t.services.committer.run.bind(t.services.committer)
    // As the committer answers when its batch cannot be written.
    t.services.committer.run = () =>
      Promise.reject(new AuditUnavailable(new Error('SQLITE_FULL: database or disk is full')))
    let out: Awaited<ReturnType<typeof t.app.inject>>
    try {
      out = await t.app.inject({
        method: 'DELETE',
        url: '/console/session',
        headers: sessionHeaders(session),
      })
    } finally {
      t.services.committer.run = realRun
    }
    expect(out.statusCode).toBe(503)
    expect(out.json().Code).toBe('AuditUnavailable')
    expect(out.headers['set-cookie']).toMatch(/^strongroom_session=; Max-Age=0;/)
    // The server's session was not ended (no event could say so): it ends when idle, or now.
    expect((await admin(session, 'GET', '/admin/v1/whoami')).status).toBe(200)
    const out2 = await t.app.inject({
      method: 'DELETE',
      url: '/console/session',
      headers: sessionHeaders(session),
    })
    expect(out2.statusCode).toBe(204)
  })

  it('refuses a session idle for 30 minutes, and any session 8 hours after sign-in however busy', async () => {
    const idle = await open()
    now += 30 * MINUTE
    expect((await admin(idle, 'GET', '/admin/v1/whoami')).status).toBe(401)
    const busy = await open()
    const end = now + 8 * HOUR
    while (now + 20 * MINUTE < end) {
      now += 20 * MINUTE
      expect((await admin(busy, 'GET', '/admin/v1/whoami')).status).toBe(200)
      // The idle end's write is best effort, not awaited: let it land before the next use.
      await t.services.committer.run(async () => {})
    }
    now = end
    expect((await admin(busy, 'GET', '/admin/v1/whoami')).status).toBe(401)
    const whys = (await events('admin.authenticate')).slice(-2).map((e) => e.details.why)
    expect(whys).toEqual(['session_idle', 'session_expired'])
  })

  it('never outlives its admin token, and refuses at once a session whose token was revoked after sign-in', async () => {
    const short = await newAdminToken('short', 3600)
    const session = await open(short.token)
    expect(session.body.expiresAt).toBe(now + HOUR)
    expect(session.setCookie).not.toMatch(/max-age|expires/i)
    expect((await admin(session, 'GET', '/admin/v1/whoami')).status).toBe(200)
    await call(t, 'POST', `/admin/v1/admin-tokens/${short.adminTokenId}/revoke`)
    expect((await admin(session, 'GET', '/admin/v1/whoami')).status).toBe(401)
    const getSession = await t.app.inject({
      method: 'GET',
      url: '/console/session',
      headers: { cookie: session.cookie! },
    })
    expect(getSession.statusCode).toBe(401)
    expect((await events('admin.authenticate')).at(-1)?.details).toEqual({
      why: 'token_revoked',
      via: 'console_session',
    })
  })

  it('keeps a scoped token scoped through its session', async () => {
    const other = await call(t, 'POST', '/admin/v1/instances', { name: 'other' })
    const scoped = (
      await call(t, 'POST', '/admin/v1/admin-tokens', { name: 'scoped', instanceId: t.instanceId })
    ).body
    const session = await open(scoped.token)
    expect(session.body.instanceScope).toBe(t.instanceId)
    expect((await admin(session, 'GET', `/admin/v1/instances/${t.instanceId}/credentials`)).status).toBe(200)
    expect(
      (await admin(session, 'GET', `/admin/v1/instances/${other.body.instanceId}/credentials`)).status,
    ).toBe(403)
  })

  it('never lets a session secret or CSRF token reach the database, the audit or the log', async () => {
    expect(handedOut.length).toBeGreaterThan(10)
    const rows = JSON.stringify(
      await t.services.store.db.selectFrom('console_sessions').selectAll().execute(),
    )
    const audit = JSON.stringify(await t.services.store.db.selectFrom('audit_events').selectAll().execute())
    const logged = log.lines.join('\n')
    expect(logged).toContain('/console/session')
    for (const value of handedOut) {
      expect(rows).not.toContain(value)
      expect(audit).not.toContain(value)
      expect(logged).not.toContain(value)
    }
    if (engine === 'sqlite') {
      const file = t.db.replace(/^sqlite:/, '')
      const bytes = Buffer.concat([file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f)))
      for (const value of handedOut) expect(bytes.includes(Buffer.from(value))).toBe(false)
    }
  })

  it('lets housekeeping delete sessions a day after they ended or expired, and no live one', async () => {
    const old = await open()
    const count = async () =>
      Number(
        (
          await t.services.store.db
            .selectFrom('console_sessions')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )
    const before = await count()
    // Past every session's 8 hours, and the day they are kept after.
    now += 33 * HOUR
    const fresh = await open()
    const pruned = await pruneConsoleSessions(t.services)
    expect(pruned).toBe(before)
    expect(await count()).toBe(1)
    expect((await admin(fresh, 'GET', '/admin/v1/whoami')).status).toBe(200)
    expect((await admin(old, 'GET', '/admin/v1/whoami')).status).toBe(401)
  })
})

describe.each(ENGINES)('console session cookies over TLS on %s', (engine) => {
  let t: TestServer
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-console-tls-'))
  beforeAll(async () => {
    const files = selfSignedCertificate(dir)
    t = await openTestServer(engine, {
      app: { https: { cert: readFileSync(files.cert), key: readFileSync(files.key) } },
    })
  })
  afterAll(async () => {
    await t?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('are __Host-strongroom_session and Secure, and a cookie by the plain name is not a session', async () => {
    const session = await signIn(t, t.adminToken)
    expect(session.status).toBe(201)
    expect(session.setCookie).toMatch(
      /^__Host-strongroom_session=srcon_[0-9A-Za-z]{49}; Path=\/; HttpOnly; SameSite=Strict; Secure$/,
    )
    expect((await call(t, 'GET', '/admin/v1/whoami', undefined, sessionHeaders(session))).status).toBe(200)
    const plain = { cookie: `strongroom_session=${session.secret}`, 'x-csrf-token': session.body.csrfToken }
    expect((await call(t, 'GET', '/admin/v1/whoami', undefined, plain)).status).toBe(401)
  })

  it('send Strict-Transport-Security on every console answer over the server’s own TLS', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = t.app.server.address() as AddressInfo
    const get = (path: string, host = 'pam.example.test') =>
      new Promise<{ status: number; hsts: unknown }>((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port, path, method: 'GET', rejectUnauthorized: false, headers: { host } },
          (res) => {
            res.resume()
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, hsts: res.headers['strict-transport-security'] }),
            )
          },
        )
        req.on('error', reject)
        req.end()
      })
    for (const [path, status] of [
      ['/console/', 200],
      ['/console/i/idaas_x/credentials', 200],
      ['/console/session', 401],
      ['/console/assets/none.css', 404],
    ] as const) {
      expect(await get(path), path).toEqual({ status, hsts: 'max-age=31536000' })
    }
    // Not for a loopback name: a browser would keep it for localhost's every port, for a year.
    for (const host of ['localhost', `localhost:${port}`, 'app.localhost', '127.0.0.1', '[::1]']) {
      expect(await get('/console/', host), host).toEqual({ status: 200, hsts: undefined })
    }
  })
})

describe.each(ENGINES)('console session failures on %s', (engine) => {
  let t: TestServer
  let now = 1_800_000_000_000
  beforeAll(async () => {
    t = await openTestServer(engine, {
      now: () => now,
      app: { authFailures: { burst: 3, refillPerSecond: 0.5 } },
    })
  })
  afterAll(async () => t?.close())

  it('spend the admin API budget of the address: bad sign-ins and bad CSRF proofs are throttled, a good token never is', async () => {
    for (let i = 0; i < 3; i++) expect((await signIn(t, mintSecret('srat_'))).status).toBe(401)
    const throttled = await signIn(t, mintSecret('srat_'))
    expect(throttled.status).toBe(429)
    expect(throttled.body).toMatchObject({ Code: 'Throttling.User' })
    const session = await signIn(t, t.adminToken)
    expect(session.status).toBe(201)
    now += 60_000
    const forged = { cookie: session.cookie!, 'x-csrf-token': 'f'.repeat(64) }
    for (let i = 0; i < 3; i++)
      expect((await call(t, 'GET', '/admin/v1/whoami', undefined, forged)).status).toBe(403)
    expect((await call(t, 'GET', '/admin/v1/whoami', undefined, forged)).status).toBe(429)
    expect((await call(t, 'GET', '/admin/v1/whoami', undefined, sessionHeaders(session))).status).toBe(200)
  })
})

describe('console sessions on several nodes (PostgreSQL)', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await openCluster(['a', 'b'])
  })
  afterAll(async () => cluster?.close())

  it('work on every node, and a sign-out or a revoked token on one node is refused at once on the other', async () => {
    const [a, b] = cluster.nodes as [TestServer, TestServer]
    const session = await signIn(a, a.adminToken)
    expect(session.status).toBe(201)
    expect((await call(b, 'GET', '/admin/v1/whoami', undefined, sessionHeaders(session))).status).toBe(200)
    const out = await b.app.inject({
      method: 'DELETE',
      url: '/console/session',
      headers: sessionHeaders(session),
    })
    expect(out.statusCode).toBe(204)
    expect((await call(a, 'GET', '/admin/v1/whoami', undefined, sessionHeaders(session))).status).toBe(401)

    const token = (await call(a, 'POST', '/admin/v1/admin-tokens', { name: 'node-token' }, cluster.auth)).body
    const second = await signIn(b, token.token)
    expect((await call(a, 'GET', '/admin/v1/whoami', undefined, sessionHeaders(second))).status).toBe(200)
    await call(b, 'POST', `/admin/v1/admin-tokens/${token.adminTokenId}/revoke`, undefined, cluster.auth)
    expect((await call(a, 'GET', '/admin/v1/whoami', undefined, sessionHeaders(second))).status).toBe(401)
  })
})
