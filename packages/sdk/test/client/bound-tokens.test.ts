import { createHash } from 'node:crypto'
import { inspect } from 'node:util'
import {
  calculateJwkThumbprint,
  compactVerify,
  decodeJwt,
  decodeProtectedHeader,
  EmbeddedJWK,
  type JWK,
} from 'jose'
import { describe, expect, it } from 'vitest'
import { ProofRejectedError, SessionExpiredError } from '../../src/bound-token-errors.js'
import { boundFetch } from '../../src/bound-tokens/bound-fetch.js'
import { boundRequestHeaders } from '../../src/bound-tokens/bound-request-headers.js'
import { ScopedToken, SessionToken } from '../../src/bound-tokens/scoped-token.js'
import { ServerError } from '../../src/errors.js'
import { createProofKey, type ProofKey } from '../../src/proof/proof-key.js'
import {
  BASE,
  clientWith,
  countingProvider,
  errorResponse,
  fakeFetch,
  type RecordedRequest,
  rejectionOf,
} from './support.js'

const SCOPE = 'urn:cloud:idaas:pam|account:obtain'
const ACCESS = 'canary.bound-access-token.7e3c'
const REFRESHED = 'canary.refreshed-access-token.2b9d'

/** A token as the server answers it; `session` adds the session's fields. */
function tokenBody(jkt: string, accessToken: string, session: boolean) {
  return {
    accessToken,
    tokenType: 'DPoP',
    scope: SCOPE,
    expiresIn: 900,
    expirationTime: 1_900_000_900_000,
    jkt,
    tokenId: `jti-${accessToken.length}`,
    ...(session ? { sessionId: 'sess_01', sessionExpirationTime: 1_900_001_800_000 } : {}),
  }
}

/** What the server answers to an issue: a token bound to the key the request sent. */
async function issued(request: RecordedRequest, session = false) {
  const { jwk } = (request.json as { publicKey: { jwk: JWK } }).publicKey
  return tokenBody(await calculateJwkThumbprint(jwk), ACCESS, session)
}

/** The claims of a proof, after checking it is signed by the key in its own header, that key being `key`. */
async function proofClaims(proof: string | null, key: ProofKey) {
  expect(proof).toEqual(expect.any(String))
  await compactVerify(proof!, EmbeddedJWK)
  expect(decodeProtectedHeader(proof!)).toMatchObject({ typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk })
  return decodeJwt(proof!)
}

const ath = (token: string) => createHash('sha256').update(token).digest('base64url')

function sessionToken(accessToken = ACCESS, jkt = 'j'): SessionToken {
  return new SessionToken(accessToken, {
    tokenType: 'DPoP',
    scope: SCOPE,
    expiresIn: 900,
    expirationTime: 1,
    jkt,
    tokenId: 't',
    sessionId: 'sess_01',
    sessionExpirationTime: 2,
  })
}

