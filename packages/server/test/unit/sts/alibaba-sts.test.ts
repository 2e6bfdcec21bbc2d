// The server's Alibaba Cloud STS client against the Alibaba stand-in, over real loopback HTTP: what is
// accepted and parsed, how each failure maps to a PamError, what is retried, the deadline, and that
// no secret ever reaches an error.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type StsStandIn, startAlibabaStsStandIn } from '../../../../../test/support/sts-stand-ins/index.js'
import { alibabaAssumeRoleRequest } from '../../../src/sts/alibaba-sts.js'
import type { AssumeRoleRequest } from '../../../src/sts/assume-role.js'
import { encodeParams, rpcSignature, rpcStringToSign, rpcTimestamp } from '../../../src/sts/rpc-signature.js'
import { createStsClient } from '../../../src/sts/sts-clients.js'
import { stsRuntime } from '../../../src/sts/sts-http.js'
import {
  closedPort,
  expectNoSecret,
  expectPamError,
  FIXED_NOW,
  fixedClock,
  recordingFetch,
  rejection,
  sentSignatures,
} from './sts-test-kit.js'

const KEY_ID = 'LTAI5tStrongroomTest01'
const SECRET = 'Strongroom+Alibaba/Secret~0123456789ab'
const ROLE = 'acs:ram::1234567890123456:role/app-reader'

