// An operation that leaves the re-read of its workload's token to `authorize` (the hot path's
// `workloadState: 'with-grants'`) must not record a success without it: that would answer a
// token revoked while its request was under way. The unit fails instead, and nothing is written.
import { afterEach, describe, expect, it } from 'vitest'
import { auditedOperation } from '../../src/services/audited-operation.js'
import type { Caller, Workload } from '../../src/services.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

describe.each(ENGINES)('an audited operation on %s', (engine) => {
  let t: TestServer
  afterEach(async () => t?.close())

  const workload = {
    applicationId: 'app_unjudged',
    clientId: 'unjudged',
    scopes: new Set<string>(),
    tokenId: 'jti_unjudged',
    signingKid: 'kid_unjudged',
    claims: Object.freeze({ jti: 'jti_unjudged', client_id: 'unjudged' }),
  } as unknown as Workload
  const caller = (): Caller & { workload: Workload } =>
    ({
      actor: { type: 'application', id: workload.applicationId },
      instanceScope: t.instanceId,
      request: { requestId: null, sourceIp: null, userAgent: null },
      workload,
    }) as unknown as Caller & { workload: Workload }

  it('fails, writing nothing, when it records a success before its workload was judged', async () => {
    t = await openTestServer(engine)
    const db = t.services.store.db
    const count = async () =>
      Number(
        (
          await db
            .selectFrom('audit_events')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('instance_id', '=', t.instanceId)
            .executeTakeFirstOrThrow()
        ).n,
      )
    const before = await count()
    const event = { instanceId: t.instanceId, action: 'test.unjudged' }
    const run = auditedOperation(
      t.services,
      caller(),
      event,
      async (unit) => {
        await unit.trx.insertInto('meta').values({ key: 'unjudged', value: '1' }).execute()
        await unit.succeed()
        return 'answered'
      },
      { workloadState: 'with-grants' },
    )
    await expect(run).rejects.toThrow(/success before the workload's state was read in the unit/)
    expect(await count()).toBe(before)
    expect(await db.selectFrom('meta').select('key').where('key', '=', 'unjudged').execute()).toEqual([])
  })

  it('fails, writing nothing, when it answers without an event before its workload was judged', async () => {
    t = await openTestServer(engine)
    const run = auditedOperation(
      t.services,
      caller(),
      { instanceId: t.instanceId, action: 'test.unjudged' },
      async (unit) => {
        await unit.trx.insertInto('meta').values({ key: 'unjudged-answer', value: '1' }).execute()
        return 'answered'
      },
      { workloadState: 'with-grants' },
    )
    await expect(run).rejects.toThrow(/answered before the workload's state was read in the unit/)
    const db = t.services.store.db
    expect(await db.selectFrom('meta').select('key').where('key', '=', 'unjudged-answer').execute()).toEqual(
      [],
    )
  })

  it('judges the workload first in the unit by default: a token whose application is gone is refused', async () => {
    t = await openTestServer(engine)
    const event = { instanceId: t.instanceId, action: 'test.judged' }
    // The made-up token's application does not exist: judged in the unit, it is refused (401).
    const run = auditedOperation(t.services, caller(), event, async (unit) => {
      await unit.succeed()
      return 'answered'
    })
    await expect(run).rejects.toMatchObject({ code: 'InvalidToken' })
  })
})
