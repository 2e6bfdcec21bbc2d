import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyChain } from '../../src/audit/verify.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const madeUpInstanceId = () =>
  `idaas_${Array.from(randomBytes(26), (b) => '0123456789abcdefghijklmnopqrstuvwxyz'[b % 36]).join('')}`

const obtainAt = (instanceId: string) =>
  `/v2/${instanceId}/credentials/_/actions/obtain?credentialIdentifier=a`

describe.each(ENGINES)('refusals cannot create audit chains (%s)', (engine) => {
  let t: TestServer
  beforeAll(async () => {
    // No throttle in the way: every refusal below is one audited failure.
    t = await openTestServer(engine, { app: { authFailures: { burst: 100_000, refillPerSecond: 1 } } })
  })
  afterAll(async () => t?.close())

  const chains = async () =>
    (await t.services.store.db.selectFrom('audit_heads').select('instance_id').execute())
      .map((r) => r.instance_id)
      .sort()
  const eventCount = async () =>
    Number(
      (
        await t.services.store.db
          .selectFrom('audit_events')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    )

  it('a thousand refusals naming a thousand made-up instances leave the chains as they were', async () => {
    const before = await chains()
    const ids = Array.from({ length: 1000 }, madeUpInstanceId)
    for (let i = 0; i < ids.length; i += 50) {
      const answers = await Promise.all(
        ids.slice(i, i + 50).map((id) => call(t, 'GET', obtainAt(id), undefined, {})),
      )
      for (const answer of answers) expect(answer.status).toBe(401)
    }
    expect(await chains()).toEqual(before)
    // Each refusal is still audited once, in the system chain, naming the instance it was for.
    const recorded = await t.services.store.db
      .selectFrom('audit_events')
      .select('details')
      .where('instance_id', '=', 'system')
      .where('action', '=', 'pam.authenticate')
      .execute()
    const named = new Set(recorded.map((r) => (JSON.parse(r.details) as { instanceId?: string }).instanceId))
    for (const id of ids) expect(named.has(id)).toBe(true)
    expect((await verifyChain(t.services.store.db, 'system')).ok).toBe(true)
  })

  it('a refusal for an existing instance stays in its chain', async () => {
    const before = await t.services.store.db
      .selectFrom('audit_heads')
      .select('seq')
      .where('instance_id', '=', t.instanceId)
      .executeTakeFirstOrThrow()
    expect((await call(t, 'GET', obtainAt(t.instanceId), undefined, {})).status).toBe(401)
    const after = await t.services.store.db
      .selectFrom('audit_heads')
      .select('seq')
      .where('instance_id', '=', t.instanceId)
      .executeTakeFirstOrThrow()
    expect(Number(after.seq)).toBe(Number(before.seq) + 1)
  })

  // (A bare `..` is resolved away by `inject`'s URL parsing before it reaches the router.)
  it.each(['anything', 'system', '..%2Fzz', 'idaas_..%2F..%2F', '%00', `${madeUpInstanceId()}x`])(
    'a malformed instance id (%s) is a 400 naming it, and nothing is written',
    async (id) => {
      const [chainsBefore, eventsBefore] = [await chains(), await eventCount()]
      const refused = await call(t, 'GET', obtainAt(id), undefined, {})
      expect(refused.status).toBe(400)
      expect(refused.body).toMatchObject({ Code: 'InvalidParameter', field: 'instanceId' })
      expect(await chains()).toEqual(chainsBefore)
      expect(await eventCount()).toBe(eventsBefore)
    },
  )

  it('the token endpoint of a made-up instance creates no chain either', async () => {
    const before = await chains()
    const res = await t.app.inject({
      method: 'POST',
      url: `/v2/${madeUpInstanceId()}/authorizationServer/default/oauth2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials&client_id=nobody&client_secret=nothing',
    })
    expect(res.statusCode).toBeGreaterThanOrEqual(400)
    expect(res.statusCode).toBeLessThan(500)
    expect(await chains()).toEqual(before)
  })

  // A lone surrogate has no UTF-8 form: stored, it became other text than the hash covered, and one
  // unauthenticated request broke the instance's chain for good (verify, backup, restore and
  // archiving all refused it, and verify stopped there, hiding later edits).
  it('refusals carrying lone surrogates leave the chain verifiable', async () => {
    const token = (payload: string, headers: Record<string, string> = {}) =>
      t.app.inject({
        method: 'POST',
        url: `/v2/${t.instanceId}/authorizationServer/iauths_system/oauth2/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload,
      })
    // Cut in the middle of a pair by the 128-character limit on client ids, and the 256 on agents.
    const cut = `${'a'.repeat(127)}\u{1F600}`
    const basic = `Basic ${Buffer.from(`${cut}:nothing`).toString('base64')}`
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const assertion = `${b64({ alg: 'EdDSA' })}.${b64({ iss: 'evil\ud800', sub: 'evil\udfff' })}.AAAA`
    const answers = [
      await token('grant_type=client_credentials', { authorization: basic }),
      await token(
        new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: cut,
          client_secret: 'x',
        }).toString(),
      ),
      await token(
        new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }).toString(),
      ),
      await token('grant_type=client_credentials&client_id=x&client_secret=y', {
        'user-agent': `${'u'.repeat(255)}\u{1F600}`,
      }),
    ]
    for (const answer of answers) expect(answer.statusCode).toBe(401)
    const stored = await t.services.store.db
      .selectFrom('audit_events')
      .select(['actor_id', 'user_agent'])
      .where('instance_id', '=', t.instanceId)
      .orderBy('seq', 'desc')
      .limit(4)
      .execute()
    expect(stored.map((e) => e.actor_id)).toContain(`${'a'.repeat(127)}\ufffd`)
    expect(stored.map((e) => e.user_agent)).toContain(`${'u'.repeat(255)}\ufffd`)
    expect(await verifyChain(t.services.store.db, t.instanceId)).toMatchObject({ ok: true })
  })
})