describe('Alibaba Cloud STS client ↔ Alibaba stand-in', () => {
  let sts: StsStandIn

  beforeAll(async () => {
    sts = await startAlibabaStsStandIn({
      keys: { [KEY_ID]: SECRET },
      roles: [{ arn: ROLE, trustedKeyIds: [KEY_ID], maxSessionDurationSeconds: 7200 }],
      now: fixedClock,
    })
  })
  afterAll(async () => sts?.close())
  beforeEach(() => {
    sts.setMode('normal')
    sts.clearRecords()
  })

  const request = (over: Partial<AssumeRoleRequest> = {}): AssumeRoleRequest => ({
    vendor: 'alibaba_cloud',
    endpoint: sts.url,
    region: undefined,
    accessKeyId: KEY_ID,
    accessKeySecret: SECRET,
    roleArn: ROLE,
    roleSessionName: 'wl_app-1@strongroom',
    durationSeconds: 3600,
    policy: undefined,
    externalId: undefined,
    ...over,
  })
  const client = (options: Parameters<typeof createStsClient>[0] = {}) =>
    createStsClient({ now: fixedClock, random: () => 0, ...options })

  it('is accepted, and parses the credentials exactly as issued', async () => {
    const policy = JSON.stringify({
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: 'oss:Get*', Resource: "acs:oss:*:*:b/a b~!'()é+" }],
    })
    const assumed = await client().assumeRole(
      request({ policy, region: 'cn-hangzhou', durationSeconds: 5400 }),
    )
    expect(sts.calls).toBe(1)
    const issued = sts.issued.at(-1)!
    expect(assumed).toEqual({
      accessKeyId: issued.accessKeyId,
      accessKeySecret: issued.accessKeySecret,
      securityToken: issued.securityToken,
      expiration: FIXED_NOW - (FIXED_NOW % 1000) + 5400_000,
      assumedRoleId: issued.assumedRoleId,
      assumedRoleArn: `${ROLE}/wl_app-1@strongroom`,
      requestId: expect.stringMatching(/^[0-9A-F-]{36}$/),
    })
    expect(sts.requests[0]).toMatchObject({
      method: 'POST',
      action: 'AssumeRole',
      accessKeyId: KEY_ID,
      sessionName: 'wl_app-1@strongroom',
      durationSeconds: 5400,
      params: {
        Policy: policy,
        RegionId: 'cn-hangzhou',
        Version: '2015-04-01',
        Format: 'JSON',
        SignatureMethod: 'HMAC-SHA1',
        SignatureVersion: '1.0',
        Timestamp: '2030-01-02T03:04:05Z',
      },
      status: 200,
      code: undefined,
    })
  })

  it('signs every attempt afresh: a new SignatureNonce each time', async () => {
    let n = 0
    const runtime = stsRuntime({ now: fixedClock, nonce: () => `nonce-${++n}` })
    const first = alibabaAssumeRoleRequest(request(), runtime)
    const second = alibabaAssumeRoleRequest(request(), runtime)
    expect(new URL(first.url).searchParams.get('SignatureNonce')).toBe('nonce-1')
    expect(new URL(second.url).searchParams.get('SignatureNonce')).toBe('nonce-2')
    expect(new URL(first.url).searchParams.get('Signature')).not.toBe(
      new URL(second.url).searchParams.get('Signature'),
    )
    // The operation's parameters travel in the form body, as Alibaba's own credentials provider sends them.
    expect(first.body).toBe(
      'RoleArn=acs%3Aram%3A%3A1234567890123456%3Arole%2Fapp-reader&RoleSessionName=wl_app-1%40strongroom&DurationSeconds=3600',
    )
  })

  it('hands out credentials the stand-in accepts for GetCallerIdentity (with the SecurityToken)', async () => {
    const assumed = await client().assumeRole(request())
    const call = (securityToken: string | undefined) => {
      const params: Record<string, string> = {
        AccessKeyId: assumed.accessKeyId,
        Action: 'GetCallerIdentity',
        Format: 'JSON',
        SignatureMethod: 'HMAC-SHA1',
        SignatureNonce: crypto.randomUUID(),
        SignatureVersion: '1.0',
        Timestamp: rpcTimestamp(FIXED_NOW),
        Version: '2015-04-01',
        ...(securityToken === undefined ? {} : { SecurityToken: securityToken }),
      }
      params['Signature'] = rpcSignature(rpcStringToSign('GET', params), assumed.accessKeySecret)
      return fetch(`${sts.url}/?${encodeParams(params)}`)
    }
    const answer = await call(assumed.securityToken)
    expect(answer.status).toBe(200)
    expect(await answer.json()).toMatchObject({
      AccountId: '1234567890123456',
      IdentityType: 'AssumedRoleUser',
      Arn: 'acs:ram::1234567890123456:assumed-role/app-reader/wl_app-1@strongroom',
    })
    const withoutToken = await call(undefined)
    expect(withoutToken.status).toBe(400)
    expect(await withoutToken.json()).toMatchObject({ Code: 'MissingSecurityToken' })
  })

  it.each([
    ['an unknown key', { accessKeyId: 'LTAI5tUnknownKey000000' }, 'InvalidAccessKeyId.NotFound'],
    ['a wrong secret', { accessKeySecret: 'not-the-secret-at-all-000000' }, 'SignatureDoesNotMatch'],
    [
      'a role that does not exist',
      { roleArn: 'acs:ram::1234567890123456:role/other' },
      'EntityNotExist.Role',
    ],
    ['more than the role’s maximum duration', { durationSeconds: 7201 }, 'InvalidParameter.DurationSeconds'],
    ['a session name STS rejects', { roleSessionName: 'has space' }, 'InvalidParameter.RoleSessionName'],
    ['a clock 20 minutes behind', {}, 'InvalidTimeStamp.Expired', FIXED_NOW - 20 * 60_000],
  ] as const)(
    'maps a refusal for %s to StsRefused with the vendor’s code, in one call',
    async (_, over, code, clock?: number) => {
      const { fetch: recording, sent } = recordingFetch()
      const error = await rejection(
        client({ fetch: recording, ...(clock === undefined ? {} : { now: () => clock }) }).assumeRole(
          request(over),
        ),
      )
      expectPamError(error, 'StsRefused', 502)
      expect(error.message).toMatch(
        new RegExp(
          `^STS refused AssumeRole: ${code.replace('.', '\\.')}: .* \\(request id [0-9A-F-]{36}\\)$`,
        ),
      )
      expect(sts.calls).toBe(1)
      expect(sts.requests.at(-1)!.code).toBe(code)
      expectNoSecret(error, [SECRET, ...sentSignatures(sent)])
    },
  )

  it('says why a signature did not match, without the string to sign', async () => {
    const error = await rejection(
      client().assumeRole(request({ accessKeySecret: 'another-secret-00000000' })),
    )
    expect(error.message).toMatch(
      /^STS refused AssumeRole: SignatureDoesNotMatch: Specified signature is not matched with our calculation\. \(request id [0-9A-F-]{36}\)$/,
    )
  })

  it('refuses a key the role does not trust: NoPermission', async () => {
    sts.addKey('LTAI5tOtherKey00000001', 'other-secret-0000000000')
    const error = await rejection(
      client().assumeRole(
        request({ accessKeyId: 'LTAI5tOtherKey00000001', accessKeySecret: 'other-secret-0000000000' }),
      ),
    )
    expectPamError(error, 'StsRefused', 502)
    expect(error.message).toMatch(/^STS refused AssumeRole: NoPermission: You are not authorized/)
  })

  it('maps throttling to StsThrottled 503 with Retry-After (or 2 s), without retrying', async () => {
    sts.setMode('throttle')
    const plain = await rejection(client().assumeRole(request()))
    expectPamError(plain, 'StsThrottled', 503)
    expect(plain.retryAfterSeconds).toBe(2)
    expect(plain.message).toContain('Throttling.User')
    sts.setMode('throttle', { retryAfterSeconds: 11 })
    const told = await rejection(client().assumeRole(request()))
    expectNoSecret(told, [SECRET])
    expect(told.retryAfterSeconds).toBe(11)
    expect(sts.calls).toBe(2)
  })

  it('retries a 500: a 500 then a success is two calls, each signed with its own nonce', async () => {
    sts.setMode('internal-error', { times: 1 })
    await expect(client().assumeRole(request())).resolves.toMatchObject({
      accessKeyId: expect.stringMatching(/^STS\./),
    })
    expect(sts.calls).toBe(2)
    expect(sts.requests.map((r) => r.status)).toEqual([500, 200])
    expect(sts.requests[0]!.params['SignatureNonce']).not.toBe(sts.requests[1]!.params['SignatureNonce'])
  })

  it('gives up after two retries: StsUnavailable naming the vendor’s code', async () => {
    sts.setMode('internal-error')
    const error = await rejection(client().assumeRole(request()))
    expectPamError(error, 'StsUnavailable', 502)
    expect(error.message).toMatch(new RegExp(`^STS at ${sts.host} failed AssumeRole: InternalError: `))
    expect(sts.calls).toBe(3)
  })

  it('times out with StsTimeout 504 within the deadline', async () => {
    sts.setMode('hang')
    const started = performance.now()
    const error = await rejection(client({ timeoutMs: 300 }).assumeRole(request()))
    const elapsed = performance.now() - started
    expectPamError(error, 'StsTimeout', 504)
    expectNoSecret(error, [SECRET])
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect(elapsed).toBeLessThan(800)
    expect(sts.calls).toBe(1)
  })

  it('maps an unreachable endpoint to StsUnavailable naming the host', async () => {
    const port = await closedPort()
    const { fetch: recording, sent } = recordingFetch()
    const error = await rejection(
      client({ fetch: recording }).assumeRole(request({ endpoint: `http://127.0.0.1:${port}` })),
    )
    expectPamError(error, 'StsUnavailable', 502)
    expect(error.message).toBe(`STS at 127.0.0.1:${port} could not be reached (ECONNREFUSED)`)
    expect(sent).toHaveLength(3)
    expectNoSecret(error, [SECRET, ...sentSignatures(sent)])
  })

  it('maps an answer that is not STS’s to StsUnavailable', async () => {
    sts.setMode('not-sts')
    const error = await rejection(client().assumeRole(request()))
    expectPamError(error, 'StsUnavailable', 502)
    expect(error.message).toBe(
      `STS at ${sts.host} answered HTTP 200 with something that is not an STS answer`,
    )
    expect(sts.calls).toBe(1)
  })

  it('rejects an answer with a missing field as StsUnavailable, and keeps none of it', async () => {
    sts.setMode('missing-field')
    const error = await rejection(client().assumeRole(request()))
    expectPamError(error, 'StsUnavailable', 502)
    expect(error.message).toBe(
      `STS at ${sts.host} answered AssumeRole without a valid Credentials.SecurityToken`,
    )
    const issued = sts.issued.at(-1)!
    expectNoSecret(error, [SECRET, issued.accessKeySecret, issued.securityToken])
  })
})
