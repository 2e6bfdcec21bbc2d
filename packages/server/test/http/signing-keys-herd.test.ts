// Where other processes share the database, a node re-reads an instance's signing keys when its
// copy is a second old (a key revoked through another node must stop vouching at once). Every
// verification in flight at that moment read the table itself (a reviewer: 64 requests, 64 reads,
// each second); they now share one read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyAccessToken } from '../../src/oauth/access-tokens.js'
import { call, openTestServer, type TestServer } from '../support/engines.js'

const PAM = 'urn:cloud:idaas:pam'

describe('signing keys read again under load (PostgreSQL)', () => {
  let t: TestServer
  let now = 1_800_000_000_000
  beforeAll(async () => {
    t = await openTestServer('postgres', { now: () => now })
  })
  afterAll(async () => t?.close())

  it('shares one read among the verifications that find the copy too old', async () => {
    expect(t.services.changes.solitary).toBe(false)
    const i = `/admin/v1/instances/${t.instanceId}`
    const app = (await call(t, 'POST', `${i}/applications`, { name: 'herd', allowedScopes: [`${PAM}|.all`] }))
      .body
    const secret = (await call(t, 'POST', `${i}/applications/${app.applicationId}/client-secrets`, {})).body
    const base = `/v2/${t.instanceId}/authorizationServer/iauths_system`
    const minted = await t.app.inject({
      method: 'POST',
      url: `${base}/oauth2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: secret.clientSecret,
      }).toString(),
    })
    const token = minted.json().access_token as string
    const issuer = `${t.services.publicUrl}${base}`
    const verify = () =>
      verifyAccessToken(t.services, t.services.signingKeys, token, {
        instanceId: t.instanceId,
        issuer,
        audience: PAM,
      })
    await verify()
    for (let round = 0; round < 3; round++) {
      now += 1_500
      const before = t.services.signingKeys.cacheStats.misses
      await Promise.all(Array.from({ length: 64 }, verify))
      expect(t.services.signingKeys.cacheStats.misses - before, `round ${round}`).toBe(1)
    }
  })
})
