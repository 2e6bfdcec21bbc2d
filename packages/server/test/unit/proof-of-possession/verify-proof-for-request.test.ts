import { generateKeyPairSync } from 'node:crypto'
import { inspect } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { PamError } from '../../../src/errors.js'
import { confirmationFor } from '../../../src/oauth/proof-of-possession/confirmation-for.js'
import { type ProofRefusal, ProofRejected } from '../../../src/oauth/proof-of-possession/proof-rejected.js'
import {
  type ProofRequestOptions,
  verifyProofForRequest,
} from '../../../src/oauth/proof-of-possession/verify-proof-for-request.js'
import { type Alg, ath, joseProof, keyPair, NOW, NOW_S, seenStore, signRaw, TOKEN, URL_ } from './support.js'

function options(overrides: Partial<ProofRequestOptions> = {}): ProofRequestOptions {
  return {
    method: 'POST',
    url: URL_,
    now: NOW,
    maxAgeSeconds: 60,
    seenJti: seenStore().seenJti,
    ...overrides,
  }
}

async function refused(promise: Promise<unknown>, reason: ProofRefusal): Promise<ProofRejected> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ProofRejected)
  // A protected resource answers 401 with the reason as the Code and a DPoP challenge (RFC 9449 §7.1).
  expect(error).toMatchObject({ reason, status: 401, code: reason, challenge: 'DPoP' })
  return error as ProofRejected
}

