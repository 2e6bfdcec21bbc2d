import { createPublicKey, type KeyObject } from 'node:crypto'
import { jwsSignatureVerifies } from './jws-signature.js'
import type { ProofAlgorithm, PublicProofJwk } from './proof-jwk.js'
import type { RefuseProof } from './proof-refusals.js'

const MAX_PROOF_LENGTH = 8192
const SEGMENT = /^[A-Za-z0-9_-]+$/
const TYP = /^(application\/)?dpop\+jwt$/i
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']
const FIELD = 'DPoP'

/** A proof whose header is sound and whose signature verified with its own `jwk`; claims unchecked. */
export interface SignedProof {
  alg: ProofAlgorithm
  jwk: PublicProofJwk
  claims: Record<string, unknown>
}

/** RFC 9449 §4.3 checks 1-7: one JWS, a `dpop+jwt` header with an allowed `alg` and a public `jwk`, a valid signature. */
export function parseSignedProof(
  proof: unknown,
  algorithms: readonly ProofAlgorithm[],
  refuse: RefuseProof,
): SignedProof {
  const invalid = (field: string, rule: string) => refuse('ProofInvalid', field, rule)
  if (proof === undefined || proof === null || proof === '')
    throw refuse('ProofMissing', FIELD, 'is required')
  if (typeof proof !== 'string' || proof.length > MAX_PROOF_LENGTH)
    throw invalid(FIELD, `must be a compact JWS of at most ${MAX_PROOF_LENGTH} characters`)
  const segments = proof.split('.')
  if (segments.length !== 3 || !segments.every(isCanonicalBase64url))
    throw invalid(FIELD, 'must be a compact JWS (three base64url segments)')
  const [h, p, s] = segments as [string, string, string]
  const header = decodeObject(h)
  if (header === undefined) throw invalid(`${FIELD}.header`, 'must be a JSON object')
  const claims = decodeObject(p)
  if (claims === undefined) throw invalid(`${FIELD}.payload`, 'must be a JSON object')
  if (typeof header.typ !== 'string' || !TYP.test(header.typ))
    throw invalid(`${FIELD}.typ`, 'must be dpop+jwt')
  const alg = header.alg
  if (typeof alg !== 'string' || !(algorithms as readonly string[]).includes(alg))
    throw invalid(`${FIELD}.alg`, `must be one of ${algorithms.join(', ')}`)
  if (header.crit !== undefined || header.b64 !== undefined)
    throw invalid(`${FIELD}.crit`, 'must be absent: no extension is understood')
  const jwk = publicJwkOf(header.jwk, alg as ProofAlgorithm, invalid)
  let key: KeyObject
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' })
  } catch {
    throw invalid(`${FIELD}.jwk`, 'must be a valid public key')
  }
  if (!jwsSignatureVerifies(alg, key, Buffer.from(`${h}.${p}`), Buffer.from(s, 'base64url')))
    throw invalid(FIELD, 'must be signed by the key in its jwk header')
  return { alg: alg as ProofAlgorithm, jwk, claims }
}

/** The header's `jwk`: public members only, of the type and strength its `alg` needs. */
function publicJwkOf(
  value: unknown,
  alg: ProofAlgorithm,
  invalid: (field: string, rule: string) => Error,
): PublicProofJwk {
  const field = `${FIELD}.jwk`
  if (!isPlainObject(value)) throw invalid(field, 'must be a JSON object')
  if (PRIVATE_MEMBERS.some((m) => Object.hasOwn(value, m)))
    throw invalid(field, 'must not hold private or symmetric key material')
  const member = (name: string) => {
    const v = value[name]
    if (typeof v !== 'string' || !SEGMENT.test(v))
      throw invalid(`${field}.${name}`, 'must be a base64url string')
    return v
  }
  switch (alg) {
    case 'ES256':
      if (value.kty !== 'EC' || value.crv !== 'P-256')
        throw invalid(field, 'must be an EC P-256 key for ES256')
      return { kty: 'EC', crv: 'P-256', x: member('x'), y: member('y') }
    case 'EdDSA':
      if (value.kty !== 'OKP' || value.crv !== 'Ed25519')
        throw invalid(field, 'must be an Ed25519 key for EdDSA')
      return { kty: 'OKP', crv: 'Ed25519', x: member('x') }
    default: {
      if (value.kty !== 'RSA') throw invalid(field, `must be an RSA key for ${alg}`)
      const n = member('n')
      const bytes = Buffer.from(n, 'base64url').length
      if (bytes < 256) throw invalid(field, 'must be an RSA key of at least 2048 bits')
      // A proof's key is the client's choice and is verified before anything says it is the bound
      // one: a 16,384-bit modulus, or an exponent as long as the modulus (verifying costs ~115
      // times e = 65537's), would make each proof a CPU burden. Keys in use are within both.
      if (bytes > 512) throw invalid(field, 'must be an RSA key of at most 4096 bits')
      const e = member('e')
      if (Buffer.from(e, 'base64url').length > 4)
        throw invalid(`${field}.e`, 'must be an RSA public exponent of at most 32 bits')
      return { kty: 'RSA', n, e }
    }
  }
}

// Only the one encoding of the bytes: no unused bits set, so a proof cannot be re-encoded into another string.
function isCanonicalBase64url(segment: string): boolean {
  return SEGMENT.test(segment) && Buffer.from(segment, 'base64url').toString('base64url') === segment
}

function decodeObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return isPlainObject(value) ? value : undefined
  } catch {
    return undefined
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
