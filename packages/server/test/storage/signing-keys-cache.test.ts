// Any well-formed instance id reaches the signing keys' cache from an unauthenticated request (a
// bearer token naming a made-up instance): the answer for it is kept like any other, so the
// cache must be bounded, and an instance that exists must still be served from it.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openTestServer, type TestServer } from '../support/engines.js'

const madeUpInstanceId = () =>
  `idaas_${Array.from(randomBytes(26), (b) => '0123456789abcdefghijklmnopqrstuvwxyz'[b % 36]).join('')}`

describe('the signing keys kept in memory', () => {
  let t: TestServer
  beforeAll(async () => {
    t = await openTestServer('sqlite')
  })
  afterAll(async () => t?.close())

  it('keep at most 10,000 instances, however many made-up ids are asked for', async () => {
    const keys = t.services.signingKeys
    const real = await keys.active(t.instanceId)
    for (let i = 0; i < 10_500; i++) expect(await keys.published(madeUpInstanceId(), 'k')).toBeUndefined()
    expect(keys.cachedInstances).toBeLessThanOrEqual(10_000)
    expect((await keys.published(t.instanceId, real.kid))?.kid).toBe(real.kid)
  })
})
