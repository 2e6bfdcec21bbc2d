import { format, inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { TokenCache } from '../../src/token-cache/token-cache.js'
import { FakeClock, HOUR } from './fake-clock.js'

const CANARY = 'canary-7f3a9c1e-access-token'

async function warmCache() {
  const clock = new FakeClock()
  const cache = new TokenCache({
    fetchToken: async () => ({
      accessToken: CANARY,
      expiresAt: clock.now() + HOUR,
      tokenType: 'Bearer',
      scope: 'pam',
    }),
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
  })
  const token = await cache.getToken()
  return { cache, token }
}

describe('TokenCache redaction', () => {
  it('never prints the token through util.inspect, console formatting or JSON.stringify of the cache', async () => {
    const { cache } = await warmCache()
    const printed = [
      inspect(cache),
      inspect(cache, { showHidden: true, depth: Number.POSITIVE_INFINITY, getters: true }),
      format('%o %O %s %j', cache, cache, cache, cache),
      JSON.stringify(cache),
      JSON.stringify({ nested: [cache] }),
      String(Object.entries(cache)),
    ]
    for (const text of printed) expect(text).not.toContain(CANARY)
    expect(inspect(cache)).toContain('[REDACTED]')
    expect(JSON.parse(JSON.stringify(cache))).toMatchObject({ token: '[REDACTED]', refreshing: false })
    cache.close()
  })

  it('hands out tokens that print redacted but still carry the secret', async () => {
    const { cache, token } = await warmCache()
    expect(token.accessToken).toBe(CANARY)
    expect(token).toMatchObject({ tokenType: 'Bearer', scope: 'pam' })
    for (const text of [inspect(token), format('%o %O %j', token, token, token), JSON.stringify(token)]) {
      expect(text).not.toContain(CANARY)
      expect(text).toContain('[REDACTED]')
    }
    expect(Object.isFrozen(token)).toBe(true)
    expect(Object.keys(token).sort()).toEqual(['accessToken', 'expiresAt', 'scope', 'tokenType'])
    cache.close()
  })
})
