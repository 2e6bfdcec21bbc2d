// The provider `pam.awsCredentialProvider()` makes, given to a real AWS SDK v3 client
// (`@aws-sdk/client-sts`, a dev dependency only): the client must sign with the role's credentials
// and ask again when they near their expiration.
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { describe, expect, it } from 'vitest'
import { AwsCredentialIdentity, type AwsCredentialProvider } from '../../src/cloud/aws-credential-provider.js'
import { ValidationError } from '../../src/errors.js'
import { rejectionOf } from '../client/support.js'
import { HOUR, MINUTE, settle } from '../token-cache/fake-clock.js'
import { ALIBABA_ROLE, AWS_ROLE, AWS_SECRET, AWS_TOKEN, cloudClient } from './cloud-fixtures.js'

/** An STS client that signs with `credentials` and hands each signed request to `seen` instead of sending it. */
function signingClient(credentials: AwsCredentialProvider, seen: { headers: Record<string, string> }[]) {
  return new STSClient({
    region: 'us-east-1',
    // No cast: the provider is an AwsCredentialIdentityProvider as the AWS SDK's types have it.
    credentials,
    requestHandler: {
      handle: async (request: { headers: Record<string, string> }) => {
        seen.push(request)
        throw new Error('not sent: the test only looks at the signature')
      },
    } as never,
    maxAttempts: 1,
  })
}

describe('pam.awsCredentialProvider', () => {
  it('answers the AWS SDK’s credential identity: key id, secret key, session token, expiration', async () => {
    const { client, fake, clock } = cloudClient()
    const provider = client.awsCredentialProvider(AWS_ROLE, { durationSeconds: 3600 })
    expect(fake.requests).toHaveLength(0)
    const identity = await provider()
    expect(identity).toBeInstanceOf(AwsCredentialIdentity)
    expect(identity).toMatchObject({
      accessKeyId: 'ASIAVISIBLEKEYID1',
      secretAccessKey: `${AWS_SECRET}-1`,
      sessionToken: `${AWS_TOKEN}-1`,
    })
    expect(identity.expiration).toEqual(new Date(clock.now() + HOUR))
    // A new object each time, which the AWS SDK may annotate.
    const again = await provider({ callerClientConfig: {} })
    expect(again).not.toBe(identity)
    expect(Object.isExtensible(again)).toBe(true)
    expect(fake.requests).toHaveLength(1)
    expect(Object.fromEntries(fake.requests[0]!.url.searchParams)).toEqual({
      cloudAccountRoleExternalId: AWS_ROLE,
      durationSeconds: '3600',
    })
    await client.close()
  })

  it('an AWS SDK client signs with the role’s key and sends its session token', async () => {
    const { client } = cloudClient()
    const seen: { headers: Record<string, string> }[] = []
    const sts = signingClient(client.awsCredentialProvider(AWS_ROLE), seen)
    await rejectionOf(sts.send(new GetCallerIdentityCommand({})))
    expect(seen).toHaveLength(1)
    const headers = seen[0]!.headers
    expect(headers['x-amz-security-token']).toBe(`${AWS_TOKEN}-1`)
    expect(headers['authorization']).toMatch(
      /^AWS4-HMAC-SHA256 Credential=ASIAVISIBLEKEYID1\/\d{8}\/us-east-1\/sts\//,
    )
    sts.destroy()
    await client.close()
  })

  it('refreshes by itself: once the AWS SDK asks again near expiry, it gets new credentials', async () => {
    const { client, fake, clock } = cloudClient()
    const provider = client.awsCredentialProvider(AWS_ROLE)
    expect((await provider()).accessKeyId).toBe('ASIAVISIBLEKEYID1')
    // The AWS SDK asks again 5 minutes before expiry: the held ones still work, a refresh starts.
    await clock.jump(55 * MINUTE)
    expect((await provider()).accessKeyId).toBe('ASIAVISIBLEKEYID1')
    await settle()
    expect((await provider()).accessKeyId).toBe('ASIAVISIBLEKEYID2')
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('an Alibaba Cloud role is a ValidationError naming the right method', async () => {
    const { client } = cloudClient({ vendor: 'alibaba_cloud' })
    const error = await rejectionOf(client.awsCredentialProvider(ALIBABA_ROLE)())
    expect(error).toBeInstanceOf(ValidationError)
    expect(error).toMatchObject({ field: 'roleExternalId' })
    expect((error as Error).message).toContain('alibabaCloudCredential()')
    await client.close()
  })
})
