import { constants, createHmac, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto'
import fc from 'fast-check'
import { createLocalJWKSet, type JWK, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import {
  type AssertionKey,
  publicAssertionKey,
  verifyClientAssertion,
} from '../../src/oauth/client-assertion.js'
import { PRIVATE_KEY_JWT_ALGS, SECRET_JWT_ALGS } from '../../src/oauth/client-auth.js'

// The node:crypto verifier of client assertions against jose's jwtVerify, which it replaced on the
// token endpoint: on random assertions (keys, algorithms, kids, claims, tampering) both must reach
// the same verdict. Only `crit` and `b64` are outside the comparison: refused here (no extension is
// understood), while jose understands `b64` — tested on their own below.

const CLIENT = 'app_client'
const AUDIENCE = 'https://strongroom.test/token'
const NOW_S = 1_800_000_000
const LEEWAY_S = 10

const ec256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
const ed = generateKeyPairSync('ed25519')
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const secret = randomBytes(32)
const otherSecret = randomBytes(32)

const jwkOf = (key: KeyObject, extra: Partial<JWK> = {}): JWK => ({
  ...key.export({ format: 'jwk' }),
  ...extra,
})
/** What the application registered: one key with a kid, one pinned to an algorithm, one for encryption only. */
const REGISTERED: JWK[] = [
  jwkOf(ec256.publicKey, { kid: 'k1' }),
  jwkOf(ed.publicKey),
  jwkOf(rsa.publicKey, { alg: 'PS256' }),
  jwkOf(ec384.publicKey, { use: 'sig' }),
  // Registered, but for encryption: never a signing key.
  jwkOf(stranger.publicKey, { use: 'enc' }),
]
const publicKeys = REGISTERED.map((jwk) => publicAssertionKey(jwk)!)
const secretKeys: AssertionKey[] = [{ kind: 'secret', key: secret, clientSecretId: 'cs_1' }]

const SIGNERS = {
  ec256: { key: ec256.privateKey, natural: ['ES256'] },
  ec384: { key: ec384.privateKey, natural: ['ES384'] },
  ed: { key: ed.privateKey, natural: ['EdDSA'] },
  rsa: { key: rsa.privateKey, natural: ['RS256', 'PS256'] },
  stranger: { key: stranger.privateKey, natural: ['ES256'] },
  secret: { key: secret, natural: ['HS256'] },
  otherSecret: { key: otherSecret, natural: ['HS256'] },
} as const

function signature(how: string, key: KeyObject | Buffer, input: Buffer): Buffer {
  if (Buffer.isBuffer(key)) return createHmac('sha256', key).update(input).digest()
  switch (how) {
    case 'EdDSA':
      return sign(null, input, key)
    case 'ES256':
      return sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' })
    case 'ES384':
      return sign('sha384', input, { key, dsaEncoding: 'ieee-p1363' })
    case 'PS256':
      return sign('sha256', input, {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      })
    default:
      return sign('sha256', input, key)
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined })

/** Mostly the valid value, sometimes one of the invalid ones: both verdicts must occur often. */
const mostly = <T>(valid: T, ...invalid: T[]): fc.Arbitrary<T> =>
  fc.oneof(
    { arbitrary: fc.constant(valid), weight: 5 },
    { arbitrary: fc.constantFrom(...invalid), weight: 1 },
  )

const claims = fc.record({
  iss: mostly<unknown>(CLIENT, 'app_other', 7, undefined),
  sub: mostly<unknown>(CLIENT, 'app_other', undefined),
  aud: mostly<unknown>(
    AUDIENCE,
    [AUDIENCE],
    ['https://elsewhere', AUDIENCE],
    'https://elsewhere',
    [7],
    undefined,
  ),
  exp: mostly<unknown>(NOW_S + 60, NOW_S - 5, NOW_S - 10, NOW_S - 60, '1800000060', undefined),
  nbf: mostly<unknown>(undefined, NOW_S - 60, NOW_S + 5, NOW_S + 60, 'soon'),
  iat: mostly<unknown>(NOW_S, undefined, 'now'),
  jti: mostly<unknown>('jti-1', 1, undefined),
})

const assertion = fc.record({
  signer: fc.constantFrom(...(Object.keys(SIGNERS) as (keyof typeof SIGNERS)[])),
  headerAlg: mostly(
    'natural',
    'natural',
    'ES256',
    'EdDSA',
    'RS256',
    'PS256',
    'ES384',
    'HS256',
    'none',
    'ES512',
    'RS384',
    '',
  ),
  kid: maybe(fc.constantFrom('k1', 'k2')),
  claims,
  tamper: mostly('none', 'signature', 'payload', 'drop-signature'),
  natural: fc.nat(1),
})

type Assertion = typeof assertion extends fc.Arbitrary<infer T> ? T : never

function build(a: Assertion): string {
  const signer = SIGNERS[a.signer]
  const natural = signer.natural[a.natural % signer.natural.length]!
  const alg = a.headerAlg === 'natural' ? natural : a.headerAlg
  const header: Record<string, unknown> = { alg }
  if (a.kid !== undefined) header.kid = a.kid
  const payload = Object.fromEntries(Object.entries(a.claims).filter(([, v]) => v !== undefined))
  const input = `${b64(header)}.${b64(payload)}`
  let sig = alg === 'none' ? Buffer.alloc(0) : signature(natural, signer.key, Buffer.from(input))
  let body = input
  if (a.tamper === 'signature' && sig.length > 0)
    sig = Buffer.from(sig.map((byte, i) => (i === 3 ? byte ^ 1 : byte)))
  if (a.tamper === 'payload') body = `${b64(header)}.${b64({ ...payload, extra: true })}`
  if (a.tamper === 'drop-signature') sig = Buffer.alloc(0)
  return `${body}.${sig.toString('base64url')}`
}

async function joseAccepts(jwt: string, mode: 'private' | 'secret'): Promise<boolean> {
  const options = {
    issuer: CLIENT,
    subject: CLIENT,
    audience: [AUDIENCE],
    algorithms: mode === 'private' ? PRIVATE_KEY_JWT_ALGS : SECRET_JWT_ALGS,
    requiredClaims: ['exp', 'jti'],
    currentDate: new Date(NOW_S * 1000),
    clockTolerance: LEEWAY_S,
  }
  try {
    if (mode === 'private') await jwtVerify(jwt, createLocalJWKSet({ keys: REGISTERED }), options)
    else await jwtVerify(jwt, new Uint8Array(secret), options)
    return true
  } catch {
    return false
  }
}

function oursAccepts(jwt: string, mode: 'private' | 'secret'): boolean {
  const verdict = verifyClientAssertion(jwt, mode === 'private' ? publicKeys : secretKeys, {
    issuer: CLIENT,
    subject: CLIENT,
    audiences: [AUDIENCE],
    algorithms: mode === 'private' ? PRIVATE_KEY_JWT_ALGS : SECRET_JWT_ALGS,
    nowS: NOW_S,
    leewayS: LEEWAY_S,
  })
  return !('error' in verdict)
}

describe('client assertions verified with node:crypto', () => {
  it('reach the verdict jose reaches, on random assertions, keys and claims', async () => {
    let accepted = 0
    await fc.assert(
      fc.asyncProperty(assertion, fc.constantFrom('private' as const, 'secret' as const), async (a, mode) => {
        const jwt = build(a)
        const jose = await joseAccepts(jwt, mode)
        expect(oursAccepts(jwt, mode), jwt).toBe(jose)
        if (jose) accepted++
      }),
      { numRuns: 1500 },
    )
    // The comparison means something only if both verdicts occur.
    expect(accepted).toBeGreaterThan(30)
  })

  it('accepts each supported algorithm with its registered key, and names the refusal otherwise', () => {
    const good = (signer: keyof typeof SIGNERS, natural = 0, kid?: 'k1' | 'k2') =>
      build({
        signer,
        headerAlg: 'natural',
        kid,
        natural,
        tamper: 'none',
        claims: {
          iss: CLIENT,
          sub: CLIENT,
          aud: AUDIENCE,
          exp: NOW_S + 60,
          nbf: undefined,
          iat: NOW_S,
          jti: 'j',
        },
      })
    for (const jwt of [good('ec256', 0, 'k1'), good('ed'), good('rsa', 1), good('ec384')]) {
      expect(oursAccepts(jwt, 'private')).toBe(true)
    }
    expect(oursAccepts(good('secret'), 'secret')).toBe(true)
    const check = { issuer: CLIENT, subject: CLIENT, audiences: [AUDIENCE], nowS: NOW_S, leewayS: LEEWAY_S }
    const refusal = (jwt: string) =>
      verifyClientAssertion(jwt, publicKeys, { ...check, algorithms: PRIVATE_KEY_JWT_ALGS })
    // RS256 with a key registered for PS256 only, a kid nobody registered, a stranger's key.
    expect(refusal(good('rsa', 0))).toEqual({ error: 'ERR_JWKS_NO_MATCHING_KEY' })
    expect(refusal(good('ec256', 0, 'k2'))).toEqual({ error: 'ERR_JWKS_NO_MATCHING_KEY' })
    expect(refusal(good('stranger'))).toEqual({ error: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' })
    expect(refusal(good('secret'))).toEqual({ error: 'ERR_JOSE_ALG_NOT_ALLOWED' })
    expect(refusal('not.a jwt.!')).toEqual({ error: 'ERR_JWS_INVALID' })
  })

  it('refuses crit and b64 headers: no JWS extension is understood', () => {
    const payload = { iss: CLIENT, sub: CLIENT, aud: AUDIENCE, exp: NOW_S + 60, jti: 'j' }
    for (const extra of [{ crit: ['b64'], b64: true }, { b64: true }, { crit: ['exp'] }]) {
      const header = { alg: 'EdDSA', ...extra }
      const input = `${b64(header)}.${b64(payload)}`
      const jwt = `${input}.${sign(null, Buffer.from(input), ed.privateKey).toString('base64url')}`
      expect(oursAccepts(jwt, 'private'), JSON.stringify(extra)).toBe(false)
    }
  })
})
