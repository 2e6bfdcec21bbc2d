import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RouteSpec } from '../../src/http/route-table.js'
import { accountAdminRoutes, accountRoutes } from '../../src/http/routes/account-routes.js'
import { call, ENGINES, openTestServer, type TestServer } from '../support/engines.js'
import { createWorkload, grantAccounts, PAM, privateKeyText } from './accounts-fixtures.js'

describe.each(ENGINES)('every account endpoint under random input on %s', (engine) => {
  let t: TestServer
  let accountId: string
  const tokens: string[] = []
  beforeAll(async () => {
    t = await openTestServer(engine, { app: { authFailures: { burst: 100_000, refillPerSecond: 1 } } })
    const created = await call(t, 'POST', `/admin/v1/instances/${t.instanceId}/accounts`, {
      accountName: 'fuzz-host/root',
      password: 'fuzz-password',
      sshKey: { key: privateKeyText('ed25519-plain') },
    })
    accountId = created.body.accountId
    const workload = await createWorkload(t, 'fuzzer')
    await grantAccounts(t, workload.applicationId, 'fuzz-host/', ['obtain', 'read'], true)
    tokens.push(await workload.token(), await workload.token(`${PAM}|account:read`))
  })
  afterAll(async () => t?.close())

  const anyJson = fc.jsonValue({ maxDepth: 3 })
  const names = fc.oneof(
    fc.constantFrom('fuzz-host/root', 'fuzz-host/new', 'other/x', 'a/b', '/', 'x', ''),
    fc.string({ maxLength: 30 }),
    fc
      .tuple(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,8}$/), fc.stringMatching(/^[a-z0-9@.]{1,8}$/))
      .map(([target, account]) => `${target}/${account}`),
  )
  const keyTexts = fc.oneof(
    fc.constantFrom(
      privateKeyText('ed25519-plain'),
      privateKeyText('ed25519-encrypted'),
      privateKeyText('ed25519-3des'),
      privateKeyText('rsa-pkcs8-encrypted'),
      privateKeyText('ed25519-plain').slice(0, 150),
      privateKeyText('ed25519-plain').replace('b3BlbnNzaC1r', 'AAAAAAAAAAAA'),
      '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
      '-----BEGIN PRIVATE KEY-----\nMII=\n-----END PRIVATE KEY-----\n',
      '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: X,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n',
    ),
    fc.string({ maxLength: 80 }),
  )
  const sshKey = fc.oneof(
    fc.record(
      {
        key: keyTexts,
        passphrase: fc.oneof(fc.constantFrom('pass', 'pem-pass', 'wrong'), fc.string({ maxLength: 10 })),
        fileName: fc.oneof(fc.constantFrom('id_ed25519', 'a/b', '\u0001'), fc.string({ maxLength: 10 })),
        extra: anyJson,
      },
      { requiredKeys: [] },
    ),
    fc.constant(null),
    anyJson,
  )
  const value = fc.oneof(anyJson, names, sshKey, fc.boolean(), fc.string({ maxLength: 600 }))
  const validName = fc
    .tuple(fc.constantFrom('fuzz-host', 'other', 'h1'), fc.stringMatching(/^[a-z0-9][a-z0-9@.]{0,6}$/))
    .map(([target, account]) => `${target}/${account}`)
  /** Well-typed values of every field, so that many calls get past the schema into the services. */
  const typed: Record<string, fc.Arbitrary<unknown>> = {
    accountName: fc.oneof(validName, fc.constantFrom('fuzz-host/root', 'ACCOUNT_ID', 'other/x')),
    displayName: fc.string({ minLength: 1, maxLength: 20 }),
    description: fc.string({ maxLength: 20 }),
    requiresReason: fc.boolean(),
    password: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constant(null)),
    sshKey: fc.oneof(
      fc.constant(null),
      fc.record(
        {
          key: keyTexts,
          passphrase: fc.constantFrom('pass', 'pem-pass', 'wrong'),
          fileName: fc.constantFrom('id_ed25519', 'key.pem'),
        },
        { requiredKeys: ['key'] },
      ),
    ),
    reason: fc.string({ minLength: 1, maxLength: 20 }),
    decrypt: fc.boolean(),
  }
  const random = fc.oneof(
    fc.record(
      {
        accountName: names,
        displayName: value,
        description: value,
        requiresReason: value,
        password: value,
        sshKey,
        reason: value,
        decrypt: value,
      },
      { requiredKeys: [] },
    ),
    fc.dictionary(fc.string({ maxLength: 12 }), value, { maxKeys: 4 }),
    anyJson,
  )
  /** A body for `route`: random, or well-typed fields of its own schema. */
  const bodyFor = (route: RouteSpec) => {
    const fields = Object.keys((route.body as { properties?: object } | undefined)?.properties ?? {})
    const own = Object.fromEntries(fields.map((f) => [f, typed[f] ?? anyJson]))
    return fields.length === 0 ? random : fc.oneof(random, fc.record(own, { requiredKeys: [] }))
  }
  const query = fc.dictionary(
    fc.constantFrom('maxResults', 'nextToken', 'namePrefix', 'x'),
    fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.integer().map(String),
      fc.constantFrom('1', '1000', '-1', '%00', ''),
    ),
    { maxKeys: 3 },
  )
  const ref = fc.oneof(
    names,
    fc.constantFrom('ACCOUNT_ID', 'fuzz-host/root', 'acct_00000000000000000000000000', '%2F', '..'),
  )

  const send = async (
    route: RouteSpec,
    payload: unknown,
    q: Record<string, string>,
    account: string,
    token: number,
  ) => {
    const path = route.url
      .replace(':instanceId', t.instanceId)
      .replace(':account', account === 'ACCOUNT_ID' ? accountId : encodeURIComponent(account))
    const search = new URLSearchParams(q).toString()
    const res = await t.app.inject({
      method: route.method,
      url: search ? `${path}?${search}` : path,
      headers: {
        authorization: route.auth === 'admin' ? t.auth.authorization : `Bearer ${tokens[token]}`,
        'content-type': 'application/json',
      },
      ...(route.method === 'GET' ? {} : { payload: JSON.stringify(payload) }),
    })
    return { status: res.statusCode, text: res.body }
  }

  it('never answers 5xx, and always answers JSON, to any body, query or account reference', async () => {
    const table = [...accountAdminRoutes(t.services), ...accountRoutes(t.services)]
    // Every account route, the console's who-can-read included.
    expect(table).toHaveLength(12)
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...table).chain((route) => fc.tuple(fc.constant(route), bodyFor(route))),
        query,
        ref,
        fc.integer({ min: 0, max: 1 }),
        async ([route, payload], q, account, token) => {
          const named = (payload as { accountName?: unknown } | null)?.accountName === 'ACCOUNT_ID'
          const res = await send(
            route,
            named ? { ...(payload as object), accountName: accountId } : payload,
            q,
            account,
            token,
          )
          if (res.status >= 500)
            throw new Error(
              `${route.method} ${route.url} answered ${res.status}: ${res.text} to ${JSON.stringify(payload)}`,
            )
          expect(() => JSON.parse(res.text)).not.toThrow()
          // Only a granted obtainPassword answers the password; no refusal ever carries it.
          if (res.status !== 200) expect(res.text).not.toContain('fuzz-password')
        },
      ),
      { numRuns: engine === 'postgres' ? 300 : 500 },
    )
  })
})
