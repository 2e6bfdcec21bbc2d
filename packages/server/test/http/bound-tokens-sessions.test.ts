import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ProofKey } from '../../../sdk/src/proof/proof-key.js'
import { pruneExpired } from '../../src/store/housekeeping.js'
import { ENGINES } from '../support/engines.js'
import {
  API,
  auditEvents,
  type BoundTokenServer,
  bindingKeyOf,
  dpopHeaders,
  exchange,
  issueScoped,
  issueSession,
  newKey,
  oauth,
  obtainPath,
  obtainUrl,
  openBoundTokenServer,
  otherApplicationToken,
  PAM,
  START,
  send,
  sessionAction,
} from './bound-tokens-support.js'

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'))
const DPOP_TOKEN_CHALLENGE = 'DPoP error="invalid_token", algs="ES256 EdDSA RS256 PS256"'

describe.each(ENGINES)('session tokens on %s', (engine) => {
  let b: BoundTokenServer
  let key: ProofKey
  beforeAll(async () => {
    b = await openBoundTokenServer(engine)
    key = await newKey('EdDSA')
  })
  afterAll(async () => b?.close())

  // The clock only moves forward (as the failure throttles expect): each test starts at `base`,
  // an hour after the last one's.
  let base = START
  beforeEach(() => {
    base = b.clock.now + 3_600_000
    b.clock.now = base
  })
  const at = (ms: number) => {
    if (ms < b.clock.now) throw new Error('the test clock only moves forward')
    b.clock.now = ms
  }
  const start = async (minutes = 10, scope = `${PAM}|credential:obtain`) => {
    const res = await issueSession(b, await b.accessToken(), {
      scope,
      publicKey: bindingKeyOf(key),
      sessionExpirationInMinutes: minutes,
    })
    expect(res.status, res.raw).toBe(200)
    return res.body as {
      accessToken: string
      sessionId: string
      sessionExpirationTime: number
      tokenId: string
      jkt: string
    }
  }
  const obtain = async (token: string, k = key) =>
    send(b.t, 'GET', obtainUrl(b), await dpopHeaders(b, k, token, 'GET', obtainPath(b)))

  it('starts a session whose first token is bound, carries sid and lives five minutes', async () => {
    const session = await start(30)
    expect(session).toMatchObject({
      tokenType: 'DPoP',
      scope: `${PAM}|credential:obtain`,
      expiresIn: 300,
      expirationTime: base + 300_000,
      jkt: key.thumbprint,
      sessionExpirationTime: base + 30 * 60_000,
    })
    expect(session.sessionId).toMatch(/^sess_[0-9a-z]{26}$/)
    expect(claimsOf(session.accessToken)).toMatchObject({
      sid: session.sessionId,
      cnf: { jkt: key.thumbprint },
    })
    expect((await obtain(session.accessToken)).status).toBe(200)
    const row = await b.t.services.store.db
      .selectFrom('token_sessions')
      .selectAll()
      .where('id', '=', session.sessionId)
      .executeTakeFirstOrThrow()
    expect(row).toMatchObject({
      instance_id: b.t.instanceId,
      application_id: b.app.applicationId,
      jkt: key.thumbprint,
      scope: `${PAM}|credential:obtain`,
      expires_at: base + 30 * 60_000,
    })
    expect(Number(row.revoked)).toBe(0)
    const [event] = (await auditEvents(b, 'token.session.issue')).filter(
      (e) => e.resource_id === session.sessionId,
    )
    expect(event).toMatchObject({ outcome: 'success', resource_type: 'token_session' })
    expect(JSON.parse(event!.details)).toMatchObject({ jkt: key.thumbprint, tokenId: session.tokenId })
  })

  it("renews a session for another audience, whose tokens that audience's resource servers verify", async () => {
    const session = await start(10, `${API}|read`)
    expect(claimsOf(session.accessToken)).toMatchObject({ aud: API, scope: 'read', sid: session.sessionId })
    // Not for strongroom's own API.
    expect((await obtain(session.accessToken)).body.Code).toBe('InvalidToken')
    const refreshed = await sessionAction(b, 'refresh', session.accessToken, key)
    expect(refreshed.status, refreshed.raw).toBe(200)
    expect(refreshed.body.scope).toBe(`${API}|read`)
    expect(claimsOf(refreshed.body.accessToken)).toMatchObject({ aud: API, sid: session.sessionId })
  })

  it('refuses a session of less than 5 or more than 60 minutes', async () => {
    for (const minutes of [4, 61]) {
      const res = await issueSession(b, await b.accessToken(), {
        scope: `${PAM}|credential:obtain`,
        publicKey: bindingKeyOf(key),
        sessionExpirationInMinutes: minutes,
      })
      expect(res.status).toBe(400)
      expect(res.body.field).toBe('sessionExpirationInMinutes')
    }
  })

  it('refreshes with a proof of the key: a new token works, and the old one until its exp', async () => {
    const session = await start(30)
    at(base + 60_000)
    const refreshed = await sessionAction(b, 'refresh', session.accessToken, key)
    expect(refreshed.status, refreshed.raw).toBe(200)
    expect(refreshed.body).toMatchObject({
      sessionId: session.sessionId,
      sessionExpirationTime: session.sessionExpirationTime,
      expiresIn: 300,
      expirationTime: base + 60_000 + 300_000,
      jkt: key.thumbprint,
    })
    expect(refreshed.body.tokenId).not.toBe(session.tokenId)
    expect(refreshed.body.accessToken).not.toBe(session.accessToken)
    expect((await obtain(refreshed.body.accessToken)).status).toBe(200)
    expect((await obtain(session.accessToken)).status).toBe(200)
    // Past the old token's exp (and the 10 s leeway) only the new one works.
    at(base + 311_000)
    expect((await obtain(session.accessToken)).body.Code).toBe('InvalidToken')
    expect((await obtain(refreshed.body.accessToken)).status).toBe(200)
    // An expired token of a live session still refreshes.
    const again = await sessionAction(b, 'refresh', session.accessToken, key)
    expect(again.status, again.raw).toBe(200)
    const events = (await auditEvents(b, 'token.session.refresh')).filter(
      (e) => e.resource_id === session.sessionId && e.outcome === 'success',
    )
    expect(events).toHaveLength(2)
  })

  it('refuses a refresh proved by a different key, a replayed refresh, or one sent as Bearer', async () => {
    const session = await start()
    const refused = await sessionAction(b, 'refresh', session.accessToken, await newKey('EdDSA'))
    expect(refused.status).toBe(401)
    expect(refused.body.Code).toBe('ProofKeyMismatch')
    const path = `${b.v2}/sessionTokens/_/actions/refresh`
    const headers = await dpopHeaders(b, key, session.accessToken, 'POST', path)
    expect((await send(b.t, 'POST', path, headers, {})).status).toBe(200)
    const replayed = await send(b.t, 'POST', path, headers, {})
    expect(replayed.status).toBe(401)
    expect(replayed.body.Code).toBe('ProofReplayed')
    const bearer = await send(b.t, 'POST', path, { authorization: `Bearer ${session.accessToken}` }, {})
    expect(bearer.status).toBe(401)
    expect(bearer.body.Code).toBe('InvalidToken')
    expect(bearer.headers['www-authenticate']).toBe(DPOP_TOKEN_CHALLENGE)
    const none = await send(b.t, 'POST', path, {}, {})
    expect(none.status).toBe(401)
    expect(none.body.Code).toBe('InvalidToken')
    // A scoped token is no session token.
    const scoped = await issueScoped(b, await b.accessToken(), {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(key),
    })
    const notSession = await sessionAction(b, 'refresh', scoped.body.accessToken, key)
    expect(notSession.status).toBe(401)
    expect(notSession.body.Message).toContain('not a session token')
  })

  it('refuses an ended session for refresh (SessionExpired) and for use', async () => {
    const session = await start(5)
    const end = session.sessionExpirationTime
    at(end - 30_000)
    const last = await sessionAction(b, 'refresh', session.accessToken, key)
    expect(last.status, last.raw).toBe(200)
    // The last token of a session ends with it.
    expect(last.body.expirationTime).toBe(end)
    at(end)
    const refresh = await sessionAction(b, 'refresh', session.accessToken, key)
    expect(refresh.status).toBe(401)
    expect(refresh.body.Code).toBe('SessionExpired')
    expect(refresh.headers['www-authenticate']).toBe(DPOP_TOKEN_CHALLENGE)
    // Within the token's 10 s leeway the session's end is what refuses it.
    const use = await obtain(last.body.accessToken)
    expect(use.status).toBe(401)
    expect(use.body.Code).toBe('SessionExpired')
    at(end + 60_000)
    expect((await obtain(last.body.accessToken)).body.Code).toBe('InvalidToken')
    const denied = (await auditEvents(b, 'token.session.refresh')).filter((e) => e.outcome === 'denied')
    expect(denied.map((e) => JSON.parse(e.details).why)).toContain('SessionExpired')
  })

  it('revokes a session with a proof of its key: its tokens are refused and cannot be refreshed', async () => {
    const session = await start()
    const revoked = await sessionAction(b, 'revoke', session.accessToken, key)
    expect(revoked.status, revoked.raw).toBe(200)
    expect(revoked.body).toEqual({})
    const use = await obtain(session.accessToken)
    expect(use.status).toBe(401)
    expect(use.body.Code).toBe('SessionRevoked')
    const refresh = await sessionAction(b, 'refresh', session.accessToken, key)
    expect(refresh.body.Code).toBe('SessionRevoked')
    // Idempotent.
    expect((await sessionAction(b, 'revoke', session.accessToken, key)).status).toBe(200)
    // And only with the key.
    const other = await start()
    const stranger = await sessionAction(b, 'revoke', other.accessToken, await newKey())
    expect(stranger.body.Code).toBe('ProofKeyMismatch')
    expect((await obtain(other.accessToken)).status).toBe(200)
  })

  it('introspects a session token as DPoP with its cnf while the session lives, inactive once revoked', async () => {
    const session = await start()
    const introspect = async () => {
      const res = await b.t.app.inject({
        method: 'POST',
        url: `${b.v2}/authorizationServer/iauths_system/oauth2/introspect`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          client_id: b.app.clientId,
          client_secret: b.app.secret,
          token: session.accessToken,
        }).toString(),
      })
      expect(res.statusCode, res.body).toBe(200)
      return res.json()
    }
    expect(await introspect()).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: session.jkt } })
    expect((await sessionAction(b, 'revoke', session.accessToken, key)).status).toBe(200)
    expect(await introspect()).toEqual({ active: false })
  })

  it('answers SessionNotFound for a token whose session is gone', async () => {
    const session = await start()
    await b.t.services.store.db.deleteFrom('token_sessions').where('id', '=', session.sessionId).execute()
    expect((await sessionAction(b, 'refresh', session.accessToken, key)).body.Code).toBe('SessionNotFound')
    expect((await obtain(session.accessToken)).body.Code).toBe('SessionNotFound')
  })

  it('stops refreshing once the application is disabled, and narrows to what it is allowed now', async () => {
    const session = await start(10, `${PAM}|.all`)
    const i = `/admin/v1/instances/${b.t.instanceId}/applications/${b.app.applicationId}`
    const admin = (method: 'PATCH' | 'POST', url: string, body: object) =>
      b.t.app.inject({
        method,
        url,
        headers: { ...b.t.auth, 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      })
    const allowed = [`${PAM}|.all`, `${API}|read`, `${API}|write`]
    try {
      expect((await admin('PATCH', i, { allowedScopes: [`${PAM}|credential:obtain`] })).statusCode).toBe(200)
      const narrowed = await sessionAction(b, 'refresh', session.accessToken, key)
      expect(narrowed.status, narrowed.raw).toBe(200)
      expect(narrowed.body.scope).toBe(`${PAM}|credential:obtain`)
      expect((await admin('PATCH', i, { allowedScopes: [`${API}|read`] })).statusCode).toBe(200)
      const none = await sessionAction(b, 'refresh', session.accessToken, key)
      expect(none.status).toBe(403)
      expect(none.body.Code).toBe('InsufficientScope')
      expect((await admin('PATCH', i, { allowedScopes: allowed })).statusCode).toBe(200)
      expect((await admin('POST', `${i}/disable`, {})).statusCode).toBe(200)
      const refused = await sessionAction(b, 'refresh', session.accessToken, key)
      expect(refused.status).toBe(401)
      expect(refused.body.Code).toBe('InvalidToken')
      expect(refused.body.Message).toContain('disabled')
    } finally {
      await admin('PATCH', i, { allowedScopes: allowed })
      await admin('POST', `${i}/enable`, {})
    }
  })

  it("outlives the application's own token that started it, but not an exchanged one", async () => {
    const plain = await b.accessToken()
    const plainExp = claimsOf(plain).exp * 1000
    at(plainExp - 60_000)
    const long = await issueSession(b, plain, {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(key),
      sessionExpirationInMinutes: 60,
    })
    expect(long.status, long.raw).toBe(200)
    expect(long.body.sessionExpirationTime).toBe(plainExp - 60_000 + 3_600_000)

    // An exchanged token (RFC 8693) never outlives its subject token, nor does a session from it.
    const other = await otherApplicationToken(b, `short-${b.clock.now}`, [`${PAM}|credential:obtain`], 600)
    const exchanged = await exchange(b, other.token, { scope: `${PAM}|credential:obtain` })
    const exchangedExp = claimsOf(exchanged).exp * 1000
    expect(exchangedExp).toBe(b.clock.now + 600_000)
    const fromExchanged = await issueSession(b, exchanged, {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(key),
      sessionExpirationInMinutes: 60,
    })
    expect(fromExchanged.status, fromExchanged.raw).toBe(200)
    expect(fromExchanged.body.sessionExpirationTime).toBe(exchangedExp)
    expect(claimsOf(fromExchanged.body.accessToken).sub).toBe(other.applicationId)
  })

  it('refuses to start a session with a key-bound token: 403 PermissionDenied, audited', async () => {
    const parent = await start(10)
    const scoped = await issueScoped(b, await b.accessToken(), {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(key),
      expiration: 600,
    })
    expect(scoped.status, scoped.raw).toBe(200)
    for (const token of [parent.accessToken, scoped.body.accessToken as string]) {
      const child = await issueSession(
        b,
        { token, key },
        { scope: `${PAM}|credential:obtain`, publicKey: bindingKeyOf(key), sessionExpirationInMinutes: 60 },
      )
      expect(child.status, child.raw).toBe(403)
      expect(child.body.Code).toBe('PermissionDenied')
      expect(child.body.Message).toContain("the application's own access token")
    }
    const denied = (await auditEvents(b, 'token.session.issue')).filter((e) => e.outcome === 'denied')
    expect(denied.slice(-2).map((e) => JSON.parse(e.details))).toMatchObject([
      { why: 'key_bound_caller', code: 'PermissionDenied', accessTokenId: parent.tokenId },
      { why: 'key_bound_caller', code: 'PermissionDenied', accessTokenId: scoped.body.tokenId },
    ])
  })

  it('ends a session once the token that started it is revoked (RFC 7009), even after that token expired', async () => {
    const plain = await b.accessToken()
    const plainExp = claimsOf(plain).exp * 1000
    at(plainExp - 60_000)
    const res = await issueSession(b, plain, {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(key),
      sessionExpirationInMinutes: 60,
    })
    expect(res.status, res.raw).toBe(200)
    const session = res.body as { accessToken: string; sessionId: string; sessionExpirationTime: number }
    const row = await b.t.services.store.db
      .selectFrom('token_sessions')
      .select('parent_jti')
      .where('id', '=', session.sessionId)
      .executeTakeFirstOrThrow()
    expect(row.parent_jti).toBe(claimsOf(plain).jti)
    expect((await obtain(session.accessToken)).status).toBe(200)

    expect((await oauth(b, 'revoke', { token: plain })).status).toBe(200)
    const use = await obtain(session.accessToken)
    expect(use.status).toBe(401)
    expect(use.body.Code).toBe('SessionRevoked')
    expect(use.body.Message).toContain(
      'what started the session of this token (an access token, or an OCI API key) has been revoked',
    )
    expect(use.headers['www-authenticate']).toBe(DPOP_TOKEN_CHALLENGE)
    const refresh = await sessionAction(b, 'refresh', session.accessToken, key)
    expect(refresh.status).toBe(401)
    expect(refresh.body.Code).toBe('SessionRevoked')
    const introspected = await oauth(b, 'introspect', { token: session.accessToken })
    expect(introspected.body).toEqual({ active: false })
    // Revoking the session itself still works, and is idempotent.
    expect((await sessionAction(b, 'revoke', session.accessToken, key)).status).toBe(200)

    // Housekeeping keeps the revocation past the starting token's exp while the session lasts…
    at(plainExp + 20 * 60_000)
    await pruneExpired(b.t.services)
    const refreshLater = await sessionAction(b, 'refresh', session.accessToken, key)
    expect(refreshLater.body.Code).toBe('SessionRevoked')
    const kept = await b.t.services.store.db
      .selectFrom('revoked_access_tokens')
      .select('jti')
      .where('jti', '=', claimsOf(plain).jti)
      .execute()
    expect(kept).toHaveLength(1)
    // …and lets it go once the session has ended.
    at(session.sessionExpirationTime + 10 * 60_000)
    await pruneExpired(b.t.services)
    const gone = await b.t.services.store.db
      .selectFrom('revoked_access_tokens')
      .select('jti')
      .where('jti', '=', claimsOf(plain).jti)
      .execute()
    expect(gone).toHaveLength(0)
  })

  it('ends the scoped tokens derived from a session token with the session, whatever key they are bound to', async () => {
    const session = await start(30, `${PAM}|.all`)
    const otherKey = await newKey()
    const derive = async (k: ProofKey) => {
      const res = await issueScoped(
        b,
        { token: session.accessToken, key },
        { scope: `${PAM}|credential:obtain`, publicKey: bindingKeyOf(k) },
      )
      expect(res.status, res.raw).toBe(200)
      return res.body as { accessToken: string; tokenId: string }
    }
    const elsewhere = await derive(otherKey)
    const sameKey = await derive(key)
    expect(claimsOf(elsewhere.accessToken)).toMatchObject({
      sid: session.sessionId,
      scoped: true,
      cnf: { jkt: otherKey.thumbprint },
      scope: 'credential:obtain',
    })
    const issued = (await auditEvents(b, 'token.scoped.issue')).find(
      (e) => JSON.parse(e.details).tokenId === elsewhere.tokenId,
    )
    expect(JSON.parse(issued!.details).sessionId).toBe(session.sessionId)
    expect((await obtain(elsewhere.accessToken, otherKey)).status).toBe(200)
    expect((await obtain(sameKey.accessToken)).status).toBe(200)
    const introspect = async (token: string) => (await oauth(b, 'introspect', { token })).body
    expect(await introspect(elsewhere.accessToken)).toMatchObject({
      active: true,
      cnf: { jkt: otherKey.thumbprint },
    })

    // A derived token is no session token: it neither refreshes (to the session's wider scope) nor revokes.
    for (const [token, k] of [
      [elsewhere.accessToken, otherKey],
      [sameKey.accessToken, key],
    ] as const) {
      for (const action of ['refresh', 'revoke'] as const) {
        const refused = await sessionAction(b, action, token, k)
        expect(refused.status, `${action}: ${refused.raw}`).toBe(401)
        expect(refused.body.Message).toContain('not a session token')
      }
    }

    expect((await sessionAction(b, 'revoke', session.accessToken, key)).status).toBe(200)
    for (const [token, k] of [
      [elsewhere.accessToken, otherKey],
      [sameKey.accessToken, key],
    ] as const) {
      const use = await obtain(token, k)
      expect(use.status).toBe(401)
      expect(use.body.Code).toBe('SessionRevoked')
      expect(await introspect(token)).toEqual({ active: false })
    }
  })

  it('refuses a refresh with less than a second of the session left as SessionExpired, audited', async () => {
    const session = await start(5)
    at(session.sessionExpirationTime - 500)
    const refresh = await sessionAction(b, 'refresh', session.accessToken, key)
    expect(refresh.status, refresh.raw).toBe(401)
    expect(refresh.body.Code).toBe('SessionExpired')
    expect(refresh.headers['www-authenticate']).toBe(DPOP_TOKEN_CHALLENGE)
    const events = (await auditEvents(b, 'token.session.refresh')).filter(
      (e) => e.resource_id === session.sessionId,
    )
    expect(events.map((e) => [e.outcome, JSON.parse(e.details).why])).toEqual([['denied', 'SessionExpired']])
  })

  it('answers no token to a refresh whose session is revoked while it is under way', async () => {
    const session = await start(10)
    const keys = b.t.services.signingKeys
    const active = keys.active.bind(keys)
    // The session is revoked after the refresh has read it live, before its unit commits.
    const spy = vi.spyOn(keys, 'active').mockImplementationOnce(async (instanceId) => {
      await b.t.services.store.db
        .updateTable('token_sessions')
        .set({ revoked: 1 })
        .where('id', '=', session.sessionId)
        .execute()
      return active(instanceId)
    })
    try {
      const refresh = await sessionAction(b, 'refresh', session.accessToken, key)
      expect(spy).toHaveBeenCalled()
      expect(refresh.status, refresh.raw).toBe(401)
      expect(refresh.body.Code).toBe('SessionRevoked')
    } finally {
      spy.mockRestore()
    }
    const events = (await auditEvents(b, 'token.session.refresh')).filter(
      (e) => e.resource_id === session.sessionId,
    )
    expect(events.map((e) => [e.outcome, JSON.parse(e.details).why])).toEqual([['denied', 'SessionRevoked']])
  })

  // The budget was checked before the work and spent after it: 64 attempts in flight all passed
  // the check, and a reviewer wrote 64,632 audited refusals in 20 s against a budget of 2,200.
  it('lets no more failed refreshes through than its budget, however many arrive at once', async () => {
    const path = `${b.v2}/sessionTokens/_/actions/refresh`
    const attempts = await Promise.all(
      Array.from({ length: 300 }, () =>
        send(b.t, 'POST', path, { authorization: 'DPoP not-a-session-token', dpop: 'not-a-proof' }, {}),
      ),
    )
    const refused = attempts.filter((a) => a.status === 401).length
    const throttled = attempts.filter((a) => a.status === 429).length
    expect(refused + throttled).toBe(300)
    // UNAUTHENTICATED_RATE's burst: the clock does not move, so nothing is earned back.
    expect(refused).toBe(200)
    const audited = (await auditEvents(b, 'token.session.refresh')).filter(
      (e) => Number(e.time) >= base && e.outcome !== 'success',
    )
    expect(audited.length).toBeGreaterThan(0)
    expect(audited.length).toBeLessThanOrEqual(201)
  })
})