describe('PamClient key-bound tokens', () => {
  it('getScopedToken sends the scope, the public JWK and the expiration, with the bearer token', async () => {
    const key = await createProofKey()
    const { client, fake } = clientWith((request) => issued(request).then((body) => Response.json(body)))
    const token = await client.getScopedToken({ scope: SCOPE, key, expiration: 300 })
    const [request] = fake.requests
    expect(request?.method).toBe('POST')
    expect(request?.url.href).toBe(`${BASE}/scopedTokens/_/actions/issue`)
    expect(request?.headers.get('authorization')).toBe('Bearer access-1')
    expect(request?.json).toEqual({ scope: SCOPE, publicKey: { jwk: key.publicJwk }, expiration: 300 })
    expect(token).toBeInstanceOf(ScopedToken)
    expect(token).toMatchObject({ tokenType: 'DPoP', scope: SCOPE, expiresIn: 900, jkt: key.thumbprint })
    expect(token.accessToken).toBe(ACCESS)
    await client.close()
  })

  it('a minted token is not retried after a reset connection', async () => {
    const key = await createProofKey()
    const { client, fake } = clientWith(() => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
      })
    })
    expect(await rejectionOf(client.getScopedToken({ scope: SCOPE, key }))).toMatchObject({
      code: 'ERR_PAM_CONNECTION',
    })
    expect(fake.requests).toHaveLength(1)
    await client.close()
  })

  it('a token bound to another key than the one sent is a ServerError', async () => {
    const key = await createProofKey()
    const { client } = clientWith(async (request) =>
      Response.json({ ...(await issued(request)), jkt: 'other' }),
    )
    const error = await rejectionOf(client.getScopedToken({ scope: SCOPE, key }))
    expect(error).toBeInstanceOf(ServerError)
    expect((error as Error).message).toContain('bound to another key')
    await client.close()
  })

  it('a key that is not a ProofKey is a TypeError, before any request', async () => {
    const { client, fake } = clientWith(() => Response.json({}))
    const notAKey = { publicJwk: { kty: 'OKP' } } as unknown as ProofKey
    for (const call of [
      client.getScopedToken({ scope: SCOPE, key: notAKey }),
      client.startSession({ scope: SCOPE, key: notAKey, sessionExpirationInMinutes: 5 }),
      client.refreshSessionToken(sessionToken(), notAKey),
    ]) {
      expect(await rejectionOf(call)).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    }
    expect(fake.requests).toHaveLength(0)
    await client.close()
  })

  it('startSession sends the session length and answers a SessionToken', async () => {
    const key = await createProofKey('EdDSA')
    const { client, fake } = clientWith((request) =>
      issued(request, true).then((body) => Response.json(body)),
    )
    const session = await client.startSession({ scope: SCOPE, key, sessionExpirationInMinutes: 30 })
    expect(fake.requests[0]?.url.href).toBe(`${BASE}/sessionTokens/_/actions/issue`)
    expect(fake.requests[0]?.json).toEqual({
      scope: SCOPE,
      publicKey: { jwk: key.publicJwk },
      sessionExpirationInMinutes: 30,
    })
    expect(session).toBeInstanceOf(SessionToken)
    expect(session).toMatchObject({ sessionId: 'sess_01', sessionExpirationTime: 1_900_001_800_000 })
    expect(session.accessToken).toBe(ACCESS)
    await client.close()
  })

  it('refreshSessionToken authenticates with the session token and a proof, never the bearer', async () => {
    const key = await createProofKey()
    const { client, fake } = clientWith(() => Response.json(tokenBody(key.thumbprint, REFRESHED, true)))
    const refreshed = await client.refreshSessionToken(sessionToken(ACCESS, key.thumbprint), key)
    const [request] = fake.requests
    const url = `${BASE}/sessionTokens/_/actions/refresh`
    expect(request?.method).toBe('POST')
    expect(request?.url.href).toBe(url)
    expect(request?.json).toEqual({})
    expect(request?.headers.get('authorization')).toBe(`DPoP ${ACCESS}`)
    const claims = await proofClaims(request!.headers.get('dpop'), key)
    expect(claims).toMatchObject({ htm: 'POST', htu: url, ath: ath(ACCESS) })
    expect(refreshed.accessToken).toBe(REFRESHED)
    expect(refreshed.sessionId).toBe('sess_01')
    await client.close()
  })

  it('revokeSession POSTs to revoke, authenticated like the refresh', async () => {
    const key = await createProofKey()
    const provider = countingProvider()
    const { client, fake } = clientWith(() => Response.json({}), { provider })
    await client.revokeSession(sessionToken(ACCESS, key.thumbprint), key)
    const url = `${BASE}/sessionTokens/_/actions/revoke`
    expect(fake.requests[0]?.url.href).toBe(url)
    expect(fake.requests[0]?.json).toEqual({})
    expect(fake.requests[0]?.headers.get('authorization')).toBe(`DPoP ${ACCESS}`)
    const claims = await proofClaims(fake.requests[0]!.headers.get('dpop'), key)
    expect(claims).toMatchObject({ htm: 'POST', htu: url, ath: ath(ACCESS) })
    expect(provider.calls).toBe(0)
    await client.close()
  })

  it('a retried refresh carries a new proof', async () => {
    const key = await createProofKey()
    const { client, fake } = clientWith((_request, index) =>
      index === 0
        ? errorResponse(503, 'ServiceUnavailable', 'busy', 'req_1')
        : Response.json(tokenBody(key.thumbprint, REFRESHED, true)),
    )
    await client.refreshSessionToken(sessionToken(ACCESS, key.thumbprint), key)
    expect(fake.requests).toHaveLength(2)
    const jtis = await Promise.all(
      fake.requests.map(async (r) => (await proofClaims(r.headers.get('dpop'), key)).jti),
    )
    expect(new Set(jtis).size).toBe(2)
    await client.close()
  })

  it.each([
    ['SessionExpired', SessionExpiredError],
    ['ProofKeyMismatch', ProofRejectedError],
  ] as const)(
    'a refused refresh (%s) is a %o, not retried with a new bearer token',
    async (code, ErrorClass) => {
      const key = await createProofKey()
      const provider = countingProvider()
      const { client, fake } = clientWith(() => errorResponse(401, code, 'no', 'req_4'), { provider })
      const error = await rejectionOf(client.refreshSessionToken(sessionToken(), key))
      expect(error).toBeInstanceOf(ErrorClass)
      expect(fake.requests).toHaveLength(1)
      expect(provider.calls).toBe(0)
      await client.close()
    },
  )
})

