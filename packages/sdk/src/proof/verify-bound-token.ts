import { checkProof, PROOF_ALGORITHMS } from '@strongroom/dpop'
import {
  createLocalJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose'
import type { ReplayCheck } from './memory-replay-cache.js'
import { invalidArgument, ProofError } from './proof-error.js'
import type { ProofAlgorithm } from './proof-key.js'
import { requestHtm, requestHtu } from './request-target.js'

/** What a resource server received: the token from `Authorization: DPoP <token>`, the `DPoP` header. */
export interface BoundTokenRequest {
  accessToken: string | undefined
  proof: string | undefined
  method: string
  /** The full URL of the request as the client addressed it (scheme, host, path). */
  url: string | URL
}

export interface VerifyBoundTokenOptions {
  /** The token issuer's `iss`. */
  issuer: string
  /** The `aud` this resource server expects. */
  audience: string
  /** The issuer's JWKS, or a key resolver such as jose's `createRemoteJWKSet(jwksUri)`. */
  issuerKeys: JSONWebKeySet | JWTVerifyGetKey
  /** Records a proof's `jti`, resolving `true` on first use (`MemoryReplayCache#firstUse` or a shared store). */
  firstUseOfJti: ReplayCheck
  /** Now, in milliseconds since the epoch; `Date.now()` by default. */
  now?: number
  /** Algorithms the token may be signed with (default EdDSA and ES256, strongroom's). */
  tokenAlgorithms?: readonly string[]
  /** Clock skew tolerated on the token's `exp`, `nbf` and `iat`, in seconds (default 10). */
  tokenLeewaySeconds?: number
  /** Algorithms a proof may be signed with (default ES256, EdDSA, RS256, PS256). */
  proofAlgorithms?: readonly ProofAlgorithm[]
  /** How far a proof's `iat` may be from now, either way, in seconds (default 60). */
  proofWindowSeconds?: number
  /** The nonce this server handed out in `DPoP-Nonce`, when it requires one (RFC 9449 §9). */
  nonce?: string
}

export interface VerifiedBoundToken {
  /** The access token's claims; `cnf.jkt` is the thumbprint of the key that proved possession. */
  claims: JWTPayload & { cnf: { jkt: string } }
  /** The RFC 7638 thumbprint of the caller's key. */
  jkt: string
  proof: { jti: string; iat: number; htm: string; htu: string }
}

const DEFAULT_TOKEN_ALGORITHMS = ['EdDSA', 'ES256']
const DEFAULT_LEEWAY_SECONDS = 10
/** How far a proof's `iat` may be from now, either way, in seconds. */
const DEFAULT_PROOF_WINDOW_SECONDS = 60
const localSets = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>()

/**
 * Checks a request to a resource server that carries a proof-of-possession token: the access
 * token (signature by the issuer, `typ: at+jwt`, `iss`, `aud`, `exp`/`nbf` with a small leeway),
 * the DPoP proof (RFC 9449 §4.3: `typ`, `alg` allow-list, a public `jwk` and a signature by it,
 * `htm`, `htu`, `iat` within the window, `ath` of this token, the nonce when one is required), that
 * the token's `cnf.jkt` is the thumbprint of the proof's key (RFC 9449 §6.1), and last that the
 * proof's `jti` was not used before. Each refusal is a `ProofError` with its own `reason`; no
 * message carries the token or the proof.
 *
 * @example
 * ```ts
 * const replay = new MemoryReplayCache()
 * const jwks = createRemoteJWKSet(new URL('https://pam.example/.well-known/jwks.json'))
 * const { claims } = await verifyBoundToken(
 *   { accessToken, proof: req.headers.dpop, method: req.method, url: `https://api.example${req.url}` },
 *   { issuer: 'https://pam.example', audience: 'https://api.example', issuerKeys: jwks, firstUseOfJti: replay.firstUse },
 * )
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7
 */
export async function verifyBoundToken(
  request: BoundTokenRequest,
  options: VerifyBoundTokenOptions,
): Promise<VerifiedBoundToken> {
  if (typeof options.firstUseOfJti !== 'function') throw invalidArgument('firstUseOfJti must be a function')
  const now = options.now ?? Date.now()
  const accessToken = request.accessToken
  if (typeof accessToken !== 'string' || accessToken === '')
    throw new ProofError('TokenInvalid', 'the request carries no access token')
  // Before the token is verified, so a missing proof is said as such; in checkProof's words.
  if (request.proof === undefined || request.proof === '')
    throw new ProofError('ProofMissing', 'DPoP is required')

  const claims = await verifyToken(accessToken, options, now)
  const cnf = claims.cnf
  const jkt = typeof cnf === 'object' && cnf !== null ? (cnf as { jkt?: unknown }).jkt : undefined
  if (typeof jkt !== 'string' || jkt === '')
    throw new ProofError('TokenNotBound', 'the access token is bound to no key (no cnf.jkt)')

  const proof = await checkProof(request.proof, {
    htm: requestHtm(request.method),
    htu: requestHtu(request.url),
    accessToken,
    nonce: options.nonce,
    expectedJkt: jkt,
    now,
    windowSeconds: options.proofWindowSeconds ?? DEFAULT_PROOF_WINDOW_SECONDS,
    algorithms: options.proofAlgorithms ?? PROOF_ALGORITHMS,
    firstUseOfJti: options.firstUseOfJti,
    refuse: (reason, field, rule) => new ProofError(reason, `${field} ${rule}`),
  })
  return {
    claims: claims as VerifiedBoundToken['claims'],
    jkt,
    proof: { jti: proof.jti, iat: proof.iat, htm: proof.htm, htu: proof.htu },
  }
}

async function verifyToken(
  token: string,
  options: VerifyBoundTokenOptions,
  now: number,
): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, keyResolver(options.issuerKeys), {
      issuer: options.issuer,
      audience: options.audience,
      algorithms: [...(options.tokenAlgorithms ?? DEFAULT_TOKEN_ALGORITHMS)],
      typ: 'at+jwt',
      clockTolerance: options.tokenLeewaySeconds ?? DEFAULT_LEEWAY_SECONDS,
      currentDate: new Date(now),
      requiredClaims: ['exp'],
    })
    return payload
  } catch (err) {
    // The issuer's keys could not be fetched: not the caller's fault, so not a refusal of the token.
    if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) throw err
    if (err instanceof errors.JWTExpired) throw new ProofError('TokenExpired', 'the access token has expired')
    if (err instanceof errors.JWTClaimValidationFailed)
      throw new ProofError('TokenInvalid', `the access token ${err.claim} claim is not acceptable`)
    if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey)
      throw new ProofError('TokenInvalid', 'the access token is not signed by a key of the issuer')
    throw new ProofError('TokenInvalid', `the access token is not a valid JWT (${err.code})`)
  }
}

function keyResolver(keys: JSONWebKeySet | JWTVerifyGetKey): JWTVerifyGetKey {
  if (typeof keys === 'function') return keys
  let resolver = localSets.get(keys)
  if (resolver === undefined) {
    resolver = createLocalJWKSet(keys)
    localSets.set(keys, resolver)
  }
  return resolver
}
