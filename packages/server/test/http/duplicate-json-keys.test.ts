import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, openTestServer, type TestServer } from '../support/engines.js'

describe('a JSON body that repeats a key', () => {
  let t: TestServer
  const i = () => `/admin/v1/instances/${t.instanceId}`
  const post = (url: string, payload: string) =>
    t.app.inject({ method: 'POST', url, headers: { ...t.auth, 'content-type': 'application/json' }, payload })
  beforeAll(async () => {
    t = await openTestServer('sqlite')
  })
  afterAll(async () => t?.close())

  it('is refused with 400 naming the repeated key, at the top and nested, and nothing is stored', async () => {
    const top = await post(
      `${i()}/credentials`,
      '{"credentialIdentifier": "dup/top", "credentialType": "password", "credentialType": "api_key", "value": {"apiKey": "k"}}',
    )
    expect(top.statusCode).toBe(400)
    expect(JSON.parse(top.body)).toMatchObject({
      Code: 'InvalidParameter.Body',
      field: 'credentialType',
      rule: 'is given more than once in one object',
      error: 'invalid_request',
    })
    const nested = await post(
      `${i()}/credentials`,
      '{"credentialIdentifier": "dup/nested", "credentialType": "api_key", "value": {"apiKey": "first", "\\u0061piKey": "second"}}',
    )
    expect(nested.statusCode).toBe(400)
    expect(JSON.parse(nested.body)).toMatchObject({ field: 'value.apiKey' })
    // Neither value is echoed back.
    expect(nested.body).not.toContain('first')
    expect(nested.body).not.toContain('second')
    const listed = await call(t, 'GET', `${i()}/credentials?identifierPrefix=dup/`)
    expect(listed.body.entities).toEqual([])
  })

  it('is not confused by keys spelled inside string values', async () => {
    const res = await post(
      `${i()}/credentials`,
      '{"credentialIdentifier": "dup/quoted", "credentialType": "api_key", "description": "\\"credentialType\\": x", "value": {"apiKey": "k"}}',
    )
    expect(res.statusCode).toBe(201)
  })
})