describe('verifyProofForRequest', () => {
  it.each<Alg>(['ES256', 'EdDSA', 'RS256', 'PS256'])(
    'accepts a fresh %s proof and names its key',
    async (alg) => {
      const { privateKey, publicKey } = keyPair(alg)
      const { seen, seenJti } = seenStore()
      const proof = await joseProof(alg, privateKey, publicKey, { ath: ath(TOKEN) })
      const verified = await verifyProofForRequest(proof, options({ seenJti, accessToken: TOKEN }))
      const { cnf, publicJwk } = confirmationFor({ jwk: publicKey.export({ format: 'jwk' }) as never })
      expect(verified).toMatchObject({ jkt: cnf.jkt, publicJwk, htm: 'POST', htu: URL_, iat: NOW_S })
      expect([...seen]).toEqual([[verified.jti, NOW_S + 60]])
    },
  )

  it('refuses a proof from another key than the expected one: ProofKeyMismatch', async () => {
    const mine = keyPair('ES256')
    const other = keyPair('ES256')
    const { cnf } = confirmationFor({ jwk: mine.publicKey.export({ format: 'jwk' }) as never })
    const proof = await joseProof('ES256', other.privateKey, other.publicKey)
    const error = await refused(
      verifyProofForRequest(proof, options({ expectedJkt: cnf.jkt })),
      'ProofKeyMismatch',
    )
    expect(error.field).toBe('DPoP.jwk')
  })

  it('refuses a replayed proof (same jti), and records a jti only once all else passed', async () => {
    const { privateKey, publicKey } = keyPair('EdDSA')
    const o = options()
    const proof = await joseProof('EdDSA', privateKey, publicKey)
    await verifyProofForRequest(proof, o)
    const error = await refused(verifyProofForRequest(proof, o), 'ProofReplayed')
    expect(error.message).toBe('DPoP.jti must not have been used before')
    const seenJti = vi.fn(async () => true)
    await refused(verifyProofForRequest(proof, options({ seenJti, method: 'GET' })), 'ProofRequestMismatch')
    expect(seenJti).not.toHaveBeenCalled()
  })

  it('refuses an iat more than maxAgeSeconds away: ProofExpired', async () => {
    const { privateKey, publicKey } = keyPair('EdDSA')
    for (const iat of [NOW_S - 61, NOW_S + 61, 0]) {
      const proof = await joseProof('EdDSA', privateKey, publicKey, { iat })
      const error = await refused(verifyProofForRequest(proof, options()), 'ProofExpired')
      expect(error.rule).toBe("must be within 60 s of the server's time")
    }
    for (const iat of [NOW_S - 60, NOW_S + 60]) {
      await expect(
        verifyProofForRequest(await joseProof('EdDSA', privateKey, publicKey, { iat }), options()),
      ).resolves.toBeDefined()
    }
  })

  it('refuses a proof for another method or URL: ProofRequestMismatch', async () => {
    const { privateKey, publicKey } = keyPair('EdDSA')
    for (const [claims, field] of [
      [{ htm: 'GET' }, 'DPoP.htm'],
      [{ htu: 'https://pam.example/oauth2/other' }, 'DPoP.htu'],
      [{ htu: 'https://evil.example/oauth2/token' }, 'DPoP.htu'],
      [{ htu: 'http://pam.example/oauth2/token' }, 'DPoP.htu'],
      [{ htu: 'not a url' }, 'DPoP.htu'],
    ] as const) {
      const error = await refused(
        verifyProofForRequest(await joseProof('EdDSA', privateKey, publicKey, claims), options()),
        'ProofRequestMismatch',
      )
      expect(error.field).toBe(field)
    }
    const normalised = await joseProof('EdDSA', privateKey, publicKey, {
      htu: 'HTTPS://PAM.example:443/oauth2/%74oken',
    })
    await expect(verifyProofForRequest(normalised, options({ url: `${URL_}?x=1#y` }))).resolves.toBeDefined()
  })

  it('refuses an ath for another token, or none: ProofTokenMismatch', async () => {
    const { privateKey, publicKey } = keyPair('ES256')
    for (const claims of [{ ath: ath('another-token') }, {}]) {
      const proof = await joseProof('ES256', privateKey, publicKey, claims)
      await refused(verifyProofForRequest(proof, options({ accessToken: TOKEN })), 'ProofTokenMismatch')
    }
  })

  it('requires the nonce it asked for: ProofNonceInvalid, use_dpop_nonce', async () => {
    const { privateKey, publicKey } = keyPair('ES256')
    const error = await refused(
      verifyProofForRequest(
        await joseProof('ES256', privateKey, publicKey, { nonce: 'old' }),
        options({ nonce: 'new' }),
      ),
      'ProofNonceInvalid',
    )
    expect(error.oauthError).toBe('use_dpop_nonce')
    await expect(
      verifyProofForRequest(
        await joseProof('ES256', privateKey, publicKey, { nonce: 'new' }),
        options({ nonce: 'new' }),
      ),
    ).resolves.toBeDefined()
  })

  it('refuses alg none, HS256, a private key in the jwk and other hostile headers: ProofInvalid', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const pub = ec.publicKey.export({ format: 'jwk' })
    const priv = ec.privateKey.export({ format: 'jwk' })
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const body = { jti: 'j', htm: 'POST', htu: URL_, iat: NOW_S }
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const proofs: [unknown, string][] = [
      [`${b64({ typ: 'dpop+jwt', alg: 'none', jwk: pub })}.${b64(body)}.`, 'DPoP'],
      [`${b64({ typ: 'dpop+jwt', alg: 'none', jwk: pub })}.${b64(body)}.AAAA`, 'DPoP.alg'],
      [
        signRaw(
          { typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } },
          body,
          Buffer.from('secret'),
        ),
        'DPoP.alg',
      ],
      [signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: priv }, body, ec.privateKey), 'DPoP.jwk'],
      [signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: { ...pub, k: 'x' } }, body, ec.privateKey), 'DPoP.jwk'],
      [signRaw({ typ: 'at+jwt', alg: 'ES256', jwk: pub }, body, ec.privateKey), 'DPoP.typ'],
      [
        signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: pub, crit: ['x'], x: 1 }, body, ec.privateKey),
        'DPoP.crit',
      ],
      [signRaw({ typ: 'dpop+jwt', alg: 'ES256' }, body, ec.privateKey), 'DPoP.jwk'],
      [
        signRaw(
          { typ: 'dpop+jwt', alg: 'RS256', jwk: rsa1024.publicKey.export({ format: 'jwk' }) },
          body,
          rsa1024.privateKey,
        ),
        'DPoP.jwk',
      ],
      [signRaw({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: pub }, body, ec.privateKey), 'DPoP.jwk'],
      [
        signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: { ...pub, x: pub.y } }, body, ec.privateKey),
        'DPoP.jwk',
      ],
      [
        signRaw(
          {
            typ: 'dpop+jwt',
            alg: 'ES256',
            jwk: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
          },
          body,
          ec.privateKey,
        ),
        'DPoP',
      ],
      [signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: pub }, { ...body, jti: '' }, ec.privateKey), 'DPoP.jti'],
      [
        signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: pub }, { ...body, iat: 'now' }, ec.privateKey),
        'DPoP.iat',
      ],
      [
        signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: pub }, { ...body, htm: undefined }, ec.privateKey),
        'DPoP.htm',
      ],
      [
        signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: pub }, { ...body, htu: undefined }, ec.privateKey),
        'DPoP.htu',
      ],
      ['a.b', 'DPoP'],
      [42, 'DPoP'],
    ]
    for (const [proof, field] of proofs) {
      const error = await refused(verifyProofForRequest(proof, options()), 'ProofInvalid')
      expect(error.field).toBe(field)
      expect(error.oauthError).toBe('invalid_dpop_proof')
      expect(error.message).toBe(`${error.field} ${error.rule}`)
      expect(inspect(error, { showHidden: true })).not.toContain(String(priv.d))
    }
    await refused(verifyProofForRequest(undefined, options()), 'ProofMissing')
    await refused(verifyProofForRequest('', options()), 'ProofMissing')
  })

  it('never quotes the proof or the access token in an error', async () => {
    const { privateKey, publicKey } = keyPair('ES256')
    const proof = await joseProof('ES256', privateKey, publicKey, { ath: ath('another') })
    const error = await refused(
      verifyProofForRequest(proof, options({ accessToken: TOKEN })),
      'ProofTokenMismatch',
    )
    const text = [
      error.message,
      String(error.stack),
      inspect(error, { showHidden: true }),
      JSON.stringify(error),
    ].join('\n')
    for (const secret of [TOKEN, ...TOKEN.split('.'), proof, ...proof.split('.')])
      expect(text).not.toContain(secret)
  })

  it('refuses a proof whose encoding or signature was altered in any one character', async () => {
    const { privateKey, publicKey } = keyPair('ES256')
    const good = await joseProof('ES256', privateKey, publicKey)
    await fc.assert(
      fc.asyncProperty(fc.nat(good.length - 1), fc.constantFrom(...'AZaz09-_.='), async (at, char) => {
        fc.pre(good[at] !== char)
        const proof = good.slice(0, at) + char + good.slice(at + 1)
        await expect(
          verifyProofForRequest(proof, options({ seenJti: async () => true })),
        ).rejects.toBeInstanceOf(ProofRejected)
      }),
      { numRuns: 300 },
    )
  })

  it('throws nothing but its own errors for random input', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const garbage = fc.oneof(
      fc.anything(),
      fc.string(),
      fc
        .tuple(fc.json(), fc.json(), fc.base64String())
        .map(([h, p, s]) => `${b64(JSON.parse(h))}.${b64(JSON.parse(p))}.${s}`),
      fc
        .tuple(
          fc.record(
            {
              typ: fc.constantFrom('dpop+jwt', 'JWT'),
              alg: fc.constantFrom('ES256', 'EdDSA', 'RS256', 'PS256', 'none', 'HS256'),
              jwk: fc.oneof(
                fc.anything(),
                fc.record({
                  kty: fc.constantFrom('EC', 'OKP', 'RSA'),
                  crv: fc.constantFrom('P-256', 'Ed25519', 'x'),
                  x: fc.base64String(),
                  y: fc.base64String(),
                  n: fc.base64String({ minLength: 344 }),
                  e: fc.string(),
                }),
              ),
            },
            { requiredKeys: [] },
          ),
          fc.record(
            {
              jti: fc.anything(),
              htm: fc.anything(),
              htu: fc.anything(),
              iat: fc.anything(),
              ath: fc.anything(),
            },
            { requiredKeys: [] },
          ),
          fc.base64String(),
        )
        .map(
          ([h, p, s]) => `${b64(h)}.${b64(p)}.${s.replace(/=/g, '').replace(/\+/g, '-').replace(/\//g, '_')}`,
        ),
    )
    await fc.assert(
      fc.asyncProperty(garbage, async (proof) => {
        const error = await verifyProofForRequest(
          proof,
          options({ accessToken: TOKEN, seenJti: async () => true }),
        ).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(PamError)
      }),
      { numRuns: 500 },
    )
  })
})
