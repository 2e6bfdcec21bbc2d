import { type ProofKey, type PublicProofJwk, privateKeyOf } from '../proof/proof-key.js'

/**
 * The `publicKey` member of a token request: the proof key's public JWK. A `key` that is not a
 * `ProofKey` from `createProofKey`/`importProofKey` is a `TypeError`, before any request.
 */
export function bindingKeyOf(key: ProofKey): { jwk: PublicProofJwk } {
  privateKeyOf(key)
  return { jwk: { ...key.publicJwk } }
}
