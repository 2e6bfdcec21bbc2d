import { createHash, generateKeyPairSync } from 'node:crypto'
import { inspect } from 'node:util'
import { describe, expect, it, vi } from 'vitest'
import { createProof } from '../../src/proof/create-proof.js'
import { ProofError, type ProofErrorReason } from '../../src/proof/proof-error.js'
import { createProofKey, type ProofAlgorithm, type ProofKey } from '../../src/proof/proof-key.js'
import { type BoundTokenRequest, verifyBoundToken } from '../../src/proof/verify-bound-token.js'
import { AUDIENCE, createIssuer, ISSUER, NOW, NOW_S, replayRecorder, signRaw, URL_ } from './support.js'

async function setup(alg: ProofAlgorithm = 'ES256') {
  const issuer = await createIssuer()
  const key = await createProofKey(alg)
  const accessToken = await issuer.mint({ cnf: { jkt: key.thumbprint } })
  const replay = replayRecorder()
  const options = {
    issuer: ISSUER,
    audience: AUDIENCE,
    issuerKeys: issuer.jwks,
    firstUseOfJti: replay.firstUseOfJti,
    now: NOW,
  }
  const proofFor = (
    k: ProofKey = key,
    o: { method?: string; url?: string; accessToken?: string; now?: number } = {},
  ) => createProof(k, { method: 'GET', url: URL_, accessToken, now: NOW, ...o })
  const request = async (o: Partial<BoundTokenRequest> = {}): Promise<BoundTokenRequest> => ({
    accessToken,
    proof: await proofFor(),
    method: 'GET',
    url: URL_,
    ...o,
  })
  return { issuer, key, accessToken, replay, options, proofFor, request }
}

async function refusal(promise: Promise<unknown>): Promise<ProofError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ProofError)
  return error as ProofError
}

async function expectRefused(promise: Promise<unknown>, reason: ProofErrorReason) {
  const error = await refusal(promise)
  expect(error.reason).toBe(reason)
  expect(error.code).toBe('ERR_PAM_AUTHENTICATION')
  return error
}

