import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import { createWorkload, PAM, type TestWorkload, workloadCall } from './accounts-fixtures.js'
import {
  ALIBABA_ROLE,
  ALIBABA_SECRET,
  AWS_ROLE,
  AWS_SECRET,
  createCloudAccounts,
  grantRole,
  obtainPath,
  ScriptedSts,
  stsRefused,
  stsThrottled,
  stsTimeout,
  VENDED_SECRET_PREFIX,
  VENDED_TOKEN_PREFIX,
} from './cloud-fixtures.js'

const CLOUD_SCOPE = `${PAM}|cloud_account_role:obtain_access_credential`
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

describe.each(ENGINES)('ObtainCloudAccountRoleAccessCredential (%s)', (engine) => {
  let t: TestServer
  let clock = Date.UTC(2026, 11, 6, 12, 0, 0)
  const now = () => clock
  const sts = new ScriptedSts(now)
  let cloud: Awaited<ReturnType<typeof createCloudAccounts>>
  let granted: TestWorkload
  let ungranted: TestWorkload
  let token: string
  const i = () => `/admin/v1/instances/${t.instanceId}`

  beforeAll(async () => {
    t = await openTestServer(engine, {
      now,
      sts,
      app: { authFailures: { burst: 100_000, refillPerSecond: 1 } },
    })
    cloud = await createCloudAccounts(t)
    granted = await createWorkload(t, 'deploy-bot')
    ungranted = await createWorkload(t, 'nosy-bot')
    expect((await grantRole(t, granted.applicationId, AWS_ROLE)).status).toBe(201)
    expect((await grantRole(t, granted.applicationId, 'acs:ram::', true)).status).toBe(201)
  })
  afterAll(async () => t?.close())
  beforeEach(async () => {
    sts.failure = undefined
    // A new day: whatever the node held expired long ago (and so did the last access token).
    clock += 24 * 3600_000
    token = await granted.token(CLOUD_SCOPE)
  })

  const events = async (action = 'cloud_account_role.obtain_access_credential') =>
    (
      await t.services.store.db
        .selectFrom('audit_events')
        .select(['seq', 'action', 'outcome', 'details', 'resource_id'])
        .where('instance_id', '=', t.instanceId)
        .where('action', '=', action)
        .orderBy('seq')
        .execute()
    ).map((e) => ({ ...e, details: JSON.parse(e.details) as Record<string, unknown> }))

  it('vends AWS STS credentials in the vendor shape, with the role default duration, audited first', async () => {
    const before = (await events()).length
    const calls = sts.calls
    const res = await workloadCall(t, token, 'GET', obtainPath(AWS_ROLE))
    expect(res.status).toBe(200)
    expect(sts.calls).toBe(calls + 1)
    const request = sts.requests.at(-1)!
    expect(request).toMatchObject({
      vendor: 'aws',
      endpoint: 'https://sts.eu-west-1.amazonaws.com',
      region: 'eu-west-1',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      accessKeySecret: AWS_SECRET,
      roleArn: AWS_ROLE,
      roleSessionName: granted.clientId,
      durationSeconds: 3600,
      externalId: 'strongroom-test',
      policy: undefined,
    })
    const body = res.body
    expect(body).toMatchObject({
      cloudAccountId: cloud.aws.cloudAccountId,
      cloudAccountRoleExternalId: AWS_ROLE,
      cloudAccountRoleId: cloud.aws.role.cloudAccountRoleId,
      cloudAccountRoleName: 'deployer',
      cloudAccountVendorType: 'aws',
    })
    const credential = body.cloudAccountRoleAccessCredential
    expect(credential.alibabaCloudStsToken).toBeUndefined()
    expect(credential.awsStsToken).toMatchObject({
      accessKeyId: expect.stringMatching(/^STS\.TEMP/),
      secretAccessKey: expect.stringContaining(VENDED_SECRET_PREFIX),
      sessionToken: expect.stringContaining(VENDED_TOKEN_PREFIX),
      expiration: expect.stringMatching(ISO_SECONDS),
    })
    expect(credential.accessCredentialExpiresAt).toBe(Math.floor(clock / 1000) + 3600)
    expect(Date.parse(credential.awsStsToken.expiration) / 1000).toBe(credential.accessCredentialExpiresAt)

    const written = (await events()).slice(before)
    expect(written).toHaveLength(1)
    expect(written[0]).toMatchObject({ outcome: 'success', resource_id: cloud.aws.role.cloudAccountRoleId })
    expect(written[0]!.details).toMatchObject({
      roleExternalId: AWS_ROLE,
      cloudAccountId: cloud.aws.cloudAccountId,
      durationSeconds: 3600,
      assumedRoleId: expect.stringMatching(/^AROA/),
      reused: false,
      accessTokenId: expect.any(String),
    })
    const text = JSON.stringify(written)
    for (const secret of [
      AWS_SECRET,
      credential.awsStsToken.secretAccessKey,
      credential.awsStsToken.sessionToken,
    ])
      expect(text).not.toContain(secret)
  })

  it('vends Alibaba Cloud STS credentials through a prefix grant, with the session policy', async () => {
    const res = await workloadCall(t, token, 'GET', obtainPath(ALIBABA_ROLE, '900'))
    expect(res.status).toBe(200)
    expect(sts.requests.at(-1)).toMatchObject({
      vendor: 'alibaba_cloud',
      endpoint: 'https://sts.aliyuncs.com',
      accessKeySecret: ALIBABA_SECRET,
      durationSeconds: 900,
      policy: '{"Version":"1","Statement":[]}',
      externalId: undefined,
    })
    const credential = res.body.cloudAccountRoleAccessCredential
    expect(res.body.cloudAccountVendorType).toBe('alibaba_cloud')
    expect(credential.awsStsToken).toBeUndefined()
    expect(credential.alibabaCloudStsToken).toMatchObject({
      accessKeyId: expect.any(String),
      accessKeySecret: expect.stringContaining(VENDED_SECRET_PREFIX),
      securityToken: expect.stringContaining(VENDED_TOKEN_PREFIX),
      expiration: expect.stringMatching(ISO_SECONDS),
    })
  })

  it('accepts the IDaaS core SDKs default scope name, and two spaces after Bearer', async () => {
    const aliased = await granted.token(`${PAM}|cloud_account:obtain_access_credential`)
    const res = await t.app.inject({
      method: 'GET',
      url: `/v2/${t.instanceId}${obtainPath(AWS_ROLE)}`,
      headers: { authorization: `Bearer  ${aliased}` },
    })
    expect(res.statusCode).toBe(200)
  })

  it('shares one STS call among 100 concurrent cold callers, and reuses it until 15 minutes before expiry', async () => {
    const calls = sts.calls
    sts.hold()
    const pending = Array.from({ length: 100 }, () => workloadCall(t, token, 'GET', obtainPath(AWS_ROLE)))
    // Every request has reached the shared call before STS answers.
    await new Promise((go) => setTimeout(go, 300))
    sts.release()
    const answers = await Promise.all(pending)
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200))
    expect(sts.calls).toBe(calls + 1)
    const keyIds = new Set(
      answers.map((a) => a.body.cloudAccountRoleAccessCredential.awsStsToken.accessKeyId),
    )
    expect(keyIds.size).toBe(1)
    // Every caller got its own audit event, whoever made the STS call.
    const recent = (await events()).slice(-100)
    expect(recent.every((e) => e.outcome === 'success')).toBe(true)

    // 44 minutes later (16 left of 60): still reused, and audited as such.
    clock += 44 * 60_000
    const reused = await workloadCall(t, token, 'GET', obtainPath(AWS_ROLE))
    expect(reused.body.cloudAccountRoleAccessCredential.awsStsToken.accessKeyId).toBe([...keyIds][0])
    expect(sts.calls).toBe(calls + 1)
    expect((await events()).at(-1)!.details).toMatchObject({ reused: true })
    // One more minute: inside the window the consumer libraries refetch in, so a new STS call.
    clock += 60_000
    const fresh = await workloadCall(t, token, 'GET', obtainPath(AWS_ROLE))
    expect(fresh.body.cloudAccountRoleAccessCredential.awsStsToken.accessKeyId).not.toBe([...keyIds][0])
    expect(sts.calls).toBe(calls + 2)
  })

  it('keeps the credentials of different durations and applications apart', async () => {
    const calls = sts.calls
    await workloadCall(t, token, 'GET', obtainPath(AWS_ROLE, '900'))
    await workloadCall(t, token, 'GET', obtainPath(AWS_ROLE, '1800'))
    const other = await createWorkload(t, 'second-bot')
    await grantRole(t, other.applicationId, AWS_ROLE)
    await workloadCall(t, await other.token(CLOUD_SCOPE), 'GET', obtainPath(AWS_ROLE, '900'))
    expect(sts.calls).toBe(calls + 3)
    expect(sts.requests.at(-1)!.roleSessionName).toBe(other.clientId)
  })

  it('stops reusing credentials once the account key is rotated', async () => {
    const calls = sts.calls
    await workloadCall(t, token, 'GET', obtainPath(AWS_ROLE))
    const rotated = await call(t, 'POST', `${i()}/cloudAccounts/prod-aws/keys`, {
      accessKeyId: 'AKIAROTATEDKEY00001',
      accessKeySecret: 'rotated-secret-rotated',
    })
    expect(rotated.status).toBe(201)
    expect(rotated.body).toMatchObject({ keyVersion: 2, accessKeyIdHint: 'AKIA…0001' })
    await workloadCall(t, token, 'GET', obtainPath(AWS_ROLE))
    expect(sts.calls).toBe(calls + 2)
    expect(sts.requests.at(-1)).toMatchObject({
      accessKeyId: 'AKIAROTATEDKEY00001',
      accessKeySecret: 'rotated-secret-rotated',
    })
  })

  it('hands out nothing minted with a key rotated while STS was answering; the retry gets the new key', async () => {
    const calls = sts.calls
    sts.hold()
    const pending = workloadCall(t, token, 'GET', obtainPath(AWS_ROLE))
    await expect.poll(() => sts.calls).toBe(calls + 1)
    const rotated = await call(t, 'POST', `${i()}/cloudAccounts/prod-aws/keys`, {
      accessKeyId: 'AKIAROTATEDKEY00002',
      accessKeySecret: 'rotated-secret-during-sts',
    })
    expect(rotated.status).toBe(201)
    sts.release()
    const res = await pending
    expect(res.status).toBe(409)
    expect(res.body.Code).toBe('Conflict')
    expect(JSON.stringify(res.body)).not.toContain(VENDED_SECRET_PREFIX)
    const last = (await events()).at(-1)!
    expect(last).toMatchObject({ outcome: 'failure' })
    expect(last.details).toMatchObject({ why: 'changed_during_sts', code: 'Conflict' })
    const retried = await workloadCall(t, token, 'GET', obtainPath(AWS_ROLE))
    expect(retried.status).toBe(200)
    expect(sts.requests.at(-1)).toMatchObject({ accessKeyId: 'AKIAROTATEDKEY00002' })
  })

  it.each([
    ['refused', stsRefused, 502, 'StsRefused'],
    ['throttled', stsThrottled, 503, 'StsThrottled'],
    ['timed out', stsTimeout, 504, 'StsTimeout'],
  ] as const)(
    'answers an STS that %s with its own code, audits the failure and caches nothing',
    async (_, failure, status, code) => {
      sts.failure = failure()
      const calls = sts.calls
      const res = await t.app.inject({
        method: 'GET',
        url: `/v2/${t.instanceId}${obtainPath(AWS_ROLE)}`,
        headers: { authorization: `Bearer ${token}` },
      })
      expect(res.statusCode).toBe(status)
      expect(res.json().Code).toBe(code)
      if (code === 'StsThrottled') expect(res.headers['retry-after']).toBe('2')
      expect(res.body).not.toContain(AWS_SECRET)
      const last = (await events()).at(-1)!
      expect(last).toMatchObject({ outcome: 'failure' })
      expect(last.details).toMatchObject({ why: 'sts', code })
      sts.failure = undefined
      const retried = await workloadCall(t, token, 'GET', obtainPath(AWS_ROLE))
      expect(retried.status).toBe(200)
      expect(sts.calls).toBe(calls + 2)
    },
  )

  describe('refusals, each audited once and before any STS call', () => {
    const refusal = async (tokenFor: () => Promise<string>, path: string, status: number, code: string) => {
      const calls = sts.calls
      const before = (await events()).length
      const res = await workloadCall(t, await tokenFor(), 'GET', path)
      expect({ status: res.status, code: res.body.Code }).toEqual({ status, code })
      expect(sts.calls).toBe(calls)
      const written = (await events()).slice(before)
      expect(written).toHaveLength(1)
      expect(written[0]!.outcome).toBe('denied')
      expect(written[0]!.details).toMatchObject({ code, accessTokenId: expect.any(String) })
    }

    it('a token without the scope', async () => {
      await refusal(
        () => granted.token(`${PAM}|credential:obtain`),
        obtainPath(AWS_ROLE),
        403,
        'InsufficientScope',
      )
    })
    it('an application without a grant', async () => {
      await refusal(() => ungranted.token(CLOUD_SCOPE), obtainPath(AWS_ROLE), 403, 'PermissionDenied')
    })
    it('an unknown role, without a grant: the grant is checked before existence', async () => {
      const unknown = 'arn:aws:iam::123456789012:role/ghost'
      await refusal(() => Promise.resolve(token), obtainPath(unknown), 403, 'PermissionDenied')
    })
    it('an unknown role under a prefix grant', async () => {
      const unknown = 'acs:ram::1234567890123456:role/ghost'
      await refusal(() => Promise.resolve(token), obtainPath(unknown), 404, 'CloudAccountRoleNotFound')
    })
    it('a disabled role, then a disabled account', async () => {
      const role = `${i()}/cloudAccounts/prod-aws/roles/deployer`
      expect((await call(t, 'POST', `${role}/disable`)).status).toBe(200)
      await refusal(() => Promise.resolve(token), obtainPath(AWS_ROLE), 403, 'CloudAccountRoleDisabled')
      expect((await call(t, 'POST', `${role}/enable`)).status).toBe(200)
      expect((await call(t, 'POST', `${i()}/cloudAccounts/prod-aws/disable`)).status).toBe(200)
      await refusal(() => Promise.resolve(token), obtainPath(AWS_ROLE), 403, 'CloudAccountDisabled')
      expect((await call(t, 'POST', `${i()}/cloudAccounts/prod-aws/enable`)).status).toBe(200)
    })
    it('a duration above the role maximum', async () => {
      await refusal(
        () => Promise.resolve(token),
        obtainPath(AWS_ROLE, '7201'),
        400,
        'InvalidParameter.DurationSeconds',
      )
    })
    it('a role of another instance', async () => {
      const other = await call(t, 'POST', '/admin/v1/instances', { name: 'other-tenant' })
      const o = `/admin/v1/instances/${other.body.instanceId}`
      await call(t, 'POST', `${o}/cloudAccounts`, {
        name: 'theirs',
        vendorType: 'aws',
        vendorAccountId: '210987654321',
        accessKeyId: 'AKIATHEIRSTHEIRS',
        accessKeySecret: 'theirs-theirs-theirs',
      })
      const theirRole = 'arn:aws:iam::210987654321:role/admin'
      expect(
        (await call(t, 'POST', `${o}/cloudAccounts/theirs/roles`, { roleExternalId: theirRole })).status,
      ).toBe(201)
      // Granting the ARN in our instance does not reach their role: it does not exist here.
      await grantRole(t, granted.applicationId, theirRole)
      await refusal(() => Promise.resolve(token), obtainPath(theirRole), 404, 'CloudAccountRoleNotFound')
    })
  })

  it.each(['899', '43201', '1e3', '-900', '０９００', '3600.0', ''])(
    'refuses durationSeconds=%j with 400 naming the field, before any STS call',
    async (duration) => {
      const calls = sts.calls
      const res = await workloadCall(t, token, 'GET', obtainPath(AWS_ROLE, duration))
      expect(res.status).toBe(400)
      expect(res.body.Message).toContain('durationSeconds')
      expect(sts.calls).toBe(calls)
    },
  )

  it('refuses a missing or malformed cloudAccountRoleExternalId with 400', async () => {
    const missing = await workloadCall(t, token, 'GET', '/cloudAccountRoles/_/actions/obtainAccessCredential')
    expect(missing.status).toBe(400)
    expect(missing.body.Message).toContain('cloudAccountRoleExternalId')
  })
})
