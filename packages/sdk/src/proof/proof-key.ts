import { createPrivateKey, createPublicKey, generateKeyPair, type JsonWebKey, KeyObject } from 'node:crypto'
import { promisify } from 'node:util'
import type { ProofAlgorithm, PublicProofJwk } from '@strongroom/dpop'
import { calculateJwkThumbprint } from 'jose'
import { REDACTED, Redacted } from '../client/redacted.js'
import { ConfigurationError } from '../errors.js'

// The JWS algorithms a proof key signs with, and its public members (RFC 7517), exactly those RFC 7638 hashes.
export type { ProofAlgorithm, PublicProofJwk }

const generate = promisify(generateKeyPair)
// The private keys, kept out of the objects themselves so no printing, spreading or cloning reaches them.
const privateKeys = new WeakMap<ProofKey, KeyObject>()

/**
 * A key pair whose public half a token is bound to (`cnf.jkt`, RFC 9449 §6) and whose private half
 * signs DPoP proofs. Printing it (`util.inspect`, `console.log`, `JSON.stringify`) shows the
 * algorithm, the public JWK and the thumbprint, and `[REDACTED]` for the private key, which is held
 * outside the object and cannot be read back.
 */
export class ProofKey extends Redacted {
  readonly alg: ProofAlgorithm
  /** The public key as a JWK: only the members RFC 7638 hashes, ready for a `jwk` header. */
  readonly publicJwk: Readonly<PublicProofJwk>
  /** RFC 7638 JWK thumbprint (SHA-256, base64url): the `cnf.jkt` a bound token carries. */
  readonly thumbprint: string

  private constructor(alg: ProofAlgorithm, publicJwk: PublicProofJwk, thumbprint: string) {
    super()
    this.alg = alg
    this.publicJwk = Object.freeze(publicJwk)
    this.thumbprint = thumbprint
  }

  /** @internal Builds the holder; use `createProofKey` or `importProofKey`. */
  static async fromPrivateKey(privateKey: KeyObject, alg: ProofAlgorithm): Promise<ProofKey> {
    const publicJwk = publicMembers(createPublicKey(privateKey).export({ format: 'jwk' }))
    const key = new ProofKey(alg, publicJwk, await calculateJwkThumbprint(publicJwk, 'sha256'))
    privateKeys.set(key, privateKey)
    return key
  }

  override toJSON(): Record<string, unknown> {
    return { alg: this.alg, thumbprint: this.thumbprint, publicJwk: this.publicJwk, privateKey: REDACTED }
  }
}

/** @internal The private key of a holder made by this module. */
export function privateKeyOf(key: ProofKey): KeyObject {
  const privateKey = key instanceof ProofKey ? privateKeys.get(key) : undefined
  if (privateKey === undefined) {
    throw Object.assign(new TypeError('key must be a ProofKey from createProofKey or importProofKey'), {
      code: 'ERR_INVALID_ARG_TYPE' as const,
    })
  }
  return privateKey
}

/**
 * Generates a fresh proof key: ES256 (P-256, the default), EdDSA (Ed25519) or RS256/PS256 (RSA 2048).
 *
 * @example
 * ```ts
 * const key = await createProofKey()
 * // ask for a token bound to key.thumbprint, then on every request:
 * const proof = await createProof(key, { method: 'GET', url, accessToken })
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4
 */
export async function createProofKey(alg: ProofAlgorithm = 'ES256'): Promise<ProofKey> {
  let pair: { privateKey: KeyObject }
  switch (alg) {
    case 'ES256':
      pair = await generate('ec', { namedCurve: 'P-256' })
      break
    case 'EdDSA':
      pair = await generate('ed25519', {})
      break
    case 'RS256':
    case 'PS256':
      pair = await generate('rsa', { modulusLength: 2048 })
      break
    default:
      throw Object.assign(new TypeError('alg must be one of ES256, EdDSA, RS256, PS256'), {
        code: 'ERR_INVALID_ARG_VALUE' as const,
      })
  }
  return ProofKey.fromPrivateKey(pair.privateKey, alg)
}

export interface ImportProofKeyOptions {
  /** For an RSA key, `PS256` instead of the default `RS256`; for others it must match the key. */
  alg?: ProofAlgorithm
}

/**
 * A proof key from an existing private key: a PEM (PKCS#8, PKCS#1 or SEC1), a private JWK or a
 * `KeyObject`. The algorithm follows from the key: RSA of at least 2048 bits → RS256 (or PS256 when
 * asked), EC P-256 → ES256, Ed25519 → EdDSA (an `RSASSA-PSS`-only key has no JWK form, so it is
 * refused: use a plain RSA key with `alg: 'PS256'`). Anything else, a public key or an
 * unreadable one is a `ConfigurationError` that never quotes the key.
 *
 * @example
 * ```ts
 * const key = await importProofKey(await readFile('/run/secrets/dpop.pem', 'utf8'))
 * ```
 */
export async function importProofKey(
  input: string | JsonWebKey | KeyObject,
  options: ImportProofKeyOptions = {},
): Promise<ProofKey> {
  const privateKey = readPrivateKey(input)
  const alg = algorithmOf(privateKey, options.alg)
  return ProofKey.fromPrivateKey(privateKey, alg)
}

function readPrivateKey(input: string | JsonWebKey | KeyObject): KeyObject {
  if (input instanceof KeyObject) {
    if (input.type !== 'private') throw new ConfigurationError('the proof key must be a private key')
    return input
  }
  try {
    if (typeof input === 'string') return createPrivateKey(input)
    if (typeof input === 'object' && input !== null && typeof input.d === 'string')
      return createPrivateKey({ key: input, format: 'jwk' })
  } catch {
    // The cause is dropped on purpose: it could quote part of the key.
  }
  throw new ConfigurationError(
    'the proof key is not a readable private key (an unencrypted PEM, a private JWK or a KeyObject)',
  )
}

function algorithmOf(key: KeyObject, wanted: ProofAlgorithm | undefined): ProofAlgorithm {
  const details = key.asymmetricKeyDetails ?? {}
  let allowed: ProofAlgorithm[]
  switch (key.asymmetricKeyType) {
    case 'rsa':
      if ((details.modulusLength ?? 0) < 2048)
        throw new ConfigurationError('the RSA proof key is shorter than 2048 bits')
      allowed = ['RS256', 'PS256']
      break
    case 'ec':
      if (details.namedCurve !== 'prime256v1')
        throw new ConfigurationError('an EC proof key must be on P-256')
      allowed = ['ES256']
      break
    case 'ed25519':
      allowed = ['EdDSA']
      break
    default:
      throw new ConfigurationError(
        `a proof key cannot be ${key.asymmetricKeyType ?? 'of this type'}: use EC P-256, Ed25519 or RSA (2048+)`,
      )
  }
  const alg = wanted ?? allowed[0]!
  if (!allowed.includes(alg))
    throw new ConfigurationError(`the proof key cannot sign ${alg}: it signs ${allowed.join(' or ')}`)
  return alg
}

function publicMembers(jwk: JsonWebKey): PublicProofJwk {
  const s = (v: unknown) => String(v)
  if (jwk.kty === 'EC') return { kty: 'EC', crv: 'P-256', x: s(jwk.x), y: s(jwk.y) }
  if (jwk.kty === 'OKP') return { kty: 'OKP', crv: 'Ed25519', x: s(jwk.x) }
  return { kty: 'RSA', n: s(jwk.n), e: s(jwk.e) }
}
