import type { ObtainedCloudAccessCredential } from '@strongroom/protocol'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { PamClient } from '../../src/client/pam-client.js'
import { AlibabaCloudStsCredentials, AwsStsCredentials } from '../../src/cloud/cloud-credentials.js'
import {
  CloudAccountDisabledError,
  CloudAccountRoleDisabledError,
  CloudAccountRoleNotFoundError,
} from '../../src/cloud-errors.js'
import { fromClientSecret } from '../../src/credentials/from-client-secret.js'
import { NotFoundError, PamError, PermissionError, ServerError, ValidationError } from '../../src/errors.js'
import * as sdk from '../../src/index.js'
import { BASE, ENDPOINT, errorResponse, fakeFetch, INSTANCE, rejectionOf } from '../client/support.js'
import { HOUR, START } from '../token-cache/fake-clock.js'
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

const OBTAIN = `${BASE}/cloudAccountRoles/_/actions/obtainAccessCredential`
const EXPIRES = START + HOUR

describe('getCloudCredentials: the request', () => {
  it('GETs obtainAccessCredential with the ARN, the x-acs headers of the IDaaS action and the bearer token', async () => {
    const { client, fake } = cloudClient()
    await client.getCloudCredentials(AWS_ROLE)
    expect(fake.requests).toHaveLength(1)
    const [request] = fake.requests
    expect(request!.method).toBe('GET')
    expect(request!.url.origin + request!.url.pathname).toBe(OBTAIN)
    expect([...request!.url.searchParams]).toEqual([['cloudAccountRoleExternalId', AWS_ROLE]])
    expect(request!.url.search).toBe(`?cloudAccountRoleExternalId=${encodeURIComponent(AWS_ROLE)}`)
    expect(request!.headers.get('authorization')).toBe('Bearer access-1')
    expect(request!.headers.get('x-acs-action')).toBe('ObtainCloudAccountRoleAccessCredential')
    expect(request!.headers.get('x-acs-version')).toBe('2022-02-25')
    expect(request!.json).toBeUndefined()
    await client.close()
  })

  it('sends durationSeconds only when asked', async () => {
    const { client, fake } = cloudClient({ vendor: 'alibaba_cloud' })
    await client.getCloudCredentials(ALIBABA_ROLE, { durationSeconds: 7200 })
    expect(Object.fromEntries(fake.requests[0]!.url.searchParams)).toEqual({
      cloudAccountRoleExternalId: ALIBABA_ROLE,
      durationSeconds: '7200',
    })
    await client.close()
  })

  it('percent-encodes the instance id in the path', async () => {
    const { client, fake } = cloudClient()
    await client.getCloudCredentials(AWS_ROLE)
    expect(fake.requests[0]!.url.pathname).toBe(
      `/v2/${INSTANCE}/cloudAccountRoles/_/actions/obtainAccessCredential`,
    )
    await client.close()
  })

  it('asks the token endpoint for urn:cloud:idaas:pam|.all, which includes the operation’s scope', async () => {
    const forms: URLSearchParams[] = []
    const provider = fromClientSecret({
      clientId: 'app_demo',
      tokenEndpoint: `${ENDPOINT}/v2/${INSTANCE}/authorizationServer/iauths_system/oauth2/token`,
      clientSecret: 'client-secret',
      call: async (form) => {
        forms.push(form)
        return { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600 }
      },
    })
    const fake = fakeFetch(() => Response.json(awsAnswer(Date.now() + HOUR)))
    const client = new PamClient({
      credentials: provider,
      instanceId: INSTANCE,
      endpoint: ENDPOINT,
      http: { fetch: fake.fetch, retry: false },
    })
    await client.getCloudCredentials(AWS_ROLE)
    expect(forms).toHaveLength(1)
    expect(forms[0]!.get('scope')).toBe('urn:cloud:idaas:pam|.all')
    expect(fake.requests[0]!.headers.get('authorization')).toBe('Bearer at-1')
    await client.close()
  })

  it.each([
    ['an empty role', '', {}],
    ['a blank role', '  ', {}],
    ['a role that is not a string', 42, {}],
    ['a duration under 900', AWS_ROLE, { durationSeconds: 899 }],
    ['a duration over 43200', AWS_ROLE, { durationSeconds: 43_201 }],
    ['a fractional duration', AWS_ROLE, { durationSeconds: 1800.5 }],
    ['a duration as text', AWS_ROLE, { durationSeconds: '3600' }],
  ])('%s is a TypeError before any request', async (_what, role, options) => {
    const { client, fake } = cloudClient()
    const invalid = expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
    expect(await rejectionOf(client.getCloudCredentials(role as string, options as object))).toEqual(invalid)
    expect(() => client.awsCredentialProvider(role as string, options as object)).toThrow(invalid)
    expect(() => client.alibabaCloudCredential(role as string, options as object)).toThrow(invalid)
    expect(fake.requests).toHaveLength(0)
    await client.close()
  })

  it('takes 900 and 43200 themselves', async () => {
    const { client, fake } = cloudClient()
    await client.getCloudCredentials(AWS_ROLE, { durationSeconds: 900 })
    await client.getCloudCredentials(AWS_ROLE, { durationSeconds: 43_200 })
    expect(fake.requests.map((r) => r.url.searchParams.get('durationSeconds'))).toEqual(['900', '43200'])
    await client.close()
  })
})

