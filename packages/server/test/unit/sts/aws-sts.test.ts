// The server's AWS STS client against the AWS stand-in, over real loopback HTTP: what is accepted
// and parsed, how each failure maps to a PamError, what is retried, the deadline, and that no
// secret ever reaches an error.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type StsStandIn, startAwsStsStandIn } from '../../../../../test/support/sts-stand-ins/index.js'
import type { AssumeRoleRequest } from '../../../src/sts/assume-role.js'
import { signSigV4 } from '../../../src/sts/sigv4.js'
import { createStsClient } from '../../../src/sts/sts-clients.js'
import { parseXml, xmlText } from '../../../src/sts/sts-xml.js'
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

const KEY_ID = 'AKIASTRONGROOMTEST01'
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYSTRONGROOM'
const ROLE = 'arn:aws:iam::123456789012:role/app-reader'
const ROLE_WITH_EXTERNAL_ID = 'arn:aws:iam::123456789012:role/partner'

describe('AWS STS client ↔ AWS stand-in', () => {
  let sts: StsStandIn
  let regional: StsStandIn

  beforeAll(async () => {
    const roles = [
      { arn: ROLE, trustedKeyIds: [KEY_ID], maxSessionDurationSeconds: 7200 },
      { arn: ROLE_WITH_EXTERNAL_ID, trustedKeyIds: [KEY_ID], externalId: 'ext-7f3a' },
    ]
    sts = await startAwsStsStandIn({ keys: { [KEY_ID]: SECRET }, roles, now: fixedClock })
    regional = await startAwsStsStandIn({
      keys: { [KEY_ID]: SECRET },
      roles,
      now: fixedClock,
      region: 'eu-west-1',
    })
  })
  afterAll(async () => {
    await sts?.close()
    await regional?.close()
  })
  beforeEach(() => {
    sts.setMode('normal')
    sts.clearRecords()
  })

  const request = (over: Partial<AssumeRoleRequest> = {}): AssumeRoleRequest => ({
    vendor: 'aws',
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
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:Get*', Resource: "arn:aws:s3:::b/a b~!'()é" }],
    })
    const assumed = await client().assumeRole(request({ policy, durationSeconds: 5400 }))
    expect(sts.calls).toBe(1)
    const issued = sts.issued.at(-1)!
    expect(assumed).toEqual({
      accessKeyId: issued.accessKeyId,
      accessKeySecret: issued.accessKeySecret,
      securityToken: issued.securityToken,
      expiration: FIXED_NOW - (FIXED_NOW % 1000) + 5400_000,
      assumedRoleId: issued.assumedRoleId,
      assumedRoleArn: 'arn:aws:sts::123456789012:assumed-role/app-reader/wl_app-1@strongroom',
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    })
    expect(sts.requests[0]).toMatchObject({
      method: 'POST',
      action: 'AssumeRole',
      accessKeyId: KEY_ID,
      sessionName: 'wl_app-1@strongroom',
      durationSeconds: 5400,
      params: { Version: '2011-06-15', Policy: policy },
      status: 200,
      code: undefined,
    })
  })

  it('signs for the request’s region (us-east-1 when none), which a regional STS checks', async () => {
    await expect(
      client().assumeRole(request({ endpoint: regional.url, region: 'eu-west-1' })),
    ).resolves.toMatchObject({
      assumedRoleArn: expect.stringContaining('assumed-role/app-reader/'),
    })
    const error = await rejection(client().assumeRole(request({ endpoint: regional.url })))
    expectPamError(error, 'StsRefused', 502)
    expect(error.message).toMatch(
      /^STS refused AssumeRole: SignatureDoesNotMatch: Credential should be scoped to a valid region/,
    )
  })

  it('sends the ExternalId a role requires', async () => {
    const refused = await rejection(client().assumeRole(request({ roleArn: ROLE_WITH_EXTERNAL_ID })))
    expectPamError(refused, 'StsRefused', 502)
    expect(refused.message).toContain('AccessDenied')
    await expect(
      client().assumeRole(
        request({ roleArn: ROLE_WITH_EXTERNAL_ID, externalId: 'ext-7f3a', durationSeconds: 900 }),
      ),
    ).resolves.toMatchObject({ assumedRoleArn: expect.stringContaining('assumed-role/partner/') })
  })

  it('hands out credentials the stand-in accepts for GetCallerIdentity (SigV4 with the session token)', async () => {
    const assumed = await client().assumeRole(request())
    const call = (sessionToken: string | undefined) => {
      const url = new URL('/', sts.url)
      const body = 'Action=GetCallerIdentity&Version=2011-06-15'
      const headers = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }
      const signed = signSigV4(
        { method: 'POST', url, headers, body },
        { accessKeyId: assumed.accessKeyId, secretAccessKey: assumed.accessKeySecret, sessionToken },
        { region: 'us-east-1', service: 'sts' },
        FIXED_NOW,
      )
      return fetch(url, { method: 'POST', headers: { ...headers, ...signed.headers }, body })
    }
    const answer = await call(assumed.securityToken)
    expect(answer.status).toBe(200)
    const document = parseXml(await answer.text())
    expect(xmlText(document, ['GetCallerIdentityResult', 'Arn'])).toBe(assumed.assumedRoleArn)
    expect(xmlText(document, ['GetCallerIdentityResult', 'Account'])).toBe('123456789012')
    const withoutToken = await call(undefined)
    expect(withoutToken.status).toBe(403)
    expect(xmlText(parseXml(await withoutToken.text()), ['Error', 'Code'])).toBe('InvalidClientTokenId')
  })

  it.each([
    ['an unknown key', { accessKeyId: 'AKIAUNKNOWNKEY000001' }, 'InvalidClientTokenId'],
    [
      'a wrong secret',
      { accessKeySecret: 'not-the-secret-at-all-0000000000000000' },
      'SignatureDoesNotMatch',
    ],
    [
      'a role that does not trust the key',
      { roleArn: 'arn:aws:iam::123456789012:role/other' },
      'AccessDenied',
    ],
    ['more than the role’s maximum duration', { durationSeconds: 7201 }, 'ValidationError'],
    ['a session name STS rejects', { roleSessionName: 'has space' }, 'ValidationError'],
    ['a clock 20 minutes behind', {}, 'SignatureDoesNotMatch', FIXED_NOW - 20 * 60_000],
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
        new RegExp(`^STS refused AssumeRole: ${code}: .* \\(request id [0-9a-f-]{36}\\)$`),
      )
      expect(sts.calls).toBe(1)
      expect(sts.requests.at(-1)!.code).toBe(code)
      expectNoSecret(error, [SECRET, ...sentSignatures(sent)])
    },
  )

  it('maps throttling to StsThrottled 503 with Retry-After (or 2 s), without retrying', async () => {
    sts.setMode('throttle')
    const plain = await rejection(client().assumeRole(request()))
    expectPamError(plain, 'StsThrottled', 503)
    expect(plain.retryAfterSeconds).toBe(2)
    expect(plain.message).toContain('Throttling')
    sts.setMode('throttle', { retryAfterSeconds: 7 })
    const told = await rejection(client().assumeRole(request()))
    expectNoSecret(told, [SECRET])
    expect(told.retryAfterSeconds).toBe(7)
    expect(sts.calls).toBe(2)
  })

  it('retries a 500: a 500 then a success is two calls', async () => {
    sts.setMode('internal-error', { times: 1 })
    await expect(client().assumeRole(request())).resolves.toMatchObject({
      accessKeyId: expect.stringMatching(/^ASIA/),
    })
    expect(sts.calls).toBe(2)
    expect(sts.requests.map((r) => r.status)).toEqual([500, 200])
  })

  it('gives up after two retries: StsUnavailable naming the vendor’s code', async () => {
    sts.setMode('unavailable')
    const error = await rejection(client().assumeRole(request()))
    expectPamError(error, 'StsUnavailable', 502)
    expect(error.message).toContain(`STS at ${sts.host} failed AssumeRole: ServiceUnavailable`)
    expect(sts.calls).toBe(3)
    const once = await rejection(client({ retries: 0 }).assumeRole(request()))
    expectPamError(once, 'StsUnavailable', 502)
    expect(sts.calls).toBe(4)
  })

  it('times out with StsTimeout 504 within the deadline', async () => {
    sts.setMode('hang')
    const started = performance.now()
    const error = await rejection(client({ timeoutMs: 300 }).assumeRole(request()))
    const elapsed = performance.now() - started
    expectPamError(error, 'StsTimeout', 504)
    expectNoSecret(error, [SECRET])
    expect(error.message).toBe(`STS at ${sts.host} did not answer AssumeRole within 300 ms`)
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect(elapsed).toBeLessThan(800)
  })

  it('bounds the whole call, retries included, by the one deadline', async () => {
    // The 1st attempt meets a 500 and is retried; from then on the stand-in hangs: the deadline ends it.
    sts.setMode('internal-error', { times: 1 })
    const thenHang = (async (url: string | URL | Request, init?: RequestInit) => {
      const answer = await fetch(url, init)
      sts.setMode('hang')
      return answer
    }) as typeof fetch
    const started = performance.now()
    const error = await rejection(client({ timeoutMs: 400, fetch: thenHang }).assumeRole(request()))
    const elapsed = performance.now() - started
    expectPamError(error, 'StsTimeout', 504)
    expect(sts.calls).toBe(2)
    expect(elapsed).toBeGreaterThanOrEqual(390)
    expect(elapsed).toBeLessThan(900)
  })

  it('maps an unreachable endpoint to StsUnavailable naming the host, after the retries', async () => {
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

  it('maps an answer that is not STS’s to StsUnavailable, without retrying a 200', async () => {
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
      `STS at ${sts.host} answered AssumeRole without a valid Credentials.SessionToken`,
    )
    const issued = sts.issued.at(-1)!
    expectNoSecret(error, [SECRET, issued.accessKeySecret, issued.securityToken])
  })

  it('honours the caller’s abort signal at once', async () => {
    sts.setMode('hang')
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('caller gone')), 50)
    const started = performance.now()
    await expect(client().assumeRole(request(), controller.signal)).rejects.toThrow('caller gone')
    expect(performance.now() - started).toBeLessThan(1000)
  })
})
