// Wire answers of ObtainCloudAccountRoleAccessCredential, as the server sends them, and a client on
// a fake clock to ask for them.

import { clientWith, type Handler } from '../client/support.js'
import { FakeClock, HOUR } from '../token-cache/fake-clock.js'

export const ALIBABA_ROLE = 'acs:ram::1234567890123456:role/deployer'
export const AWS_ROLE = 'arn:aws:iam::123456789012:role/deployer'

export const ALIBABA_SECRET = 'canary-alibaba-access-key-secret-6b1e'
export const ALIBABA_TOKEN = 'canary-alibaba-security-token-0f3c'
export const AWS_SECRET = 'canary-aws-secret-access-key-9d2a'
export const AWS_TOKEN = 'canary-aws-session-token-47e8'

/** A wire answer to edit in place, field by field, in the tests of malformed answers. */
// biome-ignore lint/suspicious/noExplicitAny: any path into a JSON answer, written and deleted freely
export type EditableAnswer = Record<string, any>

/** `YYYY-MM-DDTHH:MM:SSZ` for epoch ms. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** An Alibaba Cloud answer expiring at `expiresAtMs` (whole seconds), `n` marking the key pair. */
export function alibabaAnswer(expiresAtMs: number, n = 1): Record<string, unknown> {
  return {
    cloudAccountId: 'ca_alibaba01',
    cloudAccountRoleExternalId: ALIBABA_ROLE,
    cloudAccountRoleId: 'car_alibaba01',
    cloudAccountRoleName: 'deployer',
    cloudAccountVendorType: 'alibaba_cloud',
    cloudAccountRoleAccessCredential: {
      accessCredentialExpiresAt: Math.floor(expiresAtMs / 1000),
      alibabaCloudStsToken: {
        accessKeyId: `STS.visible-key-id-${n}`,
        accessKeySecret: `${ALIBABA_SECRET}-${n}`,
        securityToken: `${ALIBABA_TOKEN}-${n}`,
        expiration: isoSeconds(expiresAtMs),
      },
    },
  }
}

/** An AWS answer expiring at `expiresAtMs` (whole seconds), `n` marking the key pair. */
export function awsAnswer(expiresAtMs: number, n = 1): Record<string, unknown> {
  return {
    cloudAccountId: 'ca_aws01',
    cloudAccountRoleExternalId: AWS_ROLE,
    cloudAccountRoleId: 'car_aws01',
    cloudAccountRoleName: 'deployer',
    cloudAccountVendorType: 'aws',
    cloudAccountRoleAccessCredential: {
      accessCredentialExpiresAt: Math.floor(expiresAtMs / 1000),
      awsStsToken: {
        accessKeyId: `ASIAVISIBLEKEYID${n}`,
        secretAccessKey: `${AWS_SECRET}-${n}`,
        sessionToken: `${AWS_TOKEN}-${n}`,
        expiration: isoSeconds(expiresAtMs),
      },
    },
  }
}

/**
 * A client on a fake clock whose every ObtainCloudAccountRoleAccessCredential answers credentials
 * living `lifetimeMs` from the clock's now, numbered by request (`…-1`, `…-2`, …), unless a
 * `handler` is given. Retries are off, so one call is one request.
 */
export function cloudClient(
  options: { vendor?: 'aws' | 'alibaba_cloud'; lifetimeMs?: number; handler?: Handler } = {},
) {
  const clock = new FakeClock()
  const { vendor = 'aws', lifetimeMs = HOUR } = options
  const answer = vendor === 'aws' ? awsAnswer : alibabaAnswer
  const handler: Handler =
    options.handler ??
    ((request, index) =>
      Response.json({
        ...answer(clock.now() + lifetimeMs, index + 1),
        // The role asked for, as the server answers it.
        cloudAccountRoleExternalId: request.url.searchParams.get('cloudAccountRoleExternalId'),
      }))
  const { client, fake, provider } = clientWith(handler, {
    cloudCredentialsCache: { now: clock.now },
    http: { retry: false },
  })
  return { client, fake, provider, clock }
}

/** A promise and the functions that settle it. */
export function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}
