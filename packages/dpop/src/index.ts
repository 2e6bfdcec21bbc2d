export { type CheckedProof, checkProof, type ProofCheck } from './check-proof.js'
export { jwsSignatureVerifies, keyFitsAlgorithm, RSA_MODULUS_BITS, rsaKeyProblem } from './jws-signature.js'
export {
  accessTokenHash,
  PROOF_ALGORITHMS,
  type ProofAlgorithm,
  type PublicProofJwk,
  proofJwkThumbprint,
} from './proof-jwk.js'
export {
  PROOF_REFUSALS,
  type ProofRefusal,
  type ProofRefusalOAuthError,
  proofRefusalOAuthError,
  type RefuseProof,
} from './proof-refusals.js'
export { normalizedHtm, normalizedHtu } from './request-target.js'
