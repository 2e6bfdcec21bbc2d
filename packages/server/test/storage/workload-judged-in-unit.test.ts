// Every retrieval that leaves the re-read of its token's state to `authorize` (ObtainCredential,
// the account retrievals, cloud credentials: `workloadState: 'with-grants'`) refuses a token
// revoked after its request was authenticated, as the unit did when it read the state first: 401
// for the revocation, before any grant, existence or scope is judged, with the refusal audited.
import { afterEach, describe, expect, it } from 'vitest'
import { authenticateWorkload } from '../../src/oauth/authenticate-workload.js'
import { obtainPassword, obtainSshKey } from '../../src/services/accounts/obtain-account-secret.js'
import { obtainCloudAccessCredential } from '../../src/services/cloud-accounts/obtain-access-credential.js'
import { obtainCredential } from '../../src/services/credentials/obtain-credential.js'
import type { Caller, Workload } from '../../src/services.js'
import { createWorkload, PAM } from '../http/accounts-fixtures.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

describe.each(ENGINES)('a token revoked after its request was authenticated, on %s', (engine) => {
  let t: TestServer
  afterEach(async () => t?.close())

  /** A caller authenticated as the developer API authenticates one, with a token of `scope`. */
  async function callerWith(scope: string) {
    const w = await createWorkload(t, `judged-${scope.length}-${Math.random()}`)
    const token = await w.token(scope)
    const request = { requestId: null, sourceIp: '127.0.0.1', userAgent: null }
    const workload = await authenticateWorkload(
      t.services,
      t.instanceId,
      { scheme: 'Bearer', token },
      request,
      { proof: undefined, method: 'GET', url: '/' },
    )
    const caller: Caller & { workload: Workload } = {
      actor: { type: 'application', id: workload.applicationId },
      instanceScope: t.instanceId,
      request,
      workload,
    }
    const revoke = async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v2/${t.instanceId}/authorizationServer/iauths_system/oauth2/revoke`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ token, client_id: w.clientId, client_secret: w.secret }).toString(),
      })
      expect(res.statusCode).toBe(200)
    }
    return { caller, revoke, tokenId: workload.tokenId }
  }

  const operations: [string, (caller: Caller & { workload: Workload }) => Promise<unknown>][] = [
    ['ObtainCredential', (c) => obtainCredential(t.services, c, t.instanceId, 'nothing/granted')],
    ['ObtainPassword', (c) => obtainPassword(t.services, c, t.instanceId, { accountName: 'nobody' })],
    ['ObtainSshKey', (c) => obtainSshKey(t.services, c, t.instanceId, { accountName: 'nobody' })],
    [
      'ObtainCloudAccessCredential',
      (c) =>
        obtainCloudAccessCredential(t.services, c, t.instanceId, {
          cloudAccountRoleExternalId: 'acs:ram::1234567890123456:role/nobody',
        }),
    ],
  ]

  for (const [name, operation] of operations) {
    it(`${name}: 401 for the revocation, audited, whatever else the request lacks`, async () => {
      t = await openTestServer(engine)
      // A token with no scope the operation needs, naming nothing granted: only the revocation
      // is judged, since it is judged first.
      const { caller, revoke, tokenId } = await callerWith(`${PAM}|authentication_token:read`)
      await expect(operation(caller)).rejects.toMatchObject({ code: 'InsufficientScope' })
      await revoke()
      await expect(operation(caller)).rejects.toMatchObject({
        code: 'InvalidToken',
        message: expect.stringContaining('the access token has been revoked'),
      })
      const last = await t.services.store.db
        .selectFrom('audit_events')
        .select(['outcome', 'details'])
        .where('instance_id', '=', t.instanceId)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirstOrThrow()
      expect(last.outcome).toBe('denied')
      expect(JSON.parse(last.details)).toMatchObject({ accessTokenId: tokenId, code: 'InvalidToken' })
    })
  }
})
