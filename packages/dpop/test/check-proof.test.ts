import { calculateJwkThumbprint } from 'jose'
import { describe, expect, it } from 'vitest'
import {
  checkProof,
  PROOF_ALGORITHMS,
  PROOF_REFUSALS,
  type ProofCheck,
  type ProofRefusal,
  proofJwkThumbprint,
  proofRefusalOAuthError,
} from '../src/index.js'
import { jtiRecorder } from './jti-recorder.js'
import { METHOD, NOW, PROOF_CASES, type ProofContext, proofContext, URL_ } from './proof-cases.js'

const TOKEN = 'eyJhbGciOiJFZERTQSJ9.canary-token-payload.c2ln'

class Refused extends Error {
  constructor(
    readonly reason: ProofRefusal,
    readonly field: string,
    readonly rule: string,
  ) {
    super(`${field} ${rule}`)
  }
}

function check(context: ProofContext, overrides: Partial<ProofCheck> = {}): ProofCheck {
  return {
    htm: METHOD,
    htu: URL_,
    accessToken: context.accessToken,
    expectedJkt: proofJwkThumbprint(context.bound.publicKey.export({ format: 'jwk' }) as never),
    now: NOW,
    windowSeconds: 60,
    algorithms: PROOF_ALGORITHMS,
    firstUseOfJti: jtiRecorder().firstUse,
    refuse: (reason, field, rule) => new Refused(reason, field, rule),
    ...overrides,
  }
}

describe('checkProof', () => {
  const context = proofContext(TOKEN)

  it.each(PROOF_CASES)('$name', async ({ proof, nonce, refusal }) => {
    const outcome = await checkProof(proof(context), check(context, { nonce })).then(
      (checked) => checked,
      (e: unknown) => e,
    )
    if (refusal === undefined) {
      expect(outcome).toMatchObject({ htm: METHOD, htu: URL_, alg: 'ES256', iat: NOW / 1000 })
      return
    }
    expect(outcome).toBeInstanceOf(Refused)
    expect(outcome).toMatchObject(refusal)
  })

  it('refuses a proof used before, and records a jti only once every other check passed', async () => {
    const options = check(context)
    const proof = PROOF_CASES[0]!.proof(context)
    await checkProof(proof, options)
    await expect(checkProof(proof, options)).rejects.toMatchObject({
      reason: 'ProofReplayed',
      field: 'DPoP.jti',
    })
    let recorded = 0
    const counting = check(context, {
      htm: 'POST',
      firstUseOfJti: async () => {
        recorded += 1
        return true
      },
    })
    await expect(checkProof(PROOF_CASES[0]!.proof(context), counting)).rejects.toMatchObject({
      reason: 'ProofRequestMismatch',
    })
    expect(recorded).toBe(0)
  })

  it('gives every refusal it can in the table or the replay test, and each its RFC 9449 error', () => {
    const tabled = new Set([
      ...PROOF_CASES.flatMap((c) => (c.refusal ? [c.refusal.reason] : [])),
      'ProofReplayed',
    ])
    expect([...PROOF_REFUSALS].filter((reason) => !tabled.has(reason))).toEqual([])
    expect(PROOF_REFUSALS.map(proofRefusalOAuthError)).toEqual([
      'invalid_dpop_proof',
      'invalid_dpop_proof',
      'invalid_dpop_proof',
      'invalid_dpop_proof',
      'invalid_token',
      'invalid_dpop_proof',
      'invalid_dpop_proof',
      'use_dpop_nonce',
    ])
  })

  it('names a key by its RFC 7638 thumbprint, as jose computes it', async () => {
    const jwk = context.bound.publicKey.export({ format: 'jwk' }) as never
    const checked = await checkProof(PROOF_CASES[0]!.proof(context), check(context))
    expect(checked.jkt).toBe(await calculateJwkThumbprint(jwk, 'sha256'))
    expect(checked.jkt).toBe(proofJwkThumbprint(jwk))
  })
})
