import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import { createWorkload, type TestWorkload } from './accounts-fixtures.js'

describe.each(ENGINES)('who can read a credential or an account, on %s', (engine) => {
  let t: TestServer
  let i: string
  let credentialId: string
  const apps: Record<string, TestWorkload> = {}
  const grant = async (
    app: string,
    resourceType: string,
    resource: string,
    actions: string[],
    resourceMatch = 'exact',
  ) =>
    (
      await call(t, 'POST', `${i}/grants`, {
        applicationId: apps[app]!.applicationId,
        resourceType,
        resource,
        resourceMatch,
        actions,
      })
    ).body.grantId as string
  const grantIds: Record<string, string> = {}

  beforeAll(async () => {
    t = await openTestServer(engine)
    i = `/admin/v1/instances/${t.instanceId}`
    credentialId = (
      await call(t, 'POST', `${i}/credentials`, {
        credentialIdentifier: 'team/db-password',
        credentialType: 'api_key',
        value: { apiKey: 'readers-value' },
      })
    ).body.credentialId
    await call(t, 'POST', `${i}/accounts`, { accountName: 'DB-SERVER/admin', password: 'account-value' })
    for (const name of [
      'by-id',
      'by-name',
      'by-prefix',
      'by-short-prefix',
      'two-grants',
      'disabled',
      'other-prefix',
      'read-only',
      'account-only',
    ]) {
      apps[name] = await createWorkload(t, name)
    }
    grantIds.byId = await grant('by-id', 'credential', credentialId, ['obtain'])
    grantIds.byName = await grant('by-name', 'credential', 'team/db-password', ['manage', 'obtain'])
    grantIds.byPrefix = await grant('by-prefix', 'credential', 'team/', ['obtain'], 'prefix')
    // A prefix is the start of the identifier, not of a segment: `team/db` covers `team/db-password`.
    grantIds.byShortPrefix = await grant('by-short-prefix', 'credential', 'team/db', ['obtain'], 'prefix')
    grantIds.twoA = await grant('two-grants', 'credential', 'team/', ['obtain', 'read'], 'prefix')
    grantIds.twoB = await grant('two-grants', 'credential', credentialId, ['obtain'])
    grantIds.disabled = await grant('disabled', 'credential', 'team/db-password', ['obtain'])
    await call(t, 'POST', `${i}/applications/${apps.disabled!.applicationId}/disable`)
    // None of these lets its application obtain the credential.
    await grant('other-prefix', 'credential', 'team/dbx', ['obtain'], 'prefix')
    await grant('other-prefix', 'credential', 'other/', ['obtain'], 'prefix')
    await grant('read-only', 'credential', 'team/db-password', ['read', 'manage'])
    await grant('account-only', 'account', 'team/', ['obtain'], 'prefix')
    grantIds.accountExact = await grant('account-only', 'account', 'DB-SERVER/admin', ['obtain'])
    grantIds.accountPrefix = await grant('by-prefix', 'account', 'DB-SERVER/', ['obtain'], 'prefix')
    await grant('other-prefix', 'account', 'WEB-SERVER/', ['obtain'], 'prefix')
  })
  afterAll(async () => t?.close())

  it('lists the applications whose grants cover the credential by id, by identifier or by prefix, with those grants', async () => {
    const res = await call(t, 'GET', `${i}/credentials/team%2Fdb-password/readers`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      resourceType: 'credential',
      resourceId: credentialId,
      resourceName: 'team/db-password',
      truncated: false,
    })
    const byName = Object.fromEntries(
      res.body.readers.map((r: { applicationName: string }) => [r.applicationName, r]),
    )
    expect(Object.keys(byName).sort()).toEqual([
      'by-id',
      'by-name',
      'by-prefix',
      'by-short-prefix',
      'disabled',
      'two-grants',
    ])
    expect(byName['by-name']).toEqual({
      applicationId: apps['by-name']!.applicationId,
      applicationName: 'by-name',
      clientId: apps['by-name']!.clientId,
      applicationStatus: 'enabled',
      grants: [
        {
          grantId: grantIds.byName,
          resourceMatch: 'exact',
          resource: 'team/db-password',
          actions: ['manage', 'obtain'],
        },
      ],
    })
    expect(byName['by-prefix'].grants).toEqual([
      { grantId: grantIds.byPrefix, resourceMatch: 'prefix', resource: 'team/', actions: ['obtain'] },
    ])
    expect(byName['by-id'].grants[0].grantId).toBe(grantIds.byId)
    expect(byName['by-short-prefix'].grants[0].grantId).toBe(grantIds.byShortPrefix)
    expect(byName['two-grants'].grants.map((g: { grantId: string }) => g.grantId)).toEqual([
      grantIds.twoA,
      grantIds.twoB,
    ])
    expect(byName.disabled.applicationStatus).toBe('disabled')
    // By id answers the same.
    expect((await call(t, 'GET', `${i}/credentials/${credentialId}/readers`)).body).toEqual(res.body)
  })

  it('agrees with the developer API: exactly the enabled readers can obtain the credential', async () => {
    const readers = (await call(t, 'GET', `${i}/credentials/${credentialId}/readers`)).body.readers.map(
      (r: { applicationId: string }) => r.applicationId,
    )
    for (const [name, app] of Object.entries(apps)) {
      if (name === 'disabled') continue
      const obtained = await call(
        t,
        'GET',
        `/v2/${t.instanceId}/credentials/_/actions/obtain?credentialIdentifier=team/db-password`,
        undefined,
        { authorization: `Bearer ${await app.token()}` },
      )
      expect(obtained.status === 200, name).toBe(readers.includes(app.applicationId))
    }
  })

  it('lists the readers of an account by its name or prefix, and answers 404 for what does not exist', async () => {
    const res = await call(t, 'GET', `${i}/accounts/DB-SERVER%2Fadmin/readers`)
    expect(res.status).toBe(200)
    expect(res.body.resourceType).toBe('account')
    expect(res.body.resourceName).toBe('DB-SERVER/admin')
    expect(
      res.body.readers.map((r: { applicationName: string; grants: { grantId: string }[] }) => [
        r.applicationName,
        r.grants.map((g) => g.grantId),
      ]),
    ).toEqual([
      ['account-only', [grantIds.accountExact]],
      ['by-prefix', [grantIds.accountPrefix]],
    ])
    const missing = await call(t, 'GET', `${i}/credentials/team%2Fnone/readers`)
    expect(missing.status).toBe(404)
    expect(missing.body.Code).toBe('CredentialNotFound')
    expect((await call(t, 'GET', `${i}/accounts/NOPE%2Fnone/readers`)).body.Code).toBe('AccountNotFound')
    expect((await call(t, 'GET', `${i}/credentials/team%2Fdb-password/readers`, undefined, {})).status).toBe(
      401,
    )
  })
})
