import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RouteSpec } from '../../src/http/route-table.js'
import {
  cloudAccountAdminRoutes,
  cloudAccountRoleRoutes,
} from '../../src/http/routes/cloud-account-routes.js'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import { createWorkload } from './accounts-fixtures.js'
import {
  ALIBABA_ROLE,
  ALIBABA_SECRET,
  AWS_ROLE,
  AWS_SECRET,
  createCloudAccounts,
  grantRole,
  ScriptedSts,
} from './cloud-fixtures.js'

describe.each(ENGINES)('every cloud account endpoint under random input on %s', (engine) => {
  let t: TestServer
  const tokens: string[] = []
  let ids: Record<string, string> = {}
  beforeAll(async () => {
    t = await openTestServer(engine, {
      sts: new ScriptedSts(Date.now),
      app: { authFailures: { burst: 100_000, refillPerSecond: 1 } },
    })
    const cloud = await createCloudAccounts(t)
    ids = {
      ACCOUNT_ID: cloud.aws.cloudAccountId,
      ROLE_ID: cloud.aws.role.cloudAccountRoleId,
    }
    const workload = await createWorkload(t, 'fuzzer')
    await grantRole(t, workload.applicationId, 'arn:aws:iam::', true)
    tokens.push(await workload.token(), await workload.token('urn:cloud:idaas:pam|credential:obtain'))
  })
  afterAll(async () => t?.close())

  const anyJson = fc.jsonValue({ maxDepth: 3 })
  const arns = fc.oneof(
    fc.constantFrom(AWS_ROLE, ALIBABA_ROLE, 'arn:aws:iam::123456789012:role/a/b/c', 'acs:ram::1:role/x', ''),
    fc.string({ maxLength: 40 }),
    fc.stringMatching(/^arn:aws:iam::\d{12}:role\/[\w+=,.@-]{1,8}$/),
  )
  const durations = fc.oneof(
    fc.integer({ min: -1, max: 50_000 }),
    fc.constantFrom(900, 3600, 43200, 1.5, 1e300),
  )
  /** Well-typed values of every field, so that many calls get past the schema into the services. */
  const typed: Record<string, fc.Arbitrary<unknown>> = {
    name: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), fc.constantFrom('prod-aws', 'deployer')),
    vendorType: fc.constantFrom('aws', 'alibaba_cloud', 'gcp'),
    vendorAccountId: fc.oneof(fc.stringMatching(/^\d{1,20}$/), fc.constantFrom('123456789012')),
    accessKeyId: fc.stringMatching(/^[A-Z0-9]{6,20}$/),
    accessKeySecret: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constant(AWS_SECRET)),
    description: fc.string({ maxLength: 20 }),
    stsEndpoint: fc.oneof(
      fc.constantFrom('https://sts.example.com', 'http://127.0.0.1:1', 'http://[::1]:1/', 'ftp://x', null),
      fc.webUrl(),
      fc.string({ maxLength: 20 }),
    ),
    region: fc.oneof(fc.constantFrom('eu-west-1', 'cn-hangzhou', null), fc.string({ maxLength: 10 })),
    roleExternalId: arns,
    defaultDurationSeconds: durations,
    maxDurationSeconds: durations,
    sessionPolicy: fc.oneof(fc.constantFrom('{}', '{"Version":"1"}', '[]', 'x', null), fc.json()),
    externalId: fc.oneof(fc.stringMatching(/^[\w+=,.@:/-]{2,12}$/), fc.constant(null)),
  }
  const value = fc.oneof(anyJson, fc.string({ maxLength: 300 }), fc.boolean())
  const random = fc.oneof(
    fc.dictionary(fc.constantFrom(...Object.keys(typed), 'x'), value, { maxKeys: 5 }),
    anyJson,
  )
  const bodyFor = (route: RouteSpec) => {
    const fields = Object.keys((route.body as { properties?: object } | undefined)?.properties ?? {})
    const own = Object.fromEntries(fields.map((f) => [f, typed[f] ?? anyJson]))
    return fields.length === 0 ? random : fc.oneof(random, fc.record(own, { requiredKeys: [] }))
  }
  const query = fc.dictionary(
    fc.constantFrom(
      'maxResults',
      'nextToken',
      'namePrefix',
      'cloudAccountRoleExternalId',
      'durationSeconds',
      'x',
    ),
    fc.oneof(
      fc.string({ maxLength: 30 }),
      arns,
      durations.map(String),
      fc.constantFrom('1', '1000', '-1', '%00', '', '0900', '3600'),
    ),
    { maxKeys: 3 },
  )
  const ref = fc.oneof(
    fc.string({ maxLength: 20 }),
    arns,
    fc.constantFrom('ACCOUNT_ID', 'ROLE_ID', 'prod-aws', 'deployer', 'ca_00000000000000000000000000', '..'),
  )

  const send = async (
    route: RouteSpec,
    payload: unknown,
    q: Record<string, string>,
    refs: string[],
    token: number,
  ) => {
    const path = route.url
      .replace(':instanceId', t.instanceId)
      .replace(':cloudAccount', encodeURIComponent(ids[refs[0]!] ?? refs[0]!))
      .replace(':role', encodeURIComponent(ids[refs[1]!] ?? refs[1]!))
    const search = new URLSearchParams(q).toString()
    const res = await t.app.inject({
      method: route.method,
      url: search ? `${path}?${search}` : path,
      headers: {
        authorization: route.auth === 'admin' ? t.auth.authorization : `Bearer ${tokens[token]}`,
        'content-type': 'application/json',
      },
      ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: JSON.stringify(payload) }),
    })
    return { status: res.statusCode, text: res.body }
  }

  it('never answers 5xx, always answers JSON, and never shows a long-lived secret', async () => {
    const table = [...cloudAccountAdminRoutes(t.services), ...cloudAccountRoleRoutes(t.services)]
    expect(table).toHaveLength(15)
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...table).chain((route) => fc.tuple(fc.constant(route), bodyFor(route))),
        query,
        fc.tuple(ref, ref),
        fc.integer({ min: 0, max: 1 }),
        async ([route, payload], q, refs, token) => {
          const res = await send(route, payload, q, refs, token)
          if (res.status >= 500)
            throw new Error(
              `${route.method} ${route.url} answered ${res.status}: ${res.text} to ${JSON.stringify([payload, q, refs])}`,
            )
          if (res.status !== 204) expect(() => JSON.parse(res.text)).not.toThrow()
          expect(res.text).not.toContain(AWS_SECRET)
          expect(res.text).not.toContain(ALIBABA_SECRET)
        },
      ),
      { numRuns: engine === 'postgres' ? 300 : 500 },
    )
  })
})
