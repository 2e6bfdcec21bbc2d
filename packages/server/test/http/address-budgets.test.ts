// An address's failure budget: an IPv6 client is routinely given a whole /64, so keyed by full
// address it had 2^64 fresh budgets. The throttles of addresses key IPv6 by its /64, and an
// IPv4-mapped address by its IPv4 address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addressKey } from '../../src/http/address-key.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

describe('addressKey', () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2::a', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff:0:0:1', '2001:db8:1:2::/64'],
    ['[2001:db8:1:2::a]', '2001:db8:1:2::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['2001:db8::1.2.3.4', '2001:db8:0:0::/64'],
    ['unknown', 'unknown'],
  ])('keys %s as %s', (address, key) => {
    expect(addressKey(address)).toBe(key)
  })
})

describe.each(ENGINES)('address budgets on %s', (engine) => {
  let t: TestServer
  beforeAll(async () => {
    t = await openTestServer(engine, { app: { authFailures: { burst: 3, refillPerSecond: 0.001 } } })
  })
  afterAll(async () => t?.close())

  const attempt = (remoteAddress: string) =>
    t.app.inject({
      method: 'GET',
      url: `/v2/${t.instanceId}/credentials/_/actions/obtain?credentialIdentifier=a`,
      headers: { authorization: 'Bearer not-a-token' },
      remoteAddress,
    })

  it('spends one budget for every address of an IPv6 /64, and another for the next /64', async () => {
    for (const host of ['a', 'b', 'c']) expect((await attempt(`2001:db8:1:2::${host}`)).statusCode).toBe(401)
    expect((await attempt('2001:db8:1:2::d')).statusCode).toBe(429)
    expect((await attempt('2001:db8:1:2:ffff:ffff:ffff:ffff')).statusCode).toBe(429)
    expect((await attempt('2001:db8:1:3::a')).statusCode).toBe(401)
  })

  it('spends an IPv4 address’s budget from its IPv4-mapped form too', async () => {
    for (let n = 0; n < 3; n++) expect((await attempt('192.0.2.9')).statusCode).toBe(401)
    expect((await attempt('::ffff:192.0.2.9')).statusCode).toBe(429)
  })

  // The failure was counted after the refusal was audited: attempts in flight together were all
  // audited before any was counted (a reviewer's 64 connections, 152 events for a budget of 30).
  it('audits no more refusals than the budget, however many arrive at once', async () => {
    const address = '198.51.100.23'
    const answers = await Promise.all(Array.from({ length: 64 }, () => attempt(address)))
    expect(answers.filter((a) => a.statusCode === 401)).toHaveLength(3)
    expect(answers.filter((a) => a.statusCode === 429)).toHaveLength(61)
    const events = await t.services.store.db
      .selectFrom('audit_events')
      .select(['outcome', 'details'])
      .where('action', '=', 'pam.authenticate')
      .where('source_ip', '=', address)
      .execute()
    expect(events.filter((e) => e.outcome === 'failure')).toHaveLength(3)
    expect(events.filter((e) => e.outcome === 'denied')).toHaveLength(1)
  })

  // Routes anyone may call parsed up to the global 256 KiB before any budget was spent: a
  // reviewer's 250 KB bodies cost 16 ms of CPU each, unauthenticated.
  it('refuses a body past its smaller limit on the routes anyone may call', async () => {
    const big = JSON.stringify({ token: 'x'.repeat(40 * 1024) })
    const validate = await t.app.inject({
      method: 'POST',
      url: `/v2/${t.instanceId}/authenticationTokens/_/actions/validate`,
      headers: { 'content-type': 'application/json' },
      payload: big,
      remoteAddress: '203.0.113.50',
    })
    expect(validate.statusCode).toBe(413)
    const form = await t.app.inject({
      method: 'POST',
      url: `/v2/${t.instanceId}/authorizationServer/iauths_system/oauth2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&x=${'y'.repeat(70 * 1024)}`,
      remoteAddress: '203.0.113.51',
    })
    expect(form.statusCode).toBe(413)
    // The same 40 KiB to a route that authenticates first is a 401 (no token), not a 413.
    const authenticated = await t.app.inject({
      method: 'POST',
      url: `/v2/${t.instanceId}/authenticationTokens/_/actions/obtainJwt`,
      headers: { 'content-type': 'application/json' },
      payload: big,
      remoteAddress: '203.0.113.52',
    })
    expect(authenticated.statusCode).toBe(401)
  })

  // The OAuth endpoints checked the address's budget before the work and spent it after, and
  // decided whether to audit before either: 64 bad attempts at once were all audited (a
  // reviewer's PostgreSQL run: 35 answered 401, all 64 written).
  it('lets through and audits no more failed client authentications than the budget at the token endpoint', async () => {
    const address = '198.51.100.77'
    const attempts = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        t.app.inject({
          method: 'POST',
          url: `/v2/${t.instanceId}/authorizationServer/iauths_system/oauth2/token`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: `grant_type=client_credentials&client_id=app_nobody${i}&client_secret=srcs_wrong`,
          remoteAddress: address,
        }),
      ),
    )
    expect(attempts.filter((a) => a.statusCode === 401)).toHaveLength(3)
    expect(attempts.filter((a) => a.statusCode === 429)).toHaveLength(61)
    const events = await t.services.store.db
      .selectFrom('audit_events')
      .select('outcome')
      .where('action', '=', 'oauth.token')
      .where('source_ip', '=', address)
      .execute()
    expect(events).toHaveLength(3)
  })
})
