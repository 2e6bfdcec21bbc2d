import { describe, expect, it } from 'vitest'
import {
  CLOUD_REFRESH_WINDOW_MS,
  cloudBackoffDelay,
  cloudCredentialTimes,
} from '../../src/cloud/cloud-credentials-cache.js'
import { ServerError } from '../../src/errors.js'
import { clientWith, errorResponse, rejectionOf } from '../client/support.js'
import { HOUR, MINUTE, SECOND, START, settle, stateOf } from '../token-cache/fake-clock.js'
import { ALIBABA_ROLE, AWS_ROLE, awsAnswer, cloudClient, deferred } from './cloud-fixtures.js'

const keyId = (credentials: { accessKeyId: string }) => credentials.accessKeyId

describe('cloudCredentialTimes', () => {
  it('an hour’s credentials: refresh 15 minutes before they expire, handed out until a minute before', () => {
    expect(cloudCredentialTimes(START + HOUR, START)).toEqual({
      refreshAt: START + HOUR - 15 * MINUTE,
      usableUntil: START + HOUR - MINUTE,
    })
    expect(CLOUD_REFRESH_WINDOW_MS).toBe(15 * MINUTE)
  })

  it('credentials arriving with 15 minutes or less: refreshed halfway, not at once', () => {
    expect(cloudCredentialTimes(START + 15 * MINUTE, START)).toEqual({
      refreshAt: START + 7.5 * MINUTE,
      usableUntil: START + 14 * MINUTE,
    })
    // Just over 15 minutes: the server has new ones a second later, so ask then.
    expect(cloudCredentialTimes(START + 15 * MINUTE + SECOND, START)?.refreshAt).toBe(START + SECOND)
  })

  it('very short ones keep a tenth of their life as margin; expired ones are unusable', () => {
    expect(cloudCredentialTimes(START + 100 * SECOND, START)).toEqual({
      refreshAt: START + 50 * SECOND,
      usableUntil: START + 90 * SECOND,
    })
    expect(cloudCredentialTimes(START, START)).toBeUndefined()
    expect(cloudCredentialTimes(START - 1, START)).toBeUndefined()
    expect(cloudCredentialTimes(Number.NaN, START)).toBeUndefined()
  })

  it('background refreshes back off 1 s, 2 s, 4 s … up to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map(cloudBackoffDelay)).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ])
  })
})

