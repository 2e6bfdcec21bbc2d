import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintSecret } from '../../src/crypto/minted-secret.js'
import { call, openTestServer, type TestServer } from '../support/engines.js'

describe('failed admin authentications', () => {
  let t: TestServer
  let now = 1_800_000_000_000
  beforeAll(async () => {
    t = await openTestServer('sqlite', {
      now: () => now,
      app: { authFailures: { burst: 5, refillPerSecond: 0.5 } },
    })
  })
  afterAll(async () => t?.close())

  it('are throttled per address with 429 and Retry-After, audited once, and forgiven over time', async () => {
    const bad = { authorization: `Bearer ${mintSecret('srat_')}` }
    for (let i = 0; i < 5; i++)
      expect((await call(t, 'GET', '/admin/v1/whoami', undefined, bad)).status).toBe(401)
    for (const headers of [bad, t.auth]) {
      // Even a valid token waits: the address is refused before any lookup.
      const refused = await call(t, 'GET', '/admin/v1/whoami', undefined, headers)
      expect(refused.status).toBe(429)
      expect(refused.body).toMatchObject({ Code: 'Throttling.User', error: 'slow_down' })
      expect(refused.headers['retry-after']).toBe('2')
      expect(refused.headers['x-acs-retry-after']).toBe('2000')
    }
    now += 2000
    expect((await call(t, 'GET', '/admin/v1/whoami')).status).toBe(200)
    const events = await call(t, 'GET', '/admin/v1/instances/system/audit/events?action=admin.authenticate')
    expect(events.body.entities.map((e: { outcome: string }) => e.outcome)).toEqual([
      'failure',
      'failure',
      'failure',
      'failure',
      'failure',
      'denied',
    ])
  })
})
