import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import { createWorkload, workloadCall } from './accounts-fixtures.js'
import {
  ALIBABA_ROLE,
  ALIBABA_SECRET,
  ALIBABA_UID,
  AWS_ACCOUNT,
  AWS_ROLE,
  AWS_SECRET,
  createCloudAccounts,
  grantRole,
  obtainPath,
  ScriptedSts,
  VENDED_SECRET_PREFIX,
  VENDED_TOKEN_PREFIX,
} from './cloud-fixtures.js'

describe.each(ENGINES)('cloud accounts and roles, administered (%s)', (engine) => {
  let t: TestServer
  const sts = new ScriptedSts(Date.now)
  let cloud: Awaited<ReturnType<typeof createCloudAccounts>>
  const i = () => `/admin/v1/instances/${t.instanceId}`
  const accounts = () => `${i()}/cloudAccounts`

  beforeAll(async () => {
    t = await openTestServer(engine, { sts })
    cloud = await createCloudAccounts(t)
  })
  afterAll(async () => t?.close())

  it('answers an account with a hint of its key, never the secret', async () => {
    expect(cloud.aws).toMatchObject({
      cloudAccountId: expect.stringMatching(/^ca_[0-9a-z]{26}$/),
      name: 'prod-aws',
      vendorType: 'aws',
      vendorAccountId: AWS_ACCOUNT,
      accessKeyIdHint: 'AKIA…MPLE',
      stsEndpoint: null,
      region: 'eu-west-1',
      status: 'enabled',
      keyVersion: 1,
    })
    const shown = await call(t, 'GET', `${accounts()}/${cloud.aws.cloudAccountId}`)
    const byName = await call(t, 'GET', `${accounts()}/prod-aws`)
    const listed = await call(t, 'GET', accounts())
    expect(byName.body).toEqual(shown.body)
    expect(listed.body.entities.map((a: { name: string }) => a.name).sort()).toEqual([
      'prod-alibaba',
      'prod-aws',
    ])
    const text = JSON.stringify([shown.body, listed.body])
    expect(text).not.toContain(AWS_SECRET)
    expect(text).not.toContain('accessKeySecret')
  })

  it.each([
    [{ vendorType: 'aws', vendorAccountId: '1234' }, 'vendorAccountId'],
    [{ vendorType: 'alibaba_cloud', vendorAccountId: '12' }, 'vendorAccountId'],
    [{ stsEndpoint: 'http://sts.example.com' }, 'stsEndpoint'],
    [{ stsEndpoint: 'https://sts.example.com/path' }, 'stsEndpoint'],
    [{ stsEndpoint: 'https://user:pw@sts.example.com' }, 'stsEndpoint'],
    [{ stsEndpoint: 'not a url at all' }, 'stsEndpoint'],
    [{ accessKeyId: 'AKIA-with-dash' }, 'accessKeyId'],
    [{ accessKeySecret: 'short' }, 'accessKeySecret'],
    [{ region: 'EU West' }, 'region'],
    [{ name: '../etc' }, 'name'],
    [{ vendorType: 'gcp' }, 'vendorType'],
  ])('refuses a cloud account with %j, naming %s', async (change, field) => {
    const res = await call(t, 'POST', accounts(), {
      name: 'bad-one',
      vendorType: 'aws',
      vendorAccountId: '111122223333',
      accessKeyId: 'AKIABADBADBAD',
      accessKeySecret: 'bad-secret-bad-secret',
      ...change,
    })
    expect(res.status).toBe(400)
    expect(`${res.body.Message}`).toContain(field)
    expect((await call(t, 'GET', `${accounts()}/bad-one`)).status).toBe(404)
  })

  it('refuses a second account of the same name with 409', async () => {
    const res = await call(t, 'POST', accounts(), {
      name: 'prod-aws',
      vendorType: 'aws',
      vendorAccountId: '111122223333',
      accessKeyId: 'AKIADUPLICATE1',
      accessKeySecret: 'dup-secret-dup-secret',
    })
    expect(res.status).toBe(409)
    expect(res.body.Code).toBe('CloudAccountNameExists')
  })

  it('accepts a loopback STS endpoint over plain http and puts it back to the default with null', async () => {
    const set = await call(t, 'PATCH', `${accounts()}/prod-alibaba`, { stsEndpoint: 'http://127.0.0.1:9/' })
    expect(set.status).toBe(200)
    expect(set.body.stsEndpoint).toBe('http://127.0.0.1:9')
    const reset = await call(t, 'PATCH', `${accounts()}/prod-alibaba`, {
      stsEndpoint: null,
      description: 'd',
    })
    expect(reset.body).toMatchObject({ stsEndpoint: null, description: 'd' })
  })

  it.each([
    [`arn:aws:iam::999999999999:role/x`, 'prod-aws', 'InvalidParameter.RoleExternalId'],
    [ALIBABA_ROLE, 'prod-aws', 'InvalidParameter.RoleExternalId'],
    [`acs:ram::${ALIBABA_UID}:role/has space`, 'prod-alibaba', 'InvalidParameter.RoleExternalId'],
    [AWS_ROLE.replace('deployer', 'other'), 'prod-aws', undefined],
  ])('checks a role ARN %s against account %s', async (arn, account, code) => {
    const res = await call(t, 'POST', `${accounts()}/${account}/roles`, { roleExternalId: arn })
    if (code === undefined) {
      expect(res.status).toBe(201)
      expect(res.body).toMatchObject({
        name: 'other',
        defaultDurationSeconds: 3600,
        maxDurationSeconds: 3600,
      })
    } else {
      expect(res.status).toBe(400)
      expect(res.body.Code).toBe(code)
      expect(res.body.Message).toContain('roleExternalId')
    }
  })

  it.each([
    [{ defaultDurationSeconds: 7200, maxDurationSeconds: 3600 }, 'defaultDurationSeconds'],
    [{ maxDurationSeconds: 43201 }, 'maxDurationSeconds'],
    [{ defaultDurationSeconds: 899 }, 'defaultDurationSeconds'],
    [{ sessionPolicy: 'not json' }, 'sessionPolicy'],
    [{ sessionPolicy: '[1]' }, 'sessionPolicy'],
    [{ externalId: 'x y' }, 'externalId'],
  ])('refuses a role with %j, naming %s', async (change, field) => {
    const res = await call(t, 'POST', `${accounts()}/prod-aws/roles`, {
      roleExternalId: `arn:aws:iam::${AWS_ACCOUNT}:role/refused`,
      ...change,
    })
    expect(res.status).toBe(400)
    expect(res.body.Message).toContain(field)
  })

  it('refuses an ExternalId on an Alibaba Cloud role, and a role added twice', async () => {
    const external = await call(t, 'POST', `${accounts()}/prod-alibaba/roles`, {
      roleExternalId: `acs:ram::${ALIBABA_UID}:role/other`,
      externalId: 'abc',
    })
    expect(external.status).toBe(400)
    expect(external.body.Message).toContain('externalId')
    const twice = await call(t, 'POST', `${accounts()}/prod-aws/roles`, { roleExternalId: AWS_ROLE })
    expect(twice.status).toBe(409)
    expect(twice.body.Code).toBe('CloudAccountRoleExists')
  })

  it('finds a role by id, name and ARN, updates it and removes it', async () => {
    const role = cloud.aws.role
    const roles = `${accounts()}/prod-aws/roles`
    for (const ref of [role.cloudAccountRoleId, 'deployer', encodeURIComponent(AWS_ROLE)]) {
      const shown = await call(t, 'GET', `${roles}/${ref}`)
      expect(shown.status).toBe(200)
      expect(shown.body.cloudAccountRoleId).toBe(role.cloudAccountRoleId)
    }
    expect((await call(t, 'GET', `${accounts()}/prod-alibaba/roles/deployer`)).status).toBe(404)
    const updated = await call(t, 'PATCH', `${roles}/deployer`, {
      maxDurationSeconds: 43200,
      externalId: null,
    })
    expect(updated.body).toMatchObject({ maxDurationSeconds: 43200, externalId: null })
    const tooLow = await call(t, 'PATCH', `${roles}/deployer`, { maxDurationSeconds: 900 })
    expect(tooLow.status).toBe(400)
    expect(tooLow.body.Message).toBe('maxDurationSeconds must be at least defaultDurationSeconds (3600)')

    const listed = await call(t, 'GET', roles)
    expect(listed.body.entities.map((r: { name: string }) => r.name)).toContain('deployer')

    const workload = await createWorkload(t, 'remover')
    await grantRole(t, workload.applicationId, AWS_ROLE)
    const token = await workload.token()
    expect((await workloadCall(t, token, 'GET', obtainPath(AWS_ROLE))).status).toBe(200)
    expect((await call(t, 'DELETE', `${roles}/deployer`)).status).toBe(204)
    const gone = await workloadCall(t, token, 'GET', obtainPath(AWS_ROLE))
    expect(gone.status).toBe(404)
    expect(gone.body.Code).toBe('CloudAccountRoleNotFound')
  })

  it.each([
    [{ resource: 'not-an-arn' }, 'resource'],
    [{ resource: 'arn:aws:iam::', resourceMatch: 'prefix' }, undefined],
    [{ resource: 'acs:ram::1/../', resourceMatch: 'prefix' }, 'resource'],
    [{ resource: 'cred_01h0000000000000000000000a' }, 'resource'],
  ])('checks a cloud_account_role grant on %j', async (change, field) => {
    const workload = await createWorkload(t, `granted-${Math.random().toString(36).slice(2)}`)
    const res = await call(t, 'POST', `${i()}/grants`, {
      applicationId: workload.applicationId,
      resourceType: 'cloud_account_role',
      actions: ['obtain'],
      ...change,
    })
    if (field === undefined) expect(res.status).toBe(201)
    else {
      expect(res.status).toBe(400)
      expect(res.body.Message).toContain(field)
    }
  })

  it('rotates the key to a new version, audited without the secret', async () => {
    const rotated = await call(t, 'POST', `${accounts()}/prod-alibaba/keys`, {
      accessKeyId: 'LTAIROTATEDROTATED',
      accessKeySecret: 'CANARY-rotated-alibaba-secret',
    })
    expect(rotated.status).toBe(201)
    expect(rotated.body).toMatchObject({ keyVersion: 2, accessKeyIdHint: 'LTAI…ATED' })
    const bad = await call(t, 'POST', `${accounts()}/prod-alibaba/keys`, { accessKeyId: 'LTAIX' })
    expect(bad.status).toBe(400)
    expect((await call(t, 'GET', `${accounts()}/prod-alibaba`)).body.keyVersion).toBe(2)
  })

  it('keeps every secret out of the audit log', async () => {
    const workload = await createWorkload(t, 'canary-reader')
    await grantRole(t, workload.applicationId, ALIBABA_ROLE)
    const vended = await workloadCall(t, await workload.token(), 'GET', obtainPath(ALIBABA_ROLE))
    expect(vended.status).toBe(200)
    const events = await t.services.store.db.selectFrom('audit_events').selectAll().execute()
    const text = JSON.stringify(events)
    for (const secret of [
      AWS_SECRET,
      ALIBABA_SECRET,
      'CANARY-rotated-alibaba-secret',
      VENDED_SECRET_PREFIX,
      VENDED_TOKEN_PREFIX,
    ])
      expect(text).not.toContain(secret)
    expect(text).toContain('cloud_account.rotate_key')
  })

  // The file-level check is SQLite's: PostgreSQL's files are the server's own.
  if (engine === 'sqlite')
    it('keeps every secret out of the database file and its WAL', async () => {
      const file = t.db.replace(/^sqlite:/, '')
      // Make sure the WAL holds the latest writes, and the file holds what was checkpointed.
      const names = readdirSync(dirname(file)).filter((n) => n.startsWith(file.split('/').at(-1)!))
      expect(names.some((n) => n.endsWith('-wal'))).toBe(true)
      for (const name of names) {
        const bytes = readFileSync(join(dirname(file), name))
        for (const secret of [
          AWS_SECRET,
          ALIBABA_SECRET,
          'CANARY-rotated-alibaba-secret',
          VENDED_SECRET_PREFIX,
        ])
          expect(bytes.includes(Buffer.from(secret)), `${secret} in ${name}`).toBe(false)
      }
    })
})