describe('getCloudCredentials caches per role and duration', () => {
  it('100 concurrent cold calls cost exactly one request and get the same credentials', async () => {
    const gate = deferred<void>()
    const { client, fake, clock } = cloudClient({
      handler: async (_request, index) => {
        await gate.promise
        return Response.json(awsAnswer(clock.now() + HOUR, index + 1))
      },
    })
    const calls = Array.from({ length: 100 }, () => client.getCloudCredentials(AWS_ROLE))
    gate.resolve()
    const all = await Promise.all(calls)
    expect(fake.requests).toHaveLength(1)
    expect(new Set(all).size).toBe(1)
    expect(keyId(all[0]!)).toBe('ASIAVISIBLEKEYID1')
    await client.close()
  })

  it('answers from memory until 15 minutes are left, on the injected clock', async () => {
    const { client, fake, clock } = cloudClient()
    const first = await client.getCloudCredentials(AWS_ROLE)
    await clock.jump(45 * MINUTE - SECOND)
    expect(await client.getCloudCredentials(AWS_ROLE)).toBe(first)
    await settle()
    expect(fake.requests).toHaveLength(1)
    await client.close()
  })

  it('inside the last 15 minutes: the held credentials are served while one background refresh runs', async () => {
    const gate = deferred<void>()
    const { client, fake, clock } = cloudClient({
      handler: async (_request, index) => {
        if (index === 1) await gate.promise
        return Response.json(awsAnswer(clock.now() + HOUR, index + 1))
      },
    })
    const first = await client.getCloudCredentials(AWS_ROLE)
    await clock.jump(45 * MINUTE)
    // 100 calls inside the window: each answered at once with the held credentials, one refresh.
    const during = await Promise.all(Array.from({ length: 100 }, () => client.getCloudCredentials(AWS_ROLE)))
    expect(new Set(during)).toEqual(new Set([first]))
    await settle()
    expect(fake.requests).toHaveLength(2)
    expect(await client.getCloudCredentials(AWS_ROLE)).toBe(first)
    gate.resolve()
    await settle()
    const second = await client.getCloudCredentials(AWS_ROLE)
    expect(keyId(second)).toBe('ASIAVISIBLEKEYID2')
    expect(fake.requests).toHaveLength(2)
    // The new ones are held in turn: no request until their own window.
    await clock.jump(44 * MINUTE)
    expect(await client.getCloudCredentials(AWS_ROLE)).toBe(second)
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('blocks only when nothing usable is held: past a minute before expiry, callers share one fetch', async () => {
    const gate = deferred<void>()
    const { client, fake, clock } = cloudClient({
      handler: async (_request, index) => {
        if (index === 1) await gate.promise
        return Response.json(awsAnswer(clock.now() + HOUR, index + 1))
      },
    })
    await client.getCloudCredentials(AWS_ROLE)
    await clock.jump(59 * MINUTE) // no call in the window, so no background refresh was started
    const waiting = Array.from({ length: 100 }, () => client.getCloudCredentials(AWS_ROLE))
    expect(await stateOf(waiting[0]!)).toBe('pending')
    gate.resolve()
    const all = await Promise.all(waiting)
    expect(new Set(all.map(keyId))).toEqual(new Set(['ASIAVISIBLEKEYID2']))
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('a failure is not cached: every waiting caller gets it, the next call asks again', async () => {
    const gate = deferred<void>()
    const { client, fake, clock } = cloudClient({
      handler: async (_request, index) => {
        if (index > 0) return Response.json(awsAnswer(clock.now() + HOUR, index + 1))
        await gate.promise
        return errorResponse(502, 'StsUnavailable', 'the STS could not be reached', 'req_1')
      },
    })
    const failing = Array.from({ length: 10 }, () => rejectionOf(client.getCloudCredentials(AWS_ROLE)))
    gate.resolve()
    for (const error of await Promise.all(failing))
      expect(error).toMatchObject({ name: 'ServerError', serverCode: 'StsUnavailable' })
    expect(fake.requests).toHaveLength(1)
    expect(keyId(await client.getCloudCredentials(AWS_ROLE))).toBe('ASIAVISIBLEKEYID2')
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('a failed background refresh keeps the held credentials and retries after a backoff', async () => {
    const { client, fake, clock } = cloudClient({
      handler: (_request, index) =>
        index === 1 || index === 2
          ? errorResponse(503, 'StsThrottled', 'throttled', `req_${index}`)
          : Response.json(awsAnswer(clock.now() + HOUR, index + 1)),
    })
    const first = await client.getCloudCredentials(AWS_ROLE)
    await clock.jump(50 * MINUTE)
    expect(await client.getCloudCredentials(AWS_ROLE)).toBe(first) // starts refresh #1, which fails
    await settle()
    expect(fake.requests).toHaveLength(2)
    // Backing off 1 s: calls are served, no request.
    expect(await client.getCloudCredentials(AWS_ROLE)).toBe(first)
    await clock.jump(SECOND - 1)
    expect(await client.getCloudCredentials(AWS_ROLE)).toBe(first)
    await settle()
    expect(fake.requests).toHaveLength(2)
    // After it: refresh #2, which fails too; then 2 s.
    await clock.jump(1)
    expect(await client.getCloudCredentials(AWS_ROLE)).toBe(first)
    await settle()
    expect(fake.requests).toHaveLength(3)
    await clock.jump(2 * SECOND - 1)
    await client.getCloudCredentials(AWS_ROLE)
    await settle()
    expect(fake.requests).toHaveLength(3)
    await clock.jump(1)
    expect(await client.getCloudCredentials(AWS_ROLE)).toBe(first)
    await settle()
    expect(fake.requests).toHaveLength(4)
    expect(keyId(await client.getCloudCredentials(AWS_ROLE))).toBe('ASIAVISIBLEKEYID4')
    await client.close()
  })

  it('with nothing usable held there is no backoff: the caller asks at once', async () => {
    const { client, fake, clock } = cloudClient({
      handler: (_request, index) =>
        index === 1
          ? errorResponse(502, 'StsRefused', 'refused', 'req_x')
          : Response.json(awsAnswer(clock.now() + HOUR, index + 1)),
    })
    await client.getCloudCredentials(AWS_ROLE)
    await clock.jump(HOUR)
    expect(await rejectionOf(client.getCloudCredentials(AWS_ROLE))).toBeInstanceOf(ServerError)
    expect(keyId(await client.getCloudCredentials(AWS_ROLE))).toBe('ASIAVISIBLEKEYID3')
    expect(fake.requests).toHaveLength(3)
    await client.close()
  })

  it('credentials of a 900-second role are refreshed halfway through, not at every call', async () => {
    const { client, fake, clock } = cloudClient({ lifetimeMs: 15 * MINUTE })
    const first = await client.getCloudCredentials(AWS_ROLE, { durationSeconds: 900 })
    for (let i = 0; i < 7; i += 1) {
      await clock.jump(MINUTE)
      expect(await client.getCloudCredentials(AWS_ROLE, { durationSeconds: 900 })).toBe(first)
    }
    await settle()
    expect(fake.requests).toHaveLength(1)
    await clock.jump(30 * SECOND)
    expect(await client.getCloudCredentials(AWS_ROLE, { durationSeconds: 900 })).toBe(first)
    await settle()
    expect(fake.requests).toHaveLength(2)
    expect(keyId(await client.getCloudCredentials(AWS_ROLE, { durationSeconds: 900 }))).toBe(
      'ASIAVISIBLEKEYID2',
    )
    await client.close()
  })

  it('each role and each duration is cached apart; the role’s default is a duration of its own', async () => {
    const { client, fake } = cloudClient()
    await Promise.all([
      client.getCloudCredentials(AWS_ROLE),
      client.getCloudCredentials(AWS_ROLE),
      client.getCloudCredentials(AWS_ROLE, { durationSeconds: 3600 }),
      client.getCloudCredentials(AWS_ROLE, { durationSeconds: 3600 }),
      client.getCloudCredentials(AWS_ROLE, { durationSeconds: 7200 }),
      client.getCloudCredentials(ALIBABA_ROLE),
    ])
    expect(fake.requests.map((r) => Object.fromEntries(r.url.searchParams))).toEqual([
      { cloudAccountRoleExternalId: AWS_ROLE },
      { cloudAccountRoleExternalId: AWS_ROLE, durationSeconds: '3600' },
      { cloudAccountRoleExternalId: AWS_ROLE, durationSeconds: '7200' },
      { cloudAccountRoleExternalId: ALIBABA_ROLE },
    ])
    await client.getCloudCredentials(AWS_ROLE, { durationSeconds: 7200 })
    expect(fake.requests).toHaveLength(4)
    await client.close()
  })

  it('forceRefresh fetches afresh and keeps the result; during a fetch it joins it', async () => {
    const gate = deferred<void>()
    const { client, fake, clock } = cloudClient({
      handler: async (_request, index) => {
        if (index === 1) await gate.promise
        return Response.json(awsAnswer(clock.now() + HOUR, index + 1))
      },
    })
    await client.getCloudCredentials(AWS_ROLE)
    const forced = client.getCloudCredentials(AWS_ROLE, { forceRefresh: true })
    const joined = client.getCloudCredentials(AWS_ROLE, { forceRefresh: true })
    gate.resolve()
    expect(await joined).toBe(await forced)
    expect(keyId(await forced)).toBe('ASIAVISIBLEKEYID2')
    expect(await client.getCloudCredentials(AWS_ROLE)).toBe(await forced)
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('a caller that gives up stops waiting; the shared fetch goes on and is kept', async () => {
    const gate = deferred<void>()
    const { client, fake, clock } = cloudClient({
      handler: async (_request, index) => {
        await gate.promise
        return Response.json(awsAnswer(clock.now() + HOUR, index + 1))
      },
    })
    const controller = new AbortController()
    const impatient = rejectionOf(client.getCloudCredentials(AWS_ROLE, { signal: controller.signal }))
    const patient = client.getCloudCredentials(AWS_ROLE)
    const reason = new Error('impatient')
    controller.abort(reason)
    expect(await impatient).toBe(reason)
    gate.resolve()
    expect(keyId(await patient)).toBe('ASIAVISIBLEKEYID1')
    expect(await client.getCloudCredentials(AWS_ROLE)).toBe(await patient)
    expect(await rejectionOf(client.getCloudCredentials(AWS_ROLE, { signal: controller.signal }))).toBe(
      reason,
    )
    expect(fake.requests).toHaveLength(1)
    await client.close()
  })

  it('close forgets the credentials and stops a fetch under way', async () => {
    const gate = deferred<void>()
    const { client, clock } = cloudClient({
      handler: async () => {
        await gate.promise
        return Response.json(awsAnswer(clock.now() + HOUR))
      },
    })
    const pending = rejectionOf(client.getCloudCredentials(AWS_ROLE))
    await client.close()
    gate.resolve()
    expect(await pending).toMatchObject({ name: 'AbortError' })
    expect(await rejectionOf(client.getCloudCredentials(AWS_ROLE))).toMatchObject({ name: 'AbortError' })
  })

  it('cloudCredentialsCache.now must be a function', () => {
    const now = 'soon' as unknown as () => number
    expect(() => clientWith(() => Response.json({}), { cloudCredentialsCache: { now } })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }),
    )
  })
})
