import { IDENTIFIER_PREFIX_RULE, IDENTIFIER_RULE } from '@strongroom/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { grantsAllow } from '../../src/services/grants/grants.js'
import { call, openTestServer, type TestServer } from '../support/engines.js'
import { createWorkload, type TestWorkload, workloadCall } from './accounts-fixtures.js'

const ESCAPING = ['a/../../b', 'a/./b', 'a//b', 'a/', 'a/..', 'a/.', '/a', 'a/b/..']

describe('the identifier grammar of credentials and providers', () => {
  let t: TestServer
  let workload: TestWorkload
  const i = () => `/admin/v1/instances/${t.instanceId}`
  const createCredential = (credentialIdentifier: string) =>
    call(t, 'POST', `${i()}/credentials`, {
      credentialIdentifier,
      credentialType: 'api_key',
      value: { apiKey: 'grammar-value' },
    })
  const grant = (resourceType: string, resource: string, resourceMatch: 'exact' | 'prefix') =>
    call(t, 'POST', `${i()}/grants`, {
      applicationId: workload.applicationId,
      resourceType,
      resourceMatch,
      resource,
      actions: ['obtain', 'use'],
    })
  beforeAll(async () => {
    t = await openTestServer('sqlite')
    workload = await createWorkload(t, 'grammar')
  })
  afterAll(async () => t?.close())

  it('refuses an identifier with an empty, "." or ".." segment when a credential or provider is created', async () => {
    for (const identifier of ESCAPING) {
      const res = await createCredential(identifier)
      expect(res.status, identifier).toBe(400)
      expect(res.body).toMatchObject({ field: 'credentialIdentifier', rule: IDENTIFIER_RULE })
      const provider = await call(t, 'POST', `${i()}/credential-providers`, {
        credentialProviderIdentifier: identifier,
        credentialProviderType: 'jwt',
      })
      expect(provider.status, identifier).toBe(400)
      expect(provider.body).toMatchObject({ field: 'credentialProviderIdentifier', rule: IDENTIFIER_RULE })
    }
    // Segments that merely start with dots, and every character the grammar allows, are fine.
    for (const identifier of ['a/.cache', 'a/..b', 'team:x/db_1.prod-2/key']) {
      expect((await createCredential(identifier)).status, identifier).toBe(201)
    }
  })

  it('answers a lookup by an identifier outside the grammar with 400, not 404', async () => {
    const path = await call(t, 'GET', `${i()}/credentials/${encodeURIComponent('a/../../b')}`)
    expect(path.status).toBe(400)
    expect(path.body).toMatchObject({ field: 'credential', Code: 'InvalidParameter' })
    expect(path.body.rule).toContain('no empty, "." or ".." segment')
    const provider = await call(t, 'GET', `${i()}/credential-providers/${encodeURIComponent('a//b')}`)
    expect(provider.body).toMatchObject({ field: 'provider' })
    expect((await call(t, 'GET', `${i()}/credentials/${encodeURIComponent('no/such')}`)).status).toBe(404)

    const token = await workload.token()
    const obtain = await workloadCall(
      t,
      token,
      'GET',
      `/credentials/_/actions/obtain?credentialIdentifier=${encodeURIComponent('a/../../b')}`,
    )
    expect(obtain.status).toBe(400)
    expect(obtain.body).toMatchObject({ field: 'credentialIdentifier', rule: IDENTIFIER_RULE })
    const jwt = await workloadCall(t, token, 'POST', '/authenticationTokens/_/actions/generateJwt', {
      credentialProviderIdentifier: 'x/./y',
      subject: 's',
      audiences: ['a'],
    })
    expect(jwt.status).toBe(400)
    expect(jwt.body).toMatchObject({ field: 'credentialProviderIdentifier' })
  })

  it('refuses grants and list prefixes that no identifier in the grammar could match', async () => {
    for (const resourceType of ['credential', 'credential_provider']) {
      for (const prefix of ['a/../', 'a//', '/a', 'a/./b']) {
        const res = await grant(resourceType, prefix, 'prefix')
        expect(res.status, `${resourceType} ${prefix}`).toBe(400)
        expect(res.body).toMatchObject({ field: 'resource', rule: IDENTIFIER_PREFIX_RULE })
      }
      for (const exact of ['a/../b', 'a/']) {
        const res = await grant(resourceType, exact, 'exact')
        expect(res.status, `${resourceType} ${exact}`).toBe(400)
        expect(res.body.field).toBe('resource')
      }
      for (const prefix of ['a/', 'a/.', 'a/..', 'a'])
        expect((await grant(resourceType, prefix, 'prefix')).status).toBe(201)
    }
    const list = await call(t, 'GET', `${i()}/credentials?identifierPrefix=${encodeURIComponent('a/../')}`)
    expect(list.status).toBe(400)
    expect(list.body).toMatchObject({ field: 'identifierPrefix', rule: IDENTIFIER_PREFIX_RULE })
    const listed = await call(t, 'GET', `${i()}/credentials?identifierPrefix=${encodeURIComponent('a/.')}`)
    expect(listed.body.entities.map((c: { credentialIdentifier: string }) => c.credentialIdentifier)).toEqual(
      ['a/.cache', 'a/..b'],
    )
  })

  it('never lets a prefix grant reach an identifier stored before the grammar, even one it starts', async () => {
    // As an older server would have stored it: written past today's checks, straight to the table.
    const created = await createCredential('a/legacy')
    await t.services.store.db
      .updateTable('credentials')
      .set({ identifier: 'a/../../b' })
      .where('id', '=', created.body.credentialId)
      .execute()
    const granted = await grant('credential', 'a/', 'prefix')
    expect(granted.status).toBe(201)
    const token = await workload.token()
    const obtain = (identifier: string) =>
      workloadCall(
        t,
        token,
        'GET',
        `/credentials/_/actions/obtain?credentialIdentifier=${encodeURIComponent(identifier)}`,
      )
    expect((await obtain('a/../../b')).status).toBe(400)
    expect((await obtain('a/.cache')).status).toBe(200)
    // And the matching rule itself refuses it, whichever caller hands it such a name.
    const rows = [{ resource_match: 'prefix' as const, resource: 'a/', actions: 'obtain' }]
    expect(grantsAllow(rows, { id: created.body.credentialId, identifier: 'a/../../b' }, 'obtain')).toBe(
      false,
    )
    expect(grantsAllow(rows, { id: 'cred_x', identifier: 'a/.cache' }, 'obtain')).toBe(true)
    // Administrators still reach it by its id, to disable or inspect it.
    expect(
      (await call(t, 'GET', `${i()}/credentials/${created.body.credentialId}`)).body.credentialIdentifier,
    ).toBe('a/../../b')
  })
})
