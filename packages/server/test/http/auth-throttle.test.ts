import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintSecret } from '../../src/crypto/minted-secret.js'
import { call, openTestServer, type TestServer } from '../support/engines.js'
import { createWorkload } from './accounts-fixtures.js'

describe('failed authentications', () => {
  let t: TestServer
  let now = 1_800_000_000_000
  let workloadToken: string
  const bad = { authorization: `Bearer ${mintSecret('srat_')}` }
  beforeAll(async () => {
    t = await openTestServer('sqlite', {
      now: () => now,
      app: { authFailures: { burst: 5, refillPerSecond: 0.5 } },
    })
    const workload = await createWorkload(t, 'w')
    await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/credentials`, {
      credentialIdentifier: 'throttle/key',
      credentialType: 'api_key',
      value: { apiKey: 'throttle-value' },
    })
    await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/grants`, {
      applicationId: workload.applicationId,
      resourceType: 'credential',
      resource: 'throttle/key',
      actions: ['obtain'],
    })
    workloadToken = await workload.token()
  })
  afterAll(async () => t?.close())

  const obtain = (headers: Record<string, string>) =>
    call(
      t,
      'GET',
      `/v2/${t.instanceId}/credentials/_/actions/obtain?credentialIdentifier=throttle/key`,
      undefined,
      headers,
    )

  it('are throttled per address with 429 and Retry-After, audited once, and forgiven over time', async () => {
    for (let i = 0; i < 5; i++)
      expect((await call(t, 'GET', '/admin/v1/whoami', undefined, bad)).status).toBe(401)
    for (let i = 0; i < 45; i++) {
      const refused = await call(t, 'GET', '/admin/v1/whoami', undefined, bad)
      expect(refused.status).toBe(429)
      expect(refused.body).toMatchObject({ Code: 'Throttling.User', error: 'slow_down' })
      expect(refused.headers['retry-after']).toBe('2')
      expect(refused.headers['x-acs-retry-after']).toBe('2000')
    }
    now += 2000
    expect((await call(t, 'GET', '/admin/v1/whoami', undefined, bad)).status).toBe(401)
    const events = await call(t, 'GET', '/admin/v1/instances/system/audit/events?action=admin.authenticate')
    // Five failures, one event for becoming throttled, nothing for the 45 refused while throttled,
    // then the failure after the wait, which spends the one failure earned back and throttles again.
    expect(events.body.entities.map((e: { outcome: string }) => e.outcome)).toEqual([
      'failure',
      'failure',
      'failure',
      'failure',
      'failure',
      'denied',
      'failure',
      'denied',
    ])
  })

  it('never refuse a token that works: after 50 failures from an address, its valid tokens are served', async () => {
    now += 60_000
    for (let i = 0; i < 50; i++) {
      expect([401, 429]).toContain((await call(t, 'GET', '/admin/v1/whoami', undefined, bad)).status)
      expect([401, 429]).toContain((await obtain(bad)).status)
    }
    expect((await call(t, 'GET', '/admin/v1/whoami', undefined, bad)).status).toBe(429)
    expect((await obtain(bad)).status).toBe(429)
    expect((await call(t, 'GET', '/admin/v1/whoami')).status).toBe(200)
    const served = await obtain({ authorization: `Bearer ${workloadToken}` })
    expect(served.status).toBe(200)
    expect(served.body.credentialContent.apiKeyContent.apiKey).toBe('throttle-value')
  })

  it('keep one counter per surface: bad admin tokens do not throttle the developer API', async () => {
    now += 60_000
    for (let i = 0; i < 10; i++) await call(t, 'GET', '/admin/v1/whoami', undefined, bad)
    expect((await call(t, 'GET', '/admin/v1/whoami', undefined, bad)).status).toBe(429)
    // The developer API's first failure from the same address is a plain 401.
    expect((await obtain(bad)).status).toBe(401)
  })

  it('audit a throttled address on the developer API once, not once per refusal', async () => {
    now += 60_000
    const count = async () =>
      (
        await t.services.store.db
          .selectFrom('audit_events')
          .select(['instance_id', 'outcome'])
          .where('action', '=', 'pam.authenticate')
          .execute()
      ).length
    const before = await count()
    for (let i = 0; i < 5; i++) expect((await obtain(bad)).status).toBe(401)
    for (let i = 0; i < 40; i++) expect((await obtain(bad)).status).toBe(429)
    // Five failures, and one 'denied' event in the system chain when the address became throttled.
    expect((await count()) - before).toBe(6)
    const throttled = await t.services.store.db
      .selectFrom('audit_events')
      .select('details')
      .where('instance_id', '=', 'system')
      .where('action', '=', 'pam.authenticate')
      .where('outcome', '=', 'denied')
      .execute()
    expect(throttled.map((e) => JSON.parse(e.details))).toContainEqual({ why: 'throttled' })
  })
})
