import { inspect } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createProof } from '../../src/proof/create-proof.js'
import { ProofError } from '../../src/proof/proof-error.js'
import { createProofKey } from '../../src/proof/proof-key.js'
import { verifyBoundToken } from '../../src/proof/verify-bound-token.js'
import { AUDIENCE, createIssuer, ISSUER, NOW, URL_ } from './support.js'

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

/** Strings shaped like a JWS, with arbitrary JSON (or junk) in each part. */
const jwsLike = fc.oneof(
  fc.string(),
  fc
    .tuple(fc.json(), fc.json(), fc.base64String())
    .map(([h, p, s]) => `${b64(JSON.parse(h))}.${b64(JSON.parse(p))}.${s}`),
  fc
    .tuple(
      fc.record(
        {
          typ: fc.constantFrom('dpop+jwt', 'at+jwt', 'JWT'),
          alg: fc.constantFrom('ES256', 'EdDSA', 'RS256', 'none', 'HS256'),
          jwk: fc.oneof(
            fc.object(),
            fc.record({
              kty: fc.constantFrom('EC', 'OKP', 'RSA', 'oct'),
              crv: fc.string(),
              x: fc.string(),
              n: fc.string(),
              d: fc.string(),
            }),
          ),
        },
        { requiredKeys: [] },
      ),
      fc.object(),
      fc.base64String(),
    )
    .map(([h, p, s]) => `${b64(h)}.${b64(p)}.${s.replace(/=/g, '')}`),
  fc.anything(),
)

describe('garbage in', () => {
  it('never makes verifyBoundToken throw anything but a ProofError', async () => {
    const issuer = await createIssuer()
    const key = await createProofKey()
    const token = await issuer.mint({ cnf: { jkt: key.thumbprint } })
    const goodProof = await createProof(key, { method: 'GET', url: URL_, accessToken: token, now: NOW })
    const options = {
      issuer: ISSUER,
      audience: AUDIENCE,
      issuerKeys: issuer.jwks,
      firstUseOfJti: async () => true,
      now: NOW,
    }
    await fc.assert(
      fc.asyncProperty(jwsLike, jwsLike, fc.boolean(), async (proof, accessToken, realToken) => {
        const error = await verifyBoundToken(
          {
            accessToken: (realToken ? token : accessToken) as string,
            proof: proof as string,
            method: 'GET',
            url: URL_,
          },
          options,
        ).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(ProofError)
        expect(inspect(error)).not.toContain(token)
      }),
      { numRuns: 400 },
    )
    // Every one-character change to a good proof is refused (and only by a ProofError).
    await fc.assert(
      fc.asyncProperty(fc.nat(goodProof.length - 1), fc.constantFrom(...'AZaz09-_.='), async (at, char) => {
        fc.pre(goodProof[at] !== char)
        const proof = goodProof.slice(0, at) + char + goodProof.slice(at + 1)
        await expect(
          verifyBoundToken({ accessToken: token, proof, method: 'GET', url: URL_ }, options),
        ).rejects.toBeInstanceOf(ProofError)
      }),
      { numRuns: 300 },
    )
  })
})
