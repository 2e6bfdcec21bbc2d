// The STS credentials a node holds: whatever expiration an STS client hands over (a fake client
// here), the credentials are never kept or handed out past the duration asked for, and credentials
// that are expired already are refused.

import { describe, expect, it } from 'vitest'
import { PamError } from '../../src/errors.js'
import { AssumedRoles } from '../../src/services/cloud-accounts/assumed-roles.js'
import type { AssumedRole, AssumeRoleRequest, StsClient } from '../../src/sts/assume-role.js'

const START = Date.UTC(2030, 0, 2, 3, 4, 5)
/** How much later than asked an expiration may be before it is cut. */
const EXPIRATION_SKEW_MS = 60_000

const request = (durationSeconds: number): AssumeRoleRequest => ({
  vendor: 'alibaba_cloud',
  endpoint: 'https://sts.example.com',
  region: undefined,
  accessKeyId: 'LTAI5tEXAMPLE',
  accessKeySecret: 'long-lived-secret',
  roleArn: 'acs:ram::1234567890123456:role/reader',
  roleSessionName: 'wl_app-1',
  durationSeconds,
  policy: undefined,
  externalId: undefined,
})

/** An STS client that answers every call with credentials expiring at `expiration`. */
function stsAnswering(expiration: number): StsClient & { calls: number } {
  const sts = {
    calls: 0,
    async assumeRole(): Promise<AssumedRole> {
      sts.calls++
      return {
        accessKeyId: `STS.${sts.calls}`,
        accessKeySecret: 'vended-secret',
        securityToken: 'vended-token',
        expiration,
        assumedRoleId: 'AROA:wl_app-1',
        assumedRoleArn: 'acs:ram::1234567890123456:role/reader/wl_app-1',
        requestId: 'req-1',
      }
    },
  }
  return sts
}

describe('AssumedRoles', () => {
  it('keeps credentials STS says live until 9999 only as long as was asked, then asks again', async () => {
    let now = START
    const sts = stsAnswering(Date.parse('9999-12-31T23:59:59Z'))
    const roles = new AssumedRoles(sts, () => now)
    const held = await roles.obtain('k', async () => request(906))
    expect(held.expiration).toBe(START - (START % 1000) + 906_000 + EXPIRATION_SKEW_MS)
    expect(sts.calls).toBe(1)
    // Reused while more than 15 minutes are left of what was asked (plus the skew allowance)…
    now = START + 60_000
    await roles.obtain('k', async () => request(906))
    expect(sts.calls).toBe(1)
    // …and no longer: a node does not hand them out for its whole lifetime.
    now = START + 906_000 + EXPIRATION_SKEW_MS - 15 * 60_000 + 1000
    expect(roles.usable('k')).toBeUndefined()
    await roles.obtain('k', async () => request(906))
    expect(sts.calls).toBe(2)
  })

  it('refuses credentials that are expired already, and keeps nothing', async () => {
    const sts = stsAnswering(Date.parse('2000-01-01T00:00:00Z'))
    const roles = new AssumedRoles(sts, () => START)
    const error = await roles.obtain('k', async () => request(3600)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PamError)
    expect(error).toMatchObject({ code: 'StsUnavailable' })
    expect((error as PamError).message).toContain('STS at sts.example.com')
    expect((error as PamError).message).toContain('Credentials.Expiration')
    expect(roles.usable('k')).toBeUndefined()
  })
})