describe('verifyBoundToken', () => {
  it.each<ProofAlgorithm>(['ES256', 'EdDSA', 'RS256', 'PS256'])(
    'accepts a fresh %s proof of the bound key',
    async (alg) => {
      const { options, request, key, replay } = await setup(alg)
      const verified = await verifyBoundToken(await request(), options)
      expect(verified.jkt).toBe(key.thumbprint)
      expect(verified.claims.cnf.jkt).toBe(key.thumbprint)
      expect(verified.claims.sub).toBe('app_1')
      expect(verified.proof).toMatchObject({ htm: 'GET', htu: URL_, iat: NOW_S })
      expect([...replay.seen.entries()]).toEqual([[verified.proof.jti, NOW_S + 60]])
    },
  )

  it('ignores query and fragment and normalises the URL on both sides', async () => {
    const { options, request, proofFor } = await setup()
    const proof = await proofFor(undefined, { url: 'HTTPS://api.EXAMPLE:443/v1/things?a=1' })
    await expect(
      verifyBoundToken(await request({ proof, url: 'https://api.example/v1/%74hings?b=2#x' }), options),
    ).resolves.toBeDefined()
  })

  it('refuses a proof signed by another key: ProofKeyMismatch', async () => {
    const { options, request, proofFor } = await setup()
    const other = await createProofKey('ES256')
    await expectRefused(
      verifyBoundToken(await request({ proof: await proofFor(other) }), options),
      'ProofKeyMismatch',
    )
  })

  it('refuses a replayed proof (same jti): ProofReplayed', async () => {
    const { options, request } = await setup()
    const req = await request()
    await verifyBoundToken(req, options)
    await expectRefused(verifyBoundToken(req, options), 'ProofReplayed')
  })

  it('records a jti only once every other check has passed', async () => {
    const { options, request, proofFor } = await setup()
    const firstUseOfJti = vi.fn(async () => true)
    const other = await createProofKey()
    await expectRefused(
      verifyBoundToken(await request({ proof: await proofFor(other) }), { ...options, firstUseOfJti }),
      'ProofKeyMismatch',
    )
    await expectRefused(
      verifyBoundToken(await request({ method: 'POST' }), { ...options, firstUseOfJti }),
      'ProofRequestMismatch',
    )
    expect(firstUseOfJti).not.toHaveBeenCalled()
  })

  it('refuses a proof whose iat is outside ±60 s: ProofExpired', async () => {
    const { options, request, proofFor } = await setup()
    for (const offset of [-61_000, 61_000, -3_600_000]) {
      const proof = await proofFor(undefined, { now: NOW + offset })
      await expectRefused(verifyBoundToken(await request({ proof }), options), 'ProofExpired')
    }
    for (const offset of [-59_000, 59_000]) {
      const proof = await proofFor(undefined, { now: NOW + offset })
      await expect(verifyBoundToken(await request({ proof }), options)).resolves.toBeDefined()
    }
    const proof = await proofFor(undefined, { now: NOW - 100_000 })
    await expect(
      verifyBoundToken(await request({ proof }), { ...options, proofWindowSeconds: 120 }),
    ).resolves.toBeDefined()
  })

  it('refuses a proof for another method or URL: ProofRequestMismatch', async () => {
    const { options, request, proofFor } = await setup()
    const cases: [string, string, string, string][] = [
      ['POST', URL_, 'GET', URL_],
      ['GET', `${URL_}/1`, 'GET', URL_],
      ['GET', 'https://evil.example/v1/things', 'GET', URL_],
      ['GET', 'http://api.example/v1/things', 'GET', URL_],
      ['GET', 'https://api.example:8443/v1/things', 'GET', URL_],
    ]
    for (const [proofMethod, proofUrl, method, url] of cases) {
      const proof = await proofFor(undefined, { method: proofMethod, url: proofUrl })
      await expectRefused(
        verifyBoundToken(await request({ proof, method, url }), options),
        'ProofRequestMismatch',
      )
    }
  })

  it('refuses a proof whose ath is for another token, or that has none: ProofTokenMismatch', async () => {
    const { options, request, proofFor, issuer, key } = await setup()
    const otherToken = await issuer.mint({ cnf: { jkt: key.thumbprint }, jti: 'other' })
    await expectRefused(
      verifyBoundToken(
        await request({ proof: await proofFor(undefined, { accessToken: otherToken }) }),
        options,
      ),
      'ProofTokenMismatch',
    )
    const noAth = await createProof(key, { method: 'GET', url: URL_, now: NOW })
    await expectRefused(verifyBoundToken(await request({ proof: noAth }), options), 'ProofTokenMismatch')
  })

  it('requires the nonce when the server asks for one: ProofNonceInvalid', async () => {
    const { options, request, key, accessToken } = await setup()
    const error = await expectRefused(
      verifyBoundToken(await request(), { ...options, nonce: 'n-2' }),
      'ProofNonceInvalid',
    )
    expect(error.oauthError).toBe('use_dpop_nonce')
    const proof = await createProof(key, { method: 'GET', url: URL_, accessToken, nonce: 'n-2', now: NOW })
    await expect(
      verifyBoundToken(await request({ proof }), { ...options, nonce: 'n-2' }),
    ).resolves.toBeDefined()
  })

  describe('refuses hostile proof headers: ProofInvalid', () => {
    const claims = (accessToken: string) => ({
      jti: 'j1',
      htm: 'GET',
      htu: URL_,
      iat: NOW_S,
      ath: createHash('sha256').update(accessToken).digest('base64url'),
    })

    it('alg none, HS256, a private key in the jwk, a wrong typ, crit, a weak or mismatched key', async () => {
      const { options, request, accessToken, key } = await setup()
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const pub = ec.publicKey.export({ format: 'jwk' })
      const priv = ec.privateKey.export({ format: 'jwk' })
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
      const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
      const body = claims(accessToken)
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
      const proofs = [
        `${b64({ typ: 'dpop+jwt', alg: 'none', jwk: pub })}.${b64(body)}.`,
        `${b64({ typ: 'dpop+jwt', alg: 'none', jwk: pub })}.${b64(body)}.AAAA`,
        signRaw(
          { typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } },
          body,
          Buffer.from('secret'),
        ),
        signRaw({ typ: 'dpop+jwt', alg: 'HS256', jwk: pub }, body, Buffer.from(JSON.stringify(pub))),
        signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: priv }, body, ec.privateKey),
        signRaw({ typ: 'JWT', alg: 'ES256', jwk: pub }, body, ec.privateKey),
        signRaw({ alg: 'ES256', jwk: pub }, body, ec.privateKey),
        signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: pub, crit: ['exp'], exp: 1 }, body, ec.privateKey),
        signRaw({ typ: 'dpop+jwt', alg: 'ES256' }, body, ec.privateKey),
        signRaw(
          { typ: 'dpop+jwt', alg: 'ES384', jwk: p384.publicKey.export({ format: 'jwk' }) },
          body,
          p384.privateKey,
        ),
        signRaw(
          { typ: 'dpop+jwt', alg: 'ES256', jwk: p384.publicKey.export({ format: 'jwk' }) },
          body,
          p384.privateKey,
        ),
        signRaw(
          { typ: 'dpop+jwt', alg: 'RS256', jwk: rsa1024.publicKey.export({ format: 'jwk' }) },
          body,
          rsa1024.privateKey,
        ),
        signRaw({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: pub }, body, ec.privateKey),
        signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk }, body, ec.privateKey), // forged: key ≠ signer
        signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: pub }, { ...body, jti: undefined }, ec.privateKey),
        signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: pub }, { ...body, iat: String(NOW_S) }, ec.privateKey),
        signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: pub }, { ...body, htu: undefined }, ec.privateKey),
      ]
      for (const proof of proofs) {
        const error = await expectRefused(verifyBoundToken(await request({ proof }), options), 'ProofInvalid')
        expect(error.oauthError).toBe('invalid_dpop_proof')
        expect(`${error.message} ${inspect(error)}`).not.toContain(String(priv.d))
      }
    })

    it('a proof whose signature was tampered with', async () => {
      const { options, request } = await setup()
      const good = (await request()).proof!
      const [h, p, s] = good.split('.') as [string, string, string]
      const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`
      const otherClaims = Buffer.from(
        JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), htm: 'POST' }),
      ).toString('base64url')
      for (const proof of [flipped, `${h}.${otherClaims}.${s}`]) {
        await expectRefused(verifyBoundToken(await request({ proof }), options), 'ProofInvalid')
      }
    })
  })

  it('refuses a token bound to no key: TokenNotBound', async () => {
    const { options, request, issuer } = await setup()
    for (const cnf of [undefined, {}, { jkt: '' }, { jkt: 42 }, 'x']) {
      const accessToken = await issuer.mint(cnf === undefined ? {} : { cnf })
      const error = await expectRefused(
        verifyBoundToken(await request({ accessToken }), options),
        'TokenNotBound',
      )
      expect(error.oauthError).toBe('invalid_token')
    }
  })

  it('refuses a missing, expired, foreign or ill-typed token, and a missing proof', async () => {
    const { options, request, issuer, key } = await setup()
    const bound = { cnf: { jkt: key.thumbprint } }
    const foreign = await createIssuer()
    await expectRefused(verifyBoundToken(await request({ accessToken: undefined }), options), 'TokenInvalid')
    await expectRefused(verifyBoundToken(await request({ proof: undefined }), options), 'ProofMissing')
    await expectRefused(verifyBoundToken(await request({ proof: '' }), options), 'ProofMissing')
    await expectRefused(
      verifyBoundToken(
        await request({ accessToken: await issuer.mint({ ...bound, exp: NOW_S - 11 }) }),
        options,
      ),
      'TokenExpired',
    )
    await expect(
      verifyBoundToken(
        await request({ accessToken: await issuer.mint({ ...bound, exp: NOW_S - 5 }) }),
        options,
      ),
    ).rejects.toMatchObject({ reason: 'ProofTokenMismatch' }) // within the 10 s leeway: the token passes
    for (const accessToken of [
      await issuer.mint({ ...bound, aud: 'https://other.example' }),
      await issuer.mint({ ...bound, iss: 'https://other.example' }),
      await issuer.mint(bound, { typ: 'JWT' }),
      await foreign.mint(bound),
      'not.a.token',
    ]) {
      await expectRefused(verifyBoundToken(await request({ accessToken }), options), 'TokenInvalid')
    }
  })

  it('never puts the token, the proof or the private key into an error', async () => {
    const { options, request, proofFor, issuer } = await setup()
    const other = await createProofKey()
    const failures = [
      request({ proof: await proofFor(other) }),
      request({ method: 'PUT' }),
      request({ accessToken: await issuer.mint({}) }),
      request({ accessToken: await issuer.mint({ exp: NOW_S - 100 }) }),
    ]
    for (const pending of failures) {
      const req = await pending
      const error = await refusal(verifyBoundToken(req, options))
      const text = [
        error.message,
        String(error.stack),
        inspect(error, { showHidden: true, depth: 10 }),
        JSON.stringify(error),
      ].join('\n')
      for (const secret of [
        req.accessToken!,
        req.proof!,
        ...req.accessToken!.split('.'),
        ...req.proof!.split('.'),
      ])
        expect(text).not.toContain(secret)
    }
  })
})
