// Shared by the cloud credential tests: a scripted STS (the outside world, so a fake is right here;
// the STS clients themselves are tested against stand-ins that verify signatures) and the admin
// calls that create cloud accounts, roles and grants.
import { PamError } from '../../src/errors.js'
import type { AssumedRole, AssumeRoleRequest, StsClient } from '../../src/sts/assume-role.js'
import { call, type TestServer } from '../support/engines.js'

export const AWS_ACCOUNT = '123456789012'
export const AWS_ROLE = `arn:aws:iam::${AWS_ACCOUNT}:role/deployer`
export const ALIBABA_UID = '1234567890123456'
export const ALIBABA_ROLE = `acs:ram::${ALIBABA_UID}:role/ossreader`
/** Canaries: the long-lived secrets, and what the fake STS vends. None may appear at rest or in events. */
export const AWS_SECRET = 'CANARY-aws-long-lived-secret-9f8e7d'
export const ALIBABA_SECRET = 'CANARY-alibaba-long-lived-secret-1a2b3c'
export const VENDED_SECRET_PREFIX = 'CANARY-vended-secret-'
export const VENDED_TOKEN_PREFIX = 'CANARY-vended-token-'

/**
 * A scripted STS: answers every AssumeRole with fresh credentials valid for the asked duration,
 * unless told to fail; `hold()` keeps calls pending until released, to test single flight.
 */
export class ScriptedSts implements StsClient {
  readonly requests: AssumeRoleRequest[] = []
  failure: PamError | undefined
  private held: Array<() => void> | undefined

  constructor(private readonly now: () => number) {}

  get calls(): number {
    return this.requests.length
  }

  hold(): void {
    this.held = []
  }

  release(): void {
    const waiting = this.held ?? []
    this.held = undefined
    for (const go of waiting) go()
  }

  async assumeRole(request: AssumeRoleRequest): Promise<AssumedRole> {
    this.requests.push(request)
    const n = this.requests.length
    if (this.held) await new Promise<void>((go) => this.held!.push(go))
    if (this.failure) throw this.failure
    // Whole seconds, as both vendors answer.
    const expiration = Math.floor(this.now() / 1000) * 1000 + request.durationSeconds * 1000
    return {
      accessKeyId: `STS.TEMP${n}`,
      accessKeySecret: `${VENDED_SECRET_PREFIX}${n}`,
      securityToken: `${VENDED_TOKEN_PREFIX}${n}`,
      expiration,
      assumedRoleId: `AROA${n}:${request.roleSessionName}`,
      assumedRoleArn: `${request.roleArn}/${request.roleSessionName}`,
      requestId: `req-${n}`,
    }
  }
}

export const stsRefused = () =>
  new PamError('StsRefused', 'STS refused AssumeRole: InvalidClientTokenId (request id r-1)')
export const stsThrottled = () =>
  new PamError('StsThrottled', 'STS throttled AssumeRole: Throttling', { retryAfterSeconds: 2 })
export const stsTimeout = () => new PamError('StsTimeout', 'STS did not answer within 10 s')

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field by the assertions
type Body = any

/** An AWS and an Alibaba Cloud account with one role each, both enabled. */
export async function createCloudAccounts(t: TestServer): Promise<{ aws: Body; alibaba: Body }> {
  const i = `/admin/v1/instances/${t.instanceId}`
  const aws = await call(t, 'POST', `${i}/cloudAccounts`, {
    name: 'prod-aws',
    vendorType: 'aws',
    vendorAccountId: AWS_ACCOUNT,
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    accessKeySecret: AWS_SECRET,
    region: 'eu-west-1',
  })
  const alibaba = await call(t, 'POST', `${i}/cloudAccounts`, {
    name: 'prod-alibaba',
    vendorType: 'alibaba_cloud',
    vendorAccountId: ALIBABA_UID,
    accessKeyId: 'LTAI5tEXAMPLEKEYID',
    accessKeySecret: ALIBABA_SECRET,
  })
  if (aws.status !== 201 || alibaba.status !== 201)
    throw new Error(`cloud accounts not created: ${JSON.stringify([aws.body, alibaba.body])}`)
  const awsRole = await call(t, 'POST', `${i}/cloudAccounts/prod-aws/roles`, {
    roleExternalId: AWS_ROLE,
    maxDurationSeconds: 7200,
    externalId: 'strongroom-test',
  })
  const alibabaRole = await call(t, 'POST', `${i}/cloudAccounts/prod-alibaba/roles`, {
    roleExternalId: ALIBABA_ROLE,
    defaultDurationSeconds: 1800,
    sessionPolicy: '{"Version":"1","Statement":[]}',
  })
  if (awsRole.status !== 201 || alibabaRole.status !== 201)
    throw new Error(`roles not added: ${JSON.stringify([awsRole.body, alibabaRole.body])}`)
  return { aws: { ...aws.body, role: awsRole.body }, alibaba: { ...alibaba.body, role: alibabaRole.body } }
}

/** Grants `applicationId` `obtain` on a role, exactly or by prefix. */
export function grantRole(t: TestServer, applicationId: string, resource: string, prefix = false) {
  return call(t, 'POST', `/admin/v1/instances/${t.instanceId}/grants`, {
    applicationId,
    resourceType: 'cloud_account_role',
    resource,
    actions: ['obtain'],
    ...(prefix ? { resourceMatch: 'prefix' } : {}),
  })
}

export const obtainPath = (arn: string, duration?: string) =>
  `/cloudAccountRoles/_/actions/obtainAccessCredential?cloudAccountRoleExternalId=${encodeURIComponent(arn)}${
    duration === undefined ? '' : `&durationSeconds=${encodeURIComponent(duration)}`
  }`
