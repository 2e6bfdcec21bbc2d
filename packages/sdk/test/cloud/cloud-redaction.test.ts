import { format, inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { rejectionOf } from '../client/support.js'
import { HOUR } from '../token-cache/fake-clock.js'
import {
  ALIBABA_ROLE,
  ALIBABA_SECRET,
  ALIBABA_TOKEN,
  AWS_ROLE,
  AWS_SECRET,
  AWS_TOKEN,
  alibabaAnswer,
  awsAnswer,
  cloudClient,
  type EditableAnswer,
} from './cloud-fixtures.js'

const SECRETS = [ALIBABA_SECRET, ALIBABA_TOKEN, AWS_SECRET, AWS_TOKEN]

function printed(value: unknown): string[] {
  return [
    inspect(value),
    inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true }),
    inspect(value, { customInspect: false, showHidden: true, depth: Number.POSITIVE_INFINITY }),
    format('%o %O %s %j', value, value, value, value),
    String(value),
    `${value}`,
    JSON.stringify(value),
    JSON.stringify({ nested: [value] }),
    JSON.stringify({ ...(value as object) }),
    String(Object.values(value as object)),
  ]
}

function expectNoSecret(value: unknown): void {
  for (const text of printed(value)) for (const secret of SECRETS) expect(text).not.toContain(secret)
}

describe('cloud credentials never print their secrets', () => {
  it('getCloudCredentials, both vendors: [REDACTED] in place of the secret and the token', async () => {
    const { client: aws, clock } = cloudClient()
    const { client: alibaba } = cloudClient({ vendor: 'alibaba_cloud' })
    const awsCredentials = await aws.getCloudCredentials(AWS_ROLE)
    const alibabaCredentials = await alibaba.getCloudCredentials(ALIBABA_ROLE)
    expectNoSecret(awsCredentials)
    expectNoSecret(alibabaCredentials)
    const expiration = new Date(clock.now() + HOUR).toISOString()
    expect(JSON.parse(JSON.stringify(awsCredentials))).toEqual({
      vendor: 'aws',
      cloudAccountId: 'ca_aws01',
      cloudAccountRoleId: 'car_aws01',
      cloudAccountRoleName: 'deployer',
      cloudAccountRoleExternalId: AWS_ROLE,
      accessKeyId: 'ASIAVISIBLEKEYID1',
      expiration,
      expiresAt: (clock.now() + HOUR) / 1000,
      secretAccessKey: '[REDACTED]',
      sessionToken: '[REDACTED]',
    })
    expect(JSON.parse(JSON.stringify(alibabaCredentials))).toMatchObject({
      vendor: 'alibaba_cloud',
      accessKeyId: 'STS.visible-key-id-1',
      accessKeySecret: '[REDACTED]',
      securityToken: '[REDACTED]',
    })
    expect(inspect(awsCredentials)).toMatch(/^AwsStsCredentials \{/)
    expect(inspect(alibabaCredentials)).toContain("securityToken: '[REDACTED]'")
    expect(Object.keys(awsCredentials)).not.toContain('sessionToken')
    expectNoSecret(aws)
    expectNoSecret(alibaba)
    await aws.close()
    await alibaba.close()
  })

  it('the Alibaba Cloud credential object and what it answers', async () => {
    const { client } = cloudClient({ vendor: 'alibaba_cloud' })
    const credential = client.alibabaCloudCredential(ALIBABA_ROLE)
    const model = await credential.getCredential()
    const provided = await credential.getCredentials()
    for (const value of [credential, model, provided]) expectNoSecret(value)
    expect(JSON.parse(JSON.stringify(credential))).toEqual({
      type: 'sts',
      providerName: 'strongroom',
      roleExternalId: ALIBABA_ROLE,
    })
    expect(JSON.parse(JSON.stringify(model))).toEqual({
      accessKeyId: 'STS.visible-key-id-1',
      accessKeySecret: '[REDACTED]',
      securityToken: '[REDACTED]',
      type: 'sts',
      providerName: 'strongroom',
    })
    expect(provided.securityToken).toBe(`${ALIBABA_TOKEN}-1`)
    await client.close()
  })

  it('the AWS credential identity', async () => {
    const { client, clock } = cloudClient()
    const identity = await client.awsCredentialProvider(AWS_ROLE)()
    expectNoSecret(identity)
    expect(JSON.parse(JSON.stringify(identity))).toEqual({
      accessKeyId: 'ASIAVISIBLEKEYID1',
      secretAccessKey: '[REDACTED]',
      sessionToken: '[REDACTED]',
      expiration: new Date(clock.now() + HOUR).toISOString(),
    })
    await client.close()
  })

  it('an answer refused as malformed names the field, never a secret it held', async () => {
    const answer = awsAnswer(Date.UTC(2030, 0, 1, 1)) as EditableAnswer
    answer['cloudAccountRoleAccessCredential']['awsStsToken']['expiration'] = `${AWS_TOKEN}-not-a-time`
    const answerBoth = alibabaAnswer(Date.UTC(2030, 0, 1, 1)) as EditableAnswer
    answerBoth['cloudAccountRoleAccessCredential']['awsStsToken'] = { sessionToken: AWS_TOKEN }
    for (const body of [answer, answerBoth]) {
      const { client } = cloudClient({ handler: () => Response.json(body) })
      const error = await rejectionOf(client.getCloudCredentials(AWS_ROLE))
      expectNoSecret(error)
      expect(inspect(error)).not.toContain(AWS_TOKEN)
      await client.close()
    }
  })
})
