import { createHmac, createPublicKey, type JsonWebKey, type KeyObject, timingSafeEqual } from 'node:crypto'
import { jwsSignatureVerifies, keyFitsAlgorithm } from '@strongroom/dpop'
import type { JWK } from 'jose'

/**
 * RFC 7523 client assertions verified with `node:crypto`, synchronously. jose's `jwtVerify` verifies
 * through WebCrypto on libuv's thread pool (≈ 240 µs a call here, one at a time) where
 * `crypto.verify` takes ≈ 60 µs for Ed25519 and ES256 on the calling thread; every
 * `private_key_jwt` token request pays it. The checks are jose's for this profile (a differential
 * property test holds the two to the same verdicts): one compact JWS, an allowed `alg`, no `crit`
 * or `b64` header (no extension is understood), a signature by one of the candidate keys (chosen as
 * jose's local JWK set chooses: by `kid` when the header names one, by `alg`, `use` and `key_ops`
 * when the JWK names them), then `iss`, `sub`, `aud`, `exp` (required), `nbf` and `iat` with the
 * given leeway. The error codes are jose's, for the audit's details.
 */

/** A key an assertion may be signed with: a registered public JWK, or a live client secret (HS256). */
export type AssertionKey =
  | {
      readonly kind: 'public'
      readonly key: KeyObject
      readonly jwk: JWK
      /** The registered key's row (`application_keys.id`), where it came from one. */
      readonly applicationKeyId?: string
    }
  | { readonly kind: 'secret'; readonly key: Buffer; readonly clientSecretId: string }

export interface AssertionCheck {
  readonly issuer: string
  readonly subject: string
  readonly audiences: readonly string[]
  readonly algorithms: readonly string[]
  /** Now, in seconds since the epoch. */
  readonly nowS: number
  readonly leewayS: number
}

export type AssertionVerdict =
  | { readonly payload: Record<string, unknown>; readonly key: AssertionKey }
  | { readonly error: string }

const SEGMENT = /^[A-Za-z0-9_-]*$/

export function verifyClientAssertion(
  jwt: string,
  keys: readonly AssertionKey[],
  check: AssertionCheck,
): AssertionVerdict {
  const parts = jwt.split('.')
  // base64url without padding: a length of 4n + 1 is no encoding at all.
  if (parts.length !== 3 || !parts.every((part) => SEGMENT.test(part) && part.length % 4 !== 1)) {
    return { error: 'ERR_JWS_INVALID' }
  }
  const [h, p, s] = parts as [string, string, string]
  const header = decodeObject(h)
  if (header === undefined) return { error: 'ERR_JWS_INVALID' }
  const alg = header.alg
  if (typeof alg !== 'string' || alg === '') return { error: 'ERR_JWS_INVALID' }
  if (header.crit !== undefined || header.b64 !== undefined) return { error: 'ERR_JWS_INVALID' }
  if (!check.algorithms.includes(alg)) return { error: 'ERR_JOSE_ALG_NOT_ALLOWED' }
  const payload = decodeObject(p)
  if (payload === undefined) return { error: 'ERR_JWT_INVALID' }
  const candidates = keys.filter((key) => selectable(key, alg, header.kid))
  if (candidates.length === 0) return { error: 'ERR_JWKS_NO_MATCHING_KEY' }
  const input = Buffer.from(`${h}.${p}`, 'ascii')
  const signature = Buffer.from(s, 'base64url')
  const key = candidates.find((candidate) => signatureVerifies(alg, candidate, input, signature))
  if (!key) return { error: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }
  const claims = claimsError(payload, check)
  return claims === null ? { payload, key } : { error: claims }
}

/** A registered JWK as a key object, or undefined when it is not a usable public key. */
export function publicAssertionKey(jwk: JWK): AssertionKey | undefined {
  try {
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
    return key.type === 'public' ? { kind: 'public', key, jwk } : undefined
  } catch {
    return undefined
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function decodeObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(utf8.decode(Buffer.from(segment, 'base64url')))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** Whether a key may be tried for this header, as jose's local JWK set decides. */
function selectable(key: AssertionKey, alg: string, kid: unknown): boolean {
  if (key.kind === 'secret') return alg === 'HS256'
  if (alg === 'HS256') return false
  const { jwk } = key
  if (typeof kid === 'string' && jwk.kid !== kid) return false
  if (jwk.alg !== undefined && jwk.alg !== alg) return false
  if (jwk.use !== undefined && jwk.use !== 'sig') return false
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return false
  return keyFitsAlgorithm(alg, key.key)
}

function signatureVerifies(alg: string, candidate: AssertionKey, input: Buffer, signature: Buffer): boolean {
  if (candidate.kind === 'public') return jwsSignatureVerifies(alg, candidate.key, input, signature)
  const expected = createHmac('sha256', candidate.key).update(input).digest()
  return signature.length === expected.length && timingSafeEqual(signature, expected)
}

/** jose's claim checks for this profile; null when they pass. */
function claimsError(payload: Record<string, unknown>, check: AssertionCheck): string | null {
  const invalid = 'ERR_JWT_CLAIM_VALIDATION_FAILED'
  for (const name of ['iat', 'nbf', 'exp'] as const) {
    if (payload[name] !== undefined && !isNumericDate(payload[name])) return invalid
  }
  if (payload.iss !== check.issuer || payload.sub !== check.subject) return invalid
  const aud = payload.aud
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []
  if (!audiences.some((a) => typeof a === 'string' && check.audiences.includes(a))) return invalid
  if (payload.exp === undefined || payload.jti === undefined) return invalid
  if (
    (payload.nbf as number | undefined) !== undefined &&
    (payload.nbf as number) > check.nowS + check.leewayS
  )
    return invalid
  if ((payload.exp as number) <= check.nowS - check.leewayS) return 'ERR_JWT_EXPIRED'
  return null
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}
