import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ProofKey } from '../../../sdk/src/proof/proof-key.js'
import { ENGINES } from '../support/engines.js'
import {
  API,
  auditEvents,
  type BoundTokenServer,
  bindingKeyOf,
  dpopHeaders,
  issueScoped,
  issueSession,
  newKey,
  obtainPath,
  obtainUrl,
  openBoundTokenServer,
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

  it('outlives the plain token that started it, but not a bound one', async () => {
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

    // Started with a session token: capped at that session's end.
    const parent = await start(10)
    const child = await issueSession(
      b,
      { token: parent.accessToken, key },
      { scope: `${PAM}|credential:obtain`, publicKey: bindingKeyOf(key), sessionExpirationInMinutes: 60 },
    )
    expect(child.status, child.raw).toBe(200)
    expect(child.body.sessionExpirationTime).toBe(parent.sessionExpirationTime)
    // Started with a scoped token: capped at its exp.
    const scoped = await issueScoped(b, await b.accessToken(), {
      scope: `${PAM}|credential:obtain`,
      publicKey: bindingKeyOf(key),
      expiration: 600,
    })
    const fromScoped = await issueSession(
      b,
      { token: scoped.body.accessToken, key },
      { scope: `${PAM}|credential:obtain`, publicKey: bindingKeyOf(key), sessionExpirationInMinutes: 60 },
    )
    expect(fromScoped.body.sessionExpirationTime).toBe(b.clock.now + 600_000)
  })
})
