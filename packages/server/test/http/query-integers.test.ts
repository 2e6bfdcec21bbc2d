import type { TSchema } from '@sinclair/typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { accountRoutes } from '../../src/http/routes/account-routes.js'
import { authenticationTokenRoutes } from '../../src/http/routes/authentication-token-routes.js'
import { boundTokenRoutes } from '../../src/http/routes/bound-token-routes.js'
import { credentialRoutes } from '../../src/http/routes/credential-routes.js'
import { providerRoutes } from '../../src/http/routes/provider-routes.js'
import { typeboxValidatorCompiler } from '../../src/http/validation.js'
import { call, openTestServer, type TestServer } from '../support/engines.js'
import { adminRoutes } from '../support/routes.js'

/** Spellings TypeBox's conversion used to read as integers they do not say. */
const LOOSE_INTEGERS = [
  '1e2',
  '1.5',
  '0x10',
  '0b1',
  '0o7',
  ' 5',
  '5 ',
  '+5',
  '',
  '1_000',
  'Infinity',
  '9'.repeat(20),
]

describe('integers and booleans in query strings', () => {
  let t: TestServer
  const i = () => `/admin/v1/instances/${t.instanceId}`
  beforeAll(async () => {
    t = await openTestServer('sqlite')
    for (const n of [1, 2, 3]) {
      await call(t, 'POST', `${i()}/credentials`, {
        credentialIdentifier: `list/${n}`,
        credentialType: 'api_key',
        value: { apiKey: `value-${n}` },
      })
    }
  })
  afterAll(async () => t?.close())

  it('refuses maxResults spelled 1e2, 1.5 or 0x10 with 400 naming it, and still reads plain decimals', async () => {
    for (const spelled of ['1e2', '1.5', '0x10']) {
      const res = await call(t, 'GET', `${i()}/credentials?maxResults=${spelled}`)
      expect(res.status, spelled).toBe(400)
      expect(res.body).toMatchObject({
        Code: 'InvalidParameter',
        field: 'maxResults',
        rule: 'must be a decimal integer from 1 to 100',
        error: 'invalid_request',
      })
    }
    const plain = await call(t, 'GET', `${i()}/credentials?maxResults=2`)
    expect(plain.status).toBe(200)
    expect(plain.body.entities).toHaveLength(2)
    expect((await call(t, 'GET', `${i()}/credentials?maxResults=101`)).body.rule).toBe(
      'must be a decimal integer from 1 to 100',
    )
  })

  it('refuses audit times that are not decimal or lie beyond what a Date holds, instead of matching nothing', async () => {
    const audit = `${i()}/audit/events`
    for (const to of ['1e20', '100000000000000000000', '8640000000000001', '-1', '1.5']) {
      const res = await call(t, 'GET', `${audit}?to=${to}`)
      expect(res.status, to).toBe(400)
      expect(res.body).toMatchObject({
        field: 'to',
        rule: 'must be a decimal integer from 0 to 8640000000000000',
      })
    }
    const from = await call(t, 'GET', `${audit}?from=1e3`)
    expect(from.body).toMatchObject({ field: 'from', Code: 'InvalidParameter' })
    const latest = await call(t, 'GET', `${audit}?to=8640000000000000`)
    expect(latest.status).toBe(200)
    expect(latest.body.entities.length).toBeGreaterThan(0)
  })

  it('refuses every loose spelling of every integer query parameter of every route, and booleans other than true/false', () => {
    const routes = [
      ...adminRoutes(t.services),
      ...credentialRoutes(t.services),
      ...authenticationTokenRoutes(t.services),
      ...providerRoutes(t.services),
      ...accountRoutes(t.services),
      ...boundTokenRoutes(t.services),
    ]
    const checked: string[] = []
    for (const route of routes) {
      const schema = route.querystring
      if (schema === undefined) continue
      const validate = typeboxValidatorCompiler({
        schema,
        httpPart: 'querystring',
        method: route.method,
        url: route.url,
      }) as (input: unknown) => { error?: { field?: string; rule?: string } }
      for (const [key, property] of Object.entries(schema.properties as Record<string, TSchema>)) {
        const where = `${route.method} ${route.url} ?${key}`
        if (property.type === 'boolean') {
          for (const spelled of ['1', '0', 'TRUE', 'yes', '']) {
            expect(
              validate({ ...required(schema), [key]: spelled }).error,
              `${where}=${spelled}`,
            ).toMatchObject({
              field: key,
              rule: 'must be true or false',
            })
          }
          checked.push(where)
        }
        if (property.type !== 'integer') continue
        for (const spelled of LOOSE_INTEGERS) {
          const error = validate({ ...required(schema), [key]: spelled }).error
          expect(error, `${where}=${JSON.stringify(spelled)}`).toMatchObject({ field: key })
          expect(error?.rule).toMatch(/^must be a decimal integer from -?\d+ to \d+$/)
        }
        if (typeof property.minimum === 'number' && property.minimum >= 0) {
          expect(validate({ ...required(schema), [key]: '-1' }).error, `${where}=-1`).toMatchObject({
            field: key,
          })
        }
        checked.push(where)
      }
    }
    // The rule reaches the pagination of every surface and the audit times, not just one route.
    expect(checked).toEqual(expect.arrayContaining([expect.stringMatching(/audit\/events \?to$/)]))
    expect(checked.filter((w) => w.endsWith('?maxResults')).length).toBeGreaterThan(5)
    expect(checked.some((w) => w.startsWith('GET /v2/') && w.endsWith('?maxResults'))).toBe(true)
    expect(checked.some((w) => w.endsWith('?revoked'))).toBe(true)
  })
})

/** Plausible values for a query's required string parameters, so only the one under test is wrong. */
function required(schema: TSchema): Record<string, string> {
  const values: Record<string, string> = {}
  for (const key of (schema.required as string[] | undefined) ?? []) values[key] = 'x'
  return values
}