describe('getCloudCredentials: the answer', () => {
  it('an AWS role: ids, key id, secret key, session token, expiration as a Date and expiresAt in seconds', async () => {
    const { client } = cloudClient({ handler: () => Response.json(awsAnswer(EXPIRES)) })
    const credentials = await client.getCloudCredentials(AWS_ROLE)
    expect(credentials).toBeInstanceOf(AwsStsCredentials)
    if (credentials.vendor !== 'aws') throw new Error('expected an AWS credential')
    expect(credentials).toMatchObject({
      vendor: 'aws',
      cloudAccountId: 'ca_aws01',
      cloudAccountRoleId: 'car_aws01',
      cloudAccountRoleName: 'deployer',
      cloudAccountRoleExternalId: AWS_ROLE,
      accessKeyId: 'ASIAVISIBLEKEYID1',
      expiresAt: EXPIRES / 1000,
    })
    expect(credentials.expiration).toEqual(new Date(EXPIRES))
    expect(credentials.secretAccessKey).toBe(`${AWS_SECRET}-1`)
    expect(credentials.sessionToken).toBe(`${AWS_TOKEN}-1`)
    expect(Object.isFrozen(credentials)).toBe(true)
    await client.close()
  })

  it('an Alibaba Cloud role: key id, key secret, security token', async () => {
    const { client } = cloudClient({ handler: () => Response.json(alibabaAnswer(EXPIRES)) })
    const credentials = await client.getCloudCredentials(ALIBABA_ROLE)
    expect(credentials).toBeInstanceOf(AlibabaCloudStsCredentials)
    if (credentials.vendor !== 'alibaba_cloud') throw new Error('expected an Alibaba Cloud credential')
    expect(credentials).toMatchObject({
      vendor: 'alibaba_cloud',
      cloudAccountId: 'ca_alibaba01',
      cloudAccountRoleId: 'car_alibaba01',
      cloudAccountRoleExternalId: ALIBABA_ROLE,
      accessKeyId: 'STS.visible-key-id-1',
      expiresAt: EXPIRES / 1000,
    })
    expect(credentials.expiration.toISOString()).toBe('2030-01-01T01:00:00.000Z')
    expect(credentials.accessKeySecret).toBe(`${ALIBABA_SECRET}-1`)
    expect(credentials.securityToken).toBe(`${ALIBABA_TOKEN}-1`)
    await client.close()
  })

  it('copies only the contract’s fields: an unknown one never rides along', async () => {
    const answer = awsAnswer(EXPIRES)
    const extra = {
      ...answer,
      extra: 'x',
      cloudAccountRoleAccessCredential: {
        ...(answer['cloudAccountRoleAccessCredential'] as object),
        extra: 'y',
      },
    }
    const { client } = cloudClient({ handler: () => Response.json(extra) })
    const credentials = await client.getCloudCredentials(AWS_ROLE)
    expect(Object.keys(credentials)).toEqual([
      'vendor',
      'cloudAccountId',
      'cloudAccountRoleId',
      'cloudAccountRoleName',
      'cloudAccountRoleExternalId',
      'accessKeyId',
      'expiration',
      'expiresAt',
    ])
    await client.close()
  })

  /** The answer with one change made to a copy of it. */
  const changed = (change: (answer: EditableAnswer) => void, vendor: 'aws' | 'alibaba_cloud' = 'aws') => {
    const answer = structuredClone(vendor === 'aws' ? awsAnswer(EXPIRES) : alibabaAnswer(EXPIRES))
    change(answer)
    return answer
  }
  const token = (a: EditableAnswer) => a['cloudAccountRoleAccessCredential']['awsStsToken']
  const MALFORMED: [string, unknown, RegExp][] = [
    ['not an object', ['x'], /the body is not a JSON object/],
    ['an unknown vendor', changed((a) => (a['cloudAccountVendorType'] = 'gcp')), /cloudAccountVendorType/],
    ['no role id', changed((a) => delete a['cloudAccountRoleId']), /cloudAccountRoleId is not a string/],
    [
      'an empty role name',
      changed((a) => (a['cloudAccountRoleName'] = '')),
      /cloudAccountRoleName is not a non-empty/,
    ],
    [
      'no credential',
      changed((a) => delete a['cloudAccountRoleAccessCredential']),
      /cloudAccountRoleAccessCredential is not an object/,
    ],
    [
      'expiresAt in milliseconds as text',
      changed((a) => (a['cloudAccountRoleAccessCredential']['accessCredentialExpiresAt'] = '1893459600')),
      /accessCredentialExpiresAt is not a number/,
    ],
    [
      'a fractional expiresAt',
      changed((a) => (a['cloudAccountRoleAccessCredential']['accessCredentialExpiresAt'] = 1.5)),
      /accessCredentialExpiresAt is not a whole number/,
    ],
    [
      'the other vendor’s token',
      changed((a) => {
        const c = a['cloudAccountRoleAccessCredential']
        c['alibabaCloudStsToken'] = { ...c['awsStsToken'] }
        delete c['awsStsToken']
      }),
      /awsStsToken is not an object/,
    ],
    [
      'both tokens',
      changed((a) => {
        const c = a['cloudAccountRoleAccessCredential']
        c['alibabaCloudStsToken'] = c['awsStsToken']
      }),
      /awsStsToken comes with the other vendor's token/,
    ],
    [
      'no session token',
      changed((a) => delete token(a)['sessionToken']),
      /awsStsToken\.sessionToken is not a string/,
    ],
    [
      'an empty secret key',
      changed((a) => (token(a)['secretAccessKey'] = '')),
      /awsStsToken\.secretAccessKey is not a non-empty/,
    ],
    [
      'a key id that is a number',
      changed((a) => (token(a)['accessKeyId'] = 7)),
      /awsStsToken\.accessKeyId is not a string/,
    ],
    [
      'an expiration with fractions of a second',
      changed((a) => (token(a)['expiration'] = '2030-01-01T01:00:00.000Z')),
      /awsStsToken\.expiration is not a time written YYYY-MM-DDTHH:MM:SSZ/,
    ],
    [
      'an expiration that is not a date',
      changed((a) => (token(a)['expiration'] = '2030-02-30T00:00:00Z')),
      /expiration/,
    ],
    [
      'an Alibaba token without its security token',
      changed(
        (a) => delete a['cloudAccountRoleAccessCredential']['alibabaCloudStsToken']['securityToken'],
        'alibaba_cloud',
      ),
      /alibabaCloudStsToken\.securityToken is not a string/,
    ],
  ]

  it.each(MALFORMED)(
    '%s is a ServerError naming the field, never its value',
    async (_what, body, message) => {
      const { client } = cloudClient({ handler: () => Response.json(body) })
      const error = await rejectionOf(client.getCloudCredentials(AWS_ROLE))
      expect(error).toBeInstanceOf(ServerError)
      expect((error as Error).message).toMatch(
        /^ObtainCloudAccountRoleAccessCredential answered with an unexpected body: /,
      )
      expect((error as Error).message).toMatch(message)
      expect((error as Error).message).not.toMatch(/canary/)
      await client.close()
    },
  )

  it('a credential that has expired on arrival is refused, and not kept', async () => {
    const { client, fake, clock } = cloudClient({
      handler: (_request, index) =>
        Response.json(awsAnswer(index === 0 ? clock.now() - 1000 : clock.now() + HOUR, index + 1)),
    })
    const error = await rejectionOf(client.getCloudCredentials(AWS_ROLE))
    expect(error).toBeInstanceOf(ServerError)
    expect((error as Error).message).toMatch(/clock/)
    expect((await client.getCloudCredentials(AWS_ROLE)).accessKeyId).toBe('ASIAVISIBLEKEYID2')
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('the wire schema’s answer has every field the SDK reads', () => {
    type Wire = ObtainedCloudAccessCredential
    type Token = NonNullable<Wire['cloudAccountRoleAccessCredential']['awsStsToken']>
    expectTypeOf<Wire['cloudAccountVendorType']>().toEqualTypeOf<
      AwsStsCredentials['vendor'] | AlibabaCloudStsCredentials['vendor']
    >()
    expectTypeOf<keyof Token>().toEqualTypeOf<
      'accessKeyId' | 'secretAccessKey' | 'sessionToken' | 'expiration'
    >()
    expectTypeOf<
      keyof NonNullable<Wire['cloudAccountRoleAccessCredential']['alibabaCloudStsToken']>
    >().toEqualTypeOf<'accessKeyId' | 'accessKeySecret' | 'securityToken' | 'expiration'>()
    expectTypeOf<
      Exclude<keyof Wire, 'cloudAccountVendorType' | 'cloudAccountRoleAccessCredential'>
    >().toEqualTypeOf<
      Exclude<
        keyof AwsStsCredentials,
        | symbol
        | 'vendor'
        | 'accessKeyId'
        | 'expiration'
        | 'expiresAt'
        | 'secretAccessKey'
        | 'sessionToken'
        | 'toJSON'
      >
    >()
  })
})

describe('getCloudCredentials: the server’s refusals', () => {
  const CASES = [
    [
      404,
      'CloudAccountRoleNotFound',
      CloudAccountRoleNotFoundError,
      NotFoundError,
      'ERR_PAM_CLOUD_ACCOUNT_ROLE_NOT_FOUND',
    ],
    [
      403,
      'CloudAccountRoleDisabled',
      CloudAccountRoleDisabledError,
      PermissionError,
      'ERR_PAM_CLOUD_ACCOUNT_ROLE_DISABLED',
    ],
    [
      403,
      'CloudAccountDisabled',
      CloudAccountDisabledError,
      PermissionError,
      'ERR_PAM_CLOUD_ACCOUNT_DISABLED',
    ],
    [403, 'InsufficientScope', PermissionError, PermissionError, 'ERR_PAM_PERMISSION'],
    [403, 'PermissionDenied', PermissionError, PermissionError, 'ERR_PAM_PERMISSION'],
    [400, 'InvalidParameter.DurationSeconds', ValidationError, ValidationError, 'ERR_PAM_VALIDATION'],
    [502, 'StsRefused', ServerError, ServerError, 'ERR_PAM_SERVER'],
    [502, 'StsUnavailable', ServerError, ServerError, 'ERR_PAM_SERVER'],
    [503, 'StsThrottled', ServerError, ServerError, 'ERR_PAM_SERVER'],
    [504, 'StsTimeout', ServerError, ServerError, 'ERR_PAM_SERVER'],
  ] as const

  it.each(CASES)(
    '%i %s → %o with the server’s code and request id',
    async (status, serverCode, ErrorClass, Base, code) => {
      const { client } = cloudClient({
        handler: () => errorResponse(status, serverCode, `refused: ${serverCode}`, 'req_cloud'),
      })
      const error = await rejectionOf(client.getCloudCredentials(AWS_ROLE))
      expect(error).toBeInstanceOf(ErrorClass)
      expect(error).toBeInstanceOf(Base)
      expect(error).toBeInstanceOf(PamError)
      expect(error).toMatchObject({ code, status, serverCode, requestId: 'req_cloud', name: ErrorClass.name })
      await client.close()
    },
  )

  it('InvalidParameter.DurationSeconds names the field', async () => {
    const { client } = cloudClient({
      handler: () =>
        Response.json(
          {
            Code: 'InvalidParameter.DurationSeconds',
            Message: 'durationSeconds must be at most 3600, the maximum of role …',
            RequestId: 'req_d',
            field: 'durationSeconds',
          },
          { status: 400 },
        ),
    })
    expect(await rejectionOf(client.getCloudCredentials(AWS_ROLE, { durationSeconds: 7200 }))).toMatchObject({
      field: 'durationSeconds',
      serverCode: 'InvalidParameter.DurationSeconds',
    })
    await client.close()
  })

  it('StsThrottled is retried after the Retry-After the server asked for, as every 503 is', async () => {
    const waits: number[] = []
    let calls = 0
    const fake = fakeFetch(() => {
      calls += 1
      return calls === 1
        ? new Response(JSON.stringify({ Code: 'StsThrottled', Message: 'slow down', RequestId: 'r' }), {
            status: 503,
            headers: { 'retry-after': '2', 'content-type': 'application/json' },
          })
        : Response.json(awsAnswer(Date.now() + HOUR))
    })
    const client = new PamClient({
      credentials: {
        name: 'static',
        cacheable: true,
        getToken: async () => ({ accessToken: 'a', expiresAt: Date.now() + HOUR }),
      },
      instanceId: INSTANCE,
      endpoint: ENDPOINT,
      http: { fetch: fake.fetch, sleep: async (ms: number) => void waits.push(ms) },
    })
    expect((await client.getCloudCredentials(AWS_ROLE)).vendor).toBe('aws')
    expect(fake.requests).toHaveLength(2)
    expect(waits).toEqual([2000])
    await client.close()
  })

  it('the condition classes are exported by name', () => {
    for (const name of [
      'CloudAccountRoleNotFoundError',
      'CloudAccountRoleDisabledError',
      'CloudAccountDisabledError',
      'AlibabaCloudStsCredentials',
      'AwsStsCredentials',
      'AlibabaCloudCredential',
      'AwsCredentialIdentity',
    ])
      expect(Object.keys(sdk)).toContain(name)
    expect(Object.keys(sdk)).not.toContain('CloudCredentialsCache')
    expect(Object.keys(sdk)).not.toContain('parseCloudCredentials')
  })
})
