import { createHash } from 'node:crypto'

/** The algorithms a proof may be signed with: never `none`, never a MAC. */
export type ProofAlgorithm = 'ES256' | 'EdDSA' | 'RS256' | 'PS256'
/** Every `ProofAlgorithm`: the ones accepted unless told otherwise. */
export const PROOF_ALGORITHMS: readonly ProofAlgorithm[] = ['ES256', 'EdDSA', 'RS256', 'PS256']

/** A public key a proof is signed with and a token bound to, as the members RFC 7638 hashes. */
export type PublicProofJwk =
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string }
  | { kty: 'OKP'; crv: 'Ed25519'; x: string }
  | { kty: 'RSA'; n: string; e: string }

/**
 * The RFC 7638 thumbprint (SHA-256, base64url) of a proof key: the `cnf.jkt` a token bound to it
 * carries. The members are written in lexicographic order with no white space, as §3 asks; they
 * are base64url strings and fixed names, so `JSON.stringify` needs no escaping rules beyond its own.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7638#section-3
 */
export function proofJwkThumbprint(jwk: PublicProofJwk): string {
  const members =
    jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : jwk.kty === 'OKP'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
        : { e: jwk.e, kty: jwk.kty, n: jwk.n }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

/** `ath`: the base64url SHA-256 of an access token's ASCII (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url')
}
