// The object `pam.alibabaCloudCredential()` makes, checked against the official Node.js library
// (`@alicloud/credentials`, a dev dependency only): its `Credential` must accept what ours answers
// as an STS credential, and take ours as a provider of its own.
import * as alicloud from '@alicloud/credentials'
import { describe, expect, it } from 'vitest'
import {
  AlibabaCloudCredential,
  AlibabaCloudCredentialModel,
} from '../../src/cloud/alibaba-cloud-credential.js'
import { ValidationError } from '../../src/errors.js'
import { rejectionOf } from '../client/support.js'
import { HOUR, MINUTE, settle } from '../token-cache/fake-clock.js'
import { ALIBABA_ROLE, ALIBABA_SECRET, ALIBABA_TOKEN, AWS_ROLE, cloudClient } from './cloud-fixtures.js'

const { Config, CredentialModel } = alicloud
// The package is CommonJS with `exports.default = Credential`: Node (and TypeScript) see
// `module.exports` as the default export, whose `default` is the class; Vitest hands the class over.
type CredentialClass = typeof alicloud.default.default
const Credential: CredentialClass =
  (alicloud.default as { default?: CredentialClass }).default ??
  (alicloud.default as unknown as CredentialClass)

const STS_ENV = [
  'ALIBABA_CLOUD_ACCESS_KEY_ID',
  'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  'ALIBABA_CLOUD_SECURITY_TOKEN',
]

describe('pam.alibabaCloudCredential', () => {
  it('answers getCredential() as an STS credential of the role, with the legacy getters beside it', async () => {
    const { client, fake } = cloudClient({ vendor: 'alibaba_cloud' })
    const credential = client.alibabaCloudCredential(ALIBABA_ROLE)
    expect(credential).toBeInstanceOf(AlibabaCloudCredential)
    expect(fake.requests).toHaveLength(0) // nothing is fetched until asked for
    const model = await credential.getCredential()
    expect(model).toBeInstanceOf(AlibabaCloudCredentialModel)
    expect(model).toMatchObject({
      accessKeyId: 'STS.visible-key-id-1',
      accessKeySecret: `${ALIBABA_SECRET}-1`,
      securityToken: `${ALIBABA_TOKEN}-1`,
      bearerToken: undefined,
      type: 'sts',
      providerName: 'strongroom',
    })
    expect(credential.getType()).toBe('sts')
    expect(credential.getBearerToken()).toBeUndefined()
    expect(await credential.getAccessKeyId()).toBe('STS.visible-key-id-1')
    expect(await credential.getAccessKeySecret()).toBe(`${ALIBABA_SECRET}-1`)
    expect(await credential.getSecurityToken()).toBe(`${ALIBABA_TOKEN}-1`)
    expect(fake.requests).toHaveLength(1)
    expect(Object.fromEntries(fake.requests[0]!.url.searchParams)).toEqual({
      cloudAccountRoleExternalId: ALIBABA_ROLE,
    })
    await client.close()
  })

  it('refreshes by itself through the cache: inside the last 15 minutes the next call has new credentials', async () => {
    const { client, fake, clock } = cloudClient({ vendor: 'alibaba_cloud' })
    const credential = client.alibabaCloudCredential(ALIBABA_ROLE, { durationSeconds: 3600 })
    expect((await credential.getCredential()).accessKeyId).toBe('STS.visible-key-id-1')
    await clock.jump(46 * MINUTE)
    expect((await credential.getCredential()).accessKeyId).toBe('STS.visible-key-id-1')
    await settle()
    expect((await credential.getCredential()).accessKeyId).toBe('STS.visible-key-id-2')
    await clock.jump(HOUR)
    expect(await credential.getSecurityToken()).toBe(`${ALIBABA_TOKEN}-3`)
    expect(fake.requests.map((r) => r.url.searchParams.get('durationSeconds'))).toEqual([
      '3600',
      '3600',
      '3600',
    ])
    // getCloudCredentials shares the same cache.
    expect((await client.getCloudCredentials(ALIBABA_ROLE, { durationSeconds: 3600 })).accessKeyId).toBe(
      'STS.visible-key-id-3',
    )
    expect(fake.requests).toHaveLength(3)
    await client.close()
  })

  it('passes @alicloud/credentials’ own checks for an STS credential, and reports type sts', async () => {
    const saved = STS_ENV.map((name) => [name, process.env[name]] as const)
    // The library falls back on these variables for a missing field: without them a gap shows.
    for (const name of STS_ENV) delete process.env[name]
    try {
      const { client } = cloudClient({ vendor: 'alibaba_cloud' })
      const model = await client.alibabaCloudCredential(ALIBABA_ROLE).getCredential()
      // The library's Config copies the fields it knows by reading them, as its clients do.
      const official = new Credential(new Config(model))
      expect(official.getType()).toBe('sts')
      const theirs = await official.getCredential()
      expect(theirs).toBeInstanceOf(CredentialModel)
      expect(theirs).toMatchObject({
        accessKeyId: 'STS.visible-key-id-1',
        accessKeySecret: `${ALIBABA_SECRET}-1`,
        securityToken: `${ALIBABA_TOKEN}-1`,
        type: 'sts',
        providerName: 'static_sts',
      })
      // And the check is real: an STS credential without its token is refused.
      expect(
        () =>
          new Credential(
            new Config({
              type: 'sts',
              accessKeyId: model.accessKeyId,
              accessKeySecret: model.accessKeySecret,
            }),
          ),
      ).toThrow('the security token is empty')
      // The library's CredentialModel takes ours as it is, too.
      expect(new CredentialModel(model)).toMatchObject({ type: 'sts', securityToken: `${ALIBABA_TOKEN}-1` })
      await client.close()
    } finally {
      for (const [name, value] of saved) if (value !== undefined) process.env[name] = value
    }
  })

  it('is a provider the library’s Credential wraps, refreshing through strongroom at every call', async () => {
    const { client, clock } = cloudClient({ vendor: 'alibaba_cloud' })
    const official = new Credential(null, client.alibabaCloudCredential(ALIBABA_ROLE))
    expect(official.getType()).toBe('strongroom')
    const first = await official.getCredential()
    expect(first).toMatchObject({
      accessKeyId: 'STS.visible-key-id-1',
      accessKeySecret: `${ALIBABA_SECRET}-1`,
      securityToken: `${ALIBABA_TOKEN}-1`,
      providerName: 'strongroom',
    })
    await clock.jump(HOUR)
    expect(await official.getSecurityToken()).toBe(`${ALIBABA_TOKEN}-2`)
    await client.close()
  })

  it('an AWS role is a ValidationError naming the right method, at the first call', async () => {
    const { client } = cloudClient({ vendor: 'aws' })
    const credential = client.alibabaCloudCredential(AWS_ROLE)
    const error = await rejectionOf(credential.getCredential())
    expect(error).toBeInstanceOf(ValidationError)
    expect(error).toMatchObject({ field: 'roleExternalId', code: 'ERR_PAM_VALIDATION' })
    expect((error as Error).message).toContain('awsCredentialProvider()')
    await client.close()
  })

  it('a signal given at creation cancels its calls', async () => {
    const { client } = cloudClient({ vendor: 'alibaba_cloud' })
    const reason = new Error('stop')
    const credential = client.alibabaCloudCredential(ALIBABA_ROLE, { signal: AbortSignal.abort(reason) })
    expect(await rejectionOf(credential.getCredential())).toBe(reason)
    await client.close()
  })
})
