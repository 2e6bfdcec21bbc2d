import { calculateJwkThumbprint, compactVerify, importJWK } from 'jose'
import { accessTokenHash } from './create-proof.js'
import { ProofError } from './proof-error.js'
import type { ProofAlgorithm, PublicProofJwk } from './proof-key.js'
import { normalizedHtm, normalizedHtu, requestHtm, requestHtu } from './request-target.js'

/** Proof algorithms accepted unless told otherwise: never `none`, never a MAC. */
export const DEFAULT_PROOF_ALGORITHMS: readonly ProofAlgorithm[] = ['ES256', 'EdDSA', 'RS256', 'PS256']
/** How far `iat` may be from now, either way, in seconds. */
export const DEFAULT_PROOF_WINDOW_SECONDS = 60

const MAX_PROOF_LENGTH = 8192
const SEGMENT = /^[A-Za-z0-9_-]+$/
const TYP = /^(application\/)?dpop\+jwt$/i
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']
const KEY_TYPE_OF: Record<ProofAlgorithm, string> = { ES256: 'EC', EdDSA: 'OKP', RS256: 'RSA', PS256: 'RSA' }

export interface ProofRequest {
  method: string
  url: string | URL
  /** When given, the proof must carry its `ath`. */
  accessToken?: string | undefined
  /** When given, the proof must carry this `nonce`. */
  nonce?: string | undefined
}

export interface ProofPolicy {
  /** Now, in milliseconds since the epoch. */
  now: number
  windowSeconds: number
  algorithms: readonly ProofAlgorithm[]
}

/** A proof whose signature and claims were checked; its `jti` is not yet recorded. */
export interface CheckedProof {
  /** RFC 7638 thumbprint of the proof's key. */
  jkt: string
  jwk: PublicProofJwk
  alg: ProofAlgorithm
  jti: string
  /** Seconds since the epoch. */
  iat: number
  htm: string
  htu: string
  /** When the proof leaves the window, in seconds since the epoch: how long to remember its `jti`. */
  expiresAt: number
}

const invalid = (message: string) => new ProofError('ProofInvalid', message)

/** RFC 9449 §4.3 checks 1-12 but for `jti` replay, which the caller does last. */
export async function checkProof(
  proof: unknown,
  request: ProofRequest,
  policy: ProofPolicy,
): Promise<CheckedProof> {
  const htm = requestHtm(request.method)
  const htu = requestHtu(request.url)
  if (proof === undefined || proof === null || proof === '')
    throw new ProofError('ProofMissing', 'the request carries no DPoP proof')
  if (typeof proof !== 'string' || proof.length > MAX_PROOF_LENGTH)
    throw invalid('the DPoP proof is not a JWS')
  const segments = proof.split('.')
  if (segments.length !== 3 || !segments.every(isCanonicalBase64url))
    throw invalid('the DPoP proof is not a compact JWS')
  const header = decodeObject(segments[0]!)
  const claims = decodeObject(segments[1]!)
  if (header === undefined) throw invalid('the DPoP proof header is not a JSON object')
  if (claims === undefined) throw invalid('the DPoP proof payload is not a JSON object')

  if (typeof header.typ !== 'string' || !TYP.test(header.typ))
    throw invalid('the DPoP proof header typ must be dpop+jwt')
  const alg = header.alg
  if (typeof alg !== 'string' || !(policy.algorithms as readonly string[]).includes(alg))
    throw invalid(`the DPoP proof header alg must be one of ${policy.algorithms.join(', ')}`)
  if (header.crit !== undefined || header.b64 !== undefined)
    throw invalid('the DPoP proof header has parameters this verifier does not support (crit, b64)')
  const jwk = publicJwkOf(header.jwk, alg as ProofAlgorithm)

  try {
    await compactVerify(proof, await importJWK(jwk, alg), { algorithms: [alg] })
  } catch {
    throw invalid('the DPoP proof signature does not verify with its jwk')
  }

  if (typeof claims.jti !== 'string' || claims.jti === '' || claims.jti.length > 256)
    throw invalid('the DPoP proof jti must be a string of 1 to 256 characters')
  if (typeof claims.htm !== 'string') throw invalid('the DPoP proof lacks htm')
  if (typeof claims.htu !== 'string') throw invalid('the DPoP proof lacks htu')
  if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat))
    throw invalid('the DPoP proof iat must be a number')
  if (normalizedHtm(claims.htm) !== htm)
    throw new ProofError('ProofRequestMismatch', 'the DPoP proof htm is not the method of this request')
  if (normalizedHtu(claims.htu) !== htu)
    throw new ProofError('ProofRequestMismatch', 'the DPoP proof htu is not the URL of this request')
  const now = Math.floor(policy.now / 1000)
  if (claims.iat < now - policy.windowSeconds)
    throw new ProofError('ProofExpired', `the DPoP proof iat is more than ${policy.windowSeconds} s old`)
  if (claims.iat > now + policy.windowSeconds)
    throw new ProofError('ProofExpired', `the DPoP proof iat is more than ${policy.windowSeconds} s ahead`)
  if (request.nonce !== undefined && claims.nonce !== request.nonce)
    throw new ProofError('ProofNonceInvalid', 'the DPoP proof lacks the nonce the server asked for')
  if (request.accessToken !== undefined) {
    if (typeof claims.ath !== 'string') throw new ProofError('ProofTokenMismatch', 'the DPoP proof lacks ath')
    if (claims.ath !== accessTokenHash(request.accessToken))
      throw new ProofError('ProofTokenMismatch', 'the DPoP proof ath is the hash of another access token')
  }
  return {
    jkt: await calculateJwkThumbprint(jwk, 'sha256'),
    jwk,
    alg: alg as ProofAlgorithm,
    jti: claims.jti,
    iat: claims.iat,
    htm,
    htu,
    expiresAt: Math.floor(claims.iat) + policy.windowSeconds,
  }
}

/** The header's `jwk`, public members only, of the type and strength its `alg` needs. */
function publicJwkOf(value: unknown, alg: ProofAlgorithm): PublicProofJwk {
  if (!isPlainObject(value)) throw invalid('the DPoP proof header jwk must be a JSON object')
  if (PRIVATE_MEMBERS.some((m) => Object.hasOwn(value, m)))
    throw invalid('the DPoP proof header jwk holds private or symmetric key material')
  if (value.kty !== KEY_TYPE_OF[alg]) throw invalid(`the DPoP proof header jwk is not a key for ${alg}`)
  const str = (name: string) => {
    const v = value[name]
    if (typeof v !== 'string' || !SEGMENT.test(v))
      throw invalid(`the DPoP proof header jwk.${name} is missing`)
    return v
  }
  switch (alg) {
    case 'ES256':
      if (value.crv !== 'P-256') throw invalid('the DPoP proof header jwk must be on P-256 for ES256')
      return { kty: 'EC', crv: 'P-256', x: str('x'), y: str('y') }
    case 'EdDSA':
      if (value.crv !== 'Ed25519') throw invalid('the DPoP proof header jwk must be Ed25519 for EdDSA')
      return { kty: 'OKP', crv: 'Ed25519', x: str('x') }
    default: {
      const n = str('n')
      if (Buffer.from(n, 'base64url').length < 256)
        throw invalid('the DPoP proof header jwk is an RSA key shorter than 2048 bits')
      return { kty: 'RSA', n, e: str('e') }
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
