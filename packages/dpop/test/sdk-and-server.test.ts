import { describe, expect, it } from 'vitest'
import { ProofError } from '../../sdk/src/proof/proof-error.js'
import { verifyBoundToken } from '../../sdk/src/proof/verify-bound-token.js'
import { AUDIENCE, createIssuer, ISSUER } from '../../sdk/test/proof/support.js'
import { ProofRejected } from '../../server/src/oauth/proof-of-possession/proof-rejected.js'
import { verifyProofForRequest } from '../../server/src/oauth/proof-of-possession/verify-proof-for-request.js'
import { proofJwkThumbprint } from '../src/index.js'
import { jtiRecorder } from './jti-recorder.js'
import { METHOD, NOW, PROOF_CASES, proofContext, URL_ } from './proof-cases.js'

/** What a verifier answered: accepted with this thumbprint, or refused for this reason with this message. */
async function outcome(verifying: Promise<{ jkt: string }>) {
  return verifying.then(
    ({ jkt }) => ({ accepted: jkt }),
    (e: unknown) => {
      if (e instanceof ProofError || e instanceof ProofRejected)
        return { reason: e.reason, message: e.message }
      throw e
    },
  )
}

// The SDK's verifyBoundToken (a resource server's check) and the server's verifyProofForRequest (its
// own bound-token endpoints) run the one checkProof of @strongroom/dpop: the same proof gets the same answer.
describe('the SDK and the server check a DPoP proof alike', async () => {
  const issuer = await createIssuer()
  const boundKey = proofContext('').bound
  const jkt = proofJwkThumbprint(boundKey.publicKey.export({ format: 'jwk' }) as never)
  const accessToken = await issuer.mint({ cnf: { jkt } })
  const context = { ...proofContext(accessToken), bound: boundKey }

  it.each(PROOF_CASES)('$name', async ({ proof, nonce, refusal }) => {
    const sent = proof(context)
    const sdk = await outcome(
      verifyBoundToken(
        { accessToken, proof: sent, method: METHOD, url: URL_ },
        {
          issuer: ISSUER,
          audience: AUDIENCE,
          issuerKeys: issuer.jwks,
          firstUseOfJti: jtiRecorder().firstUse,
          now: NOW,
          ...(nonce === undefined ? {} : { nonce }),
        },
      ),
    )
    const server = await outcome(
      verifyProofForRequest(sent, {
        method: METHOD,
        url: URL_,
        accessToken,
        now: NOW,
        maxAgeSeconds: 60,
        seenJti: jtiRecorder().firstUse,
        expectedJkt: jkt,
        nonce,
      }),
    )
    expect(sdk).toEqual(server)
    if (refusal === undefined) expect(server).toEqual({ accepted: jkt })
    else
      expect(server).toMatchObject({
        reason: refusal.reason,
        message: expect.stringMatching(`^${refusal.field} `),
      })
  })
})