describe('presenting a bound token', () => {
  it('boundRequestHeaders: the token under the DPoP scheme and a proof for this request', async () => {
    const key = await createProofKey()
    const url = 'https://api.example.test/v1/things?page=2'
    const headers = await boundRequestHeaders(sessionToken(), key, { method: 'get', url })
    expect(headers.authorization).toBe(`DPoP ${ACCESS}`)
    const claims = await proofClaims(headers.dpop, key)
    expect(claims).toMatchObject({ htm: 'GET', htu: 'https://api.example.test/v1/things', ath: ath(ACCESS) })
    const again = await boundRequestHeaders(ACCESS, key, { method: 'GET', url, nonce: 'n-1' })
    const second = await proofClaims(again.dpop, key)
    expect(second.jti).not.toBe(claims.jti)
    expect(second.nonce).toBe('n-1')
  })

  it.each([[''], [undefined], [{}]])('a token of %o is a TypeError', async (token) => {
    const key = await createProofKey()
    await expect(
      boundRequestHeaders(token as string, key, { method: 'GET', url: 'https://a.example/' }),
    ).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
  })

  it('boundFetch adds both headers to every request, a fresh proof each time, keeping the others', async () => {
    const key = await createProofKey()
    const fake = fakeFetch(() => new Response('ok'))
    const send = boundFetch(sessionToken(), key, { fetch: fake.fetch })
    const url = new URL('https://api.example.test/v1/things')
    await send(url, {
      method: 'POST',
      headers: { 'x-trace': '1', authorization: 'Bearer other' },
      body: '{}',
    })
    await send('https://api.example.test/v1/things')
    const [post, get] = fake.requests
    expect(post?.headers.get('x-trace')).toBe('1')
    expect(post?.headers.get('authorization')).toBe(`DPoP ${ACCESS}`)
    expect(await proofClaims(post!.headers.get('dpop'), key)).toMatchObject({ htm: 'POST', htu: url.href })
    expect(await proofClaims(get!.headers.get('dpop'), key)).toMatchObject({ htm: 'GET' })
    expect(post?.headers.get('dpop')).not.toBe(get?.headers.get('dpop'))
  })

  it('a token prints its facts and [REDACTED] for the access token', async () => {
    const token = sessionToken()
    for (const printed of [
      inspect(token, { showHidden: true, getters: true, depth: 10 }),
      JSON.stringify({ token }),
      JSON.stringify({ ...token }),
      JSON.stringify(structuredClone(token)),
    ]) {
      expect(printed).not.toContain(ACCESS)
    }
    expect(JSON.parse(JSON.stringify(token))).toEqual({
      tokenType: 'DPoP',
      scope: SCOPE,
      expiresIn: 900,
      expirationTime: 1,
      jkt: 'j',
      tokenId: 't',
      accessToken: '[REDACTED]',
      sessionId: 'sess_01',
      sessionExpirationTime: 2,
    })
    expect(inspect(token)).toMatch(/^SessionToken \{/)
    expect(Object.isFrozen(token)).toBe(true)
  })
})
