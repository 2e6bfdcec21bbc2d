import { PAM_AUDIENCE } from '@strongroom/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Committer } from '../../src/store/committer.js'
import { call, openTestServer, type TestServer } from '../support/engines.js'

/**
 * A refused authentication is answered the same while the audit cannot be written (an audit outage
 * must not turn a 401 into a 503), and the lost event is logged, never dropped silently.
 */
describe('refusals while the audit cannot be written', () => {
  let t: TestServer
  let warnings: { obj: Record<string, unknown>; msg: string }[]
  let realRun: Committer['run']
  let client: { clientId: string; secret: string; base: string }
  beforeAll(async () => {
    t = await openTestServer('sqlite', { app: { authFailures: { burst: 100_000, refillPerSecond: 1 } } })
    const i = `/admin/v1/instances/${t.instanceId}`
    const app = (
      await call(t, 'POST', `${i}/applications`, { name: 'worker', allowedScopes: [`${PAM_AUDIENCE}|.all`] })
    ).body
    const secret = (await call(t, 'POST', `${i}/applications/${app.applicationId}/client-secrets`, {})).body
    client = {
      clientId: app.clientId,
      secret: secret.clientSecret,
      base: `/v2/${t.instanceId}/authorizationServer/iauths_system`,
    }
    realRun = t.services.committer.run.bind(t.services.committer)
  })
  afterAll(async () => {
    t.services.committer.run = realRun
    await t?.close()
  })

  /** Every unit fails as a full disk would, for the length of `work`; warnings are captured. */
  async function withAuditOutage<T>(work: () => Promise<T>): Promise<T> {
    warnings = []
    t.services.log = { warn: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }) }
    t.services.committer.run = () => Promise.reject(new Error('SQLITE_FULL: database or disk is full'))
    try {
      return await work()
    } finally {
      t.services.committer.run = realRun
    }
  }

  const warned = () =>
    warnings.map((w) => ({
      msg: w.msg,
      action: w.obj.action,
      outcome: w.obj.outcome,
      err: (w.obj.err as Error).message,
    }))

  /** Everything the warnings would put in a log line, the error's stack included. */
  const logText = () =>
    JSON.stringify(warnings.map((w) => ({ ...w.obj, msg: w.msg, err: (w.obj.err as Error).stack })))

  it('a wrong admin token is still a 401, and the lost event is a warning naming the error', async () => {
    const wrong = `${t.adminToken.slice(0, -4)}AAAA`
    const res = await withAuditOutage(() =>
      call(t, 'GET', '/admin/v1/instances', undefined, { authorization: `Bearer ${wrong}` }),
    )
    expect(res.status).toBe(401)
    expect(warned()).toEqual([
      {
        msg: 'an audit event for a refusal could not be written',
        action: 'admin.authenticate',
        outcome: 'failure',
        err: 'SQLITE_FULL: database or disk is full',
      },
    ])
    expect(logText()).not.toContain(wrong)
  })

  it('a wrong client secret is still invalid_client, and the warning holds no secret', async () => {
    const wrong = `${client.secret.slice(0, -1)}${client.secret.endsWith('x') ? 'y' : 'x'}`
    const res = await withAuditOutage(() =>
      t.app.inject({
        method: 'POST',
        url: `${client.base}/oauth2/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: client.clientId,
          client_secret: wrong,
        }).toString(),
      }),
    )
    expect(res.statusCode).toBe(401)
    expect(res.json().error).toBe('invalid_client')
    expect(warned()).toEqual([
      expect.objectContaining({
        action: 'oauth.token',
        outcome: 'failure',
        err: expect.stringContaining('SQLITE_FULL'),
      }),
    ])
    const logged = logText()
    expect(logged).not.toContain(wrong)
    expect(logged).not.toContain(client.secret)
  })

  it('an unknown bearer token on the developer API is still a 401, with a warning', async () => {
    const res = await withAuditOutage(() =>
      call(t, 'GET', `/v2/${t.instanceId}/credentials/_/actions/obtain?credentialIdentifier=a`, undefined, {
        authorization: 'Bearer not-a-token',
      }),
    )
    expect(res.status).toBe(401)
    expect(warned()).toEqual([
      expect.objectContaining({
        action: 'pam.authenticate',
        outcome: 'failure',
        err: expect.stringContaining('SQLITE_FULL'),
      }),
    ])
    expect(logText()).not.toContain('not-a-token')
  })

  it('a last-used time that cannot be written is a warning, and the request is answered', async () => {
    const fresh = (await call(t, 'POST', '/admin/v1/admin-tokens', { name: 'never-used' })).body
    const res = await withAuditOutage(async () => {
      const answer = await call(t, 'GET', '/admin/v1/instances', undefined, {
        authorization: `Bearer ${fresh.token}`,
      })
      // The write is not awaited by the request: let its rejection land while it still fails.
      await new Promise((resolve) => setImmediate(resolve))
      return answer
    })
    expect(res.status).toBe(200)
    expect(warned()).toEqual([
      {
        msg: 'a best-effort write failed',
        action: undefined,
        outcome: undefined,
        err: 'SQLITE_FULL: database or disk is full',
      },
    ])
    expect(warnings[0]?.obj.what).toBe('admin token last-used time')
    expect(logText()).not.toContain(fresh.token)
  })

  it('with the audit back, the same refusal is audited and nothing is warned', async () => {
    warnings = []
    const res = await call(t, 'GET', '/admin/v1/instances', undefined, { authorization: 'Bearer nope' })
    expect(res.status).toBe(401)
    expect(warnings).toEqual([])
    const events = await t.services.store.db
      .selectFrom('audit_events')
      .select('action')
      .where('action', '=', 'admin.authenticate')
      .execute()
    expect(events.length).toBeGreaterThan(0)
  })
})
