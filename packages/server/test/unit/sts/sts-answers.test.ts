// What the STS clients take from a success answer (a fake STS here, answering whatever each case
// needs): an expiration not in the future is refused, one past what was asked is cut to it, and
// the fields that reach workloads and the audit log are bounded, visible ASCII; the request id,
// only informational, is dropped when it is not.

import { describe, expect, it } from 'vitest'
import type { AssumeRoleRequest } from '../../../src/sts/assume-role.js'
import { createStsClient } from '../../../src/sts/sts-clients.js'
import { expectNoSecret, expectPamError, FIXED_NOW, fixedClock, rejection } from './sts-test-kit.js'

/** How much later than asked an expiration may be before it is cut. */
const EXPIRATION_SKEW_MS = 60_000
const ENDPOINT = 'http://127.0.0.1:18799'
const HOST = '127.0.0.1:18799'
const VENDED_SECRET = 'vended-secret-canary-0a1b2c3d'
const VENDED_TOKEN = 'vended-token-canary-4e5f6a7b'

interface Answer {
  Expiration?: string
  AssumedRoleId?: string
  RequestId?: string
  AccessKeyId?: string
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z')

/** Each vendor: how its STS answers a success, how it names the fields, a role of its. */
const VENDORS = [
  {
    vendor: 'alibaba_cloud' as const,
    roleArn: 'acs:ram::1234567890123456:role/reader',
    answer: (a: Required<Answer>) =>
      new Response(
        JSON.stringify({
          RequestId: a.RequestId,
          AssumedRoleUser: { AssumedRoleId: a.AssumedRoleId, Arn: 'acs:ram::1234567890123456:role/reader/s' },
          Credentials: {
            AccessKeyId: a.AccessKeyId,
            AccessKeySecret: VENDED_SECRET,
            SecurityToken: VENDED_TOKEN,
            Expiration: a.Expiration,
          },
        }),
        { status: 200, headers: { 'content-type': 'application/json' } },
      ),
  },
  {
    vendor: 'aws' as const,
    roleArn: 'arn:aws:iam::123456789012:role/reader',
    answer: (a: Required<Answer>) => {
      // As XML text: character references for what XML cannot hold as is.
      const x = (s: string) =>
        s.replace(/[^\x20-\x7e]/g, (c) => `&#x${c.codePointAt(0)!.toString(16)};`).replace(/</g, '&lt;')
      return new Response(
        `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>` +
          `<AssumedRoleUser><AssumedRoleId>${x(a.AssumedRoleId)}</AssumedRoleId>` +
          `<Arn>arn:aws:sts::123456789012:assumed-role/reader/s</Arn></AssumedRoleUser>` +
          `<Credentials><AccessKeyId>${x(a.AccessKeyId)}</AccessKeyId><SecretAccessKey>${VENDED_SECRET}</SecretAccessKey>` +
          `<SessionToken>${VENDED_TOKEN}</SessionToken><Expiration>${x(a.Expiration)}</Expiration></Credentials>` +
          `</AssumeRoleResult><ResponseMetadata><RequestId>${x(a.RequestId)}</RequestId></ResponseMetadata>` +
          `</AssumeRoleResponse>`,
        { status: 200, headers: { 'content-type': 'text/xml' } },
      )
    },
  },
]

describe.each(VENDORS)(
  'what the $vendor STS client takes from a success answer',
  ({ vendor, roleArn, answer }) => {
    /** AssumeRole for `durationSeconds` against a fake STS answering `over` on a sound answer. */
    async function assume(over: Answer, durationSeconds = 3600) {
      let calls = 0
      const fetch = (async () => {
        calls++
        return answer({
          Expiration: iso(FIXED_NOW - (FIXED_NOW % 1000) + durationSeconds * 1000),
          AssumedRoleId: 'AROA3EXAMPLE:wl_app-1',
          RequestId: '5A3F0C1E-0D6B-4C8A-9E2F-1B2C3D4E5F60',
          AccessKeyId: 'STS.TEMPKEYID0001',
          ...over,
        })
      }) as typeof globalThis.fetch
      const request: AssumeRoleRequest = {
        vendor,
        endpoint: ENDPOINT,
        region: undefined,
        accessKeyId: 'LONGLIVEDKEYID',
        accessKeySecret: 'long-lived-secret',
        roleArn,
        roleSessionName: 'wl_app-1',
        durationSeconds,
        policy: undefined,
        externalId: undefined,
      }
      const client = createStsClient({ fetch, now: fixedClock, random: () => 0 })
      return { result: client.assumeRole(request), calls: () => calls }
    }

    it('takes a sound answer as it is', async () => {
      const assumed = await (await assume({})).result
      expect(assumed.expiration).toBe(FIXED_NOW - (FIXED_NOW % 1000) + 3600_000)
      expect(assumed.requestId).toBe('5A3F0C1E-0D6B-4C8A-9E2F-1B2C3D4E5F60')
    })

    it.each([
      ['long past', '2000-01-01T00:00:00Z'],
      ['now', iso(FIXED_NOW - (FIXED_NOW % 1000))],
      ['within 10 s', iso(FIXED_NOW - (FIXED_NOW % 1000) + 9_000)],
    ])('refuses credentials that expire %s: 502 naming the STS and the field', async (_, expiration) => {
      const { result, calls } = await assume({ Expiration: expiration })
      const error = await rejection(result)
      expectPamError(error, 'StsUnavailable', 502)
      expect(error.message).toMatch(
        new RegExp(
          `^STS at ${HOST} answered AssumeRole with credentials that expire too soon: Credentials\\.Expiration \\S+ is not more than 10 s ahead$`,
        ),
      )
      expect(calls()).toBe(1)
      expectNoSecret(error, [VENDED_SECRET, VENDED_TOKEN])
    })

    it('cuts an expiration past the duration asked for to it, plus a small skew allowance', async () => {
      const assumed = await (await assume({ Expiration: '9999-12-31T23:59:59Z' }, 906)).result
      expect(assumed.expiration).toBe(FIXED_NOW - (FIXED_NOW % 1000) + 906_000 + EXPIRATION_SKEW_MS)
      // A few seconds late (STS's clock ahead of ours) is kept as answered.
      const late = FIXED_NOW - (FIXED_NOW % 1000) + 906_000 + 5_000
      expect((await (await assume({ Expiration: iso(late) }, 906)).result).expiration).toBe(late)
    })

    it.each([
      ['200,000 characters', 'A'.repeat(200_000)],
      ['a bidi override and a NUL', 'x\u202e\u0000y'],
      ['an escape sequence', 'AROA\u001b]52;c;cHduZWQ=\u0007'],
      ['a space', 'AROA EXAMPLE'],
      ['non-ASCII', 'AROAé'],
    ])('refuses an AssumedRoleId of %s: 502 naming the STS and the field', async (_, id) => {
      if (vendor === 'aws' && id.includes('\u0000')) id = id.replace('\u0000', '\u0001') // XML holds no NUL
      const error = await rejection((await assume({ AssumedRoleId: id })).result)
      expectPamError(error, 'StsUnavailable', 502)
      expect(error.message).toBe(
        `STS at ${HOST} answered AssumeRole with a field AssumedRoleUser.AssumedRoleId that is not 1 to 256 visible ASCII characters`,
      )
      expect(error.message.length).toBeLessThan(200)
    })

    it('refuses an access key id that is not short visible ASCII', async () => {
      const error = await rejection((await assume({ AccessKeyId: `STS.${'K'.repeat(300)}` })).result)
      expectPamError(error, 'StsUnavailable', 502)
      expect(error.message).toContain('Credentials.AccessKeyId that is not 1 to 256 visible ASCII characters')
    })

    it.each([
      ['a newline', 'a\nb'],
      ['a bidi override', 'req\u202e1'],
      ['129 characters', 'r'.repeat(129)],
    ])('drops a RequestId with %s (it is only informational) and keeps the credentials', async (_, id) => {
      const assumed = await (await assume({ RequestId: id })).result
      expect(assumed.requestId).toBeUndefined()
      expect(assumed.accessKeySecret).toBe(VENDED_SECRET)
    })
  },
)
