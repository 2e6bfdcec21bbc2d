import { createPrivateKey, type JsonWebKey, type KeyObject, sign, verify } from 'node:crypto'
import { malformed, SshKeyError } from './errors.js'
import type { EcdsaCurve } from './key-types.js'
import type { SshPublicKey } from './ssh-public-key.js'

// OpenSSH stores raw key components; node:crypto takes them as a JWK (RFC 7517/7518/8037). The JWK
// objects hold secrets: they never leave these functions.

/** The DER of a PKCS#8 Ed25519 private key (RFC 8410 §7) up to its 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** Ed25519 from its 32-byte seed (RFC 8032 §5.1.5's private key), wrapped as PKCS#8 DER. */
export function ed25519FromSeed(seed: Buffer): KeyObject {
  if (seed.length !== 32) throw malformed('the Ed25519 private key is not 32 bytes')
  const der = Buffer.concat([ED25519_PKCS8_PREFIX, seed])
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  } catch (cause) {
    throw new SshKeyError('MalformedKey', 'the Ed25519 private key is not valid', { cause })
  } finally {
    der.fill(0)
  }
}

export interface RsaComponents {
  readonly n: Buffer
  readonly e: Buffer
  readonly d: Buffer
  readonly iqmp: Buffer
  readonly p: Buffer
  readonly q: Buffer
}

/** RSA from OpenSSH's (n, e, d, iqmp, p, q); the CRT exponents dp, dq are computed. */
export function rsaFromComponents(key: RsaComponents): KeyObject {
  const [n, d, p, q, iqmp] = [key.n, key.d, key.p, key.q, key.iqmp].map(toBigInt) as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ]
  if (p < 3n || q < 3n || p * q !== n) throw malformed('the RSA primes do not multiply to the modulus')
  if ((iqmp * q) % p !== 1n) throw malformed('the RSA CRT coefficient is wrong')
  if (d < 1n || d >= n) throw malformed('the RSA private exponent is out of range')
  return fromJwk({
    kty: 'RSA',
    n: b64(key.n),
    e: b64(key.e),
    d: b64(key.d),
    p: b64(key.p),
    q: b64(key.q),
    dp: b64(fromBigInt(d % (p - 1n))),
    dq: b64(fromBigInt(d % (q - 1n))),
    qi: b64(key.iqmp),
  })
}

/** ECDSA from the public point's coordinates and the private scalar. */
export function ecdsaFromComponents(curve: EcdsaCurve, x: Buffer, y: Buffer, scalar: Buffer): KeyObject {
  if (scalar.length === 0 || scalar.length > curve.fieldBytes)
    throw malformed('the ECDSA private key is out of range')
  const d = Buffer.alloc(curve.fieldBytes)
  scalar.copy(d, curve.fieldBytes - scalar.length)
  return fromJwk({ kty: 'EC', crv: curve.jwkCurve, x: b64(x), y: b64(y), d: b64(d) })
}

/**
 * A pairwise consistency test (as FIPS 140 asks of generated keys): a signature made with the private
 * key must verify with the public key the file advertises. It catches a private part that does not
 * belong to the public key shown to users, which the checks on the public blob alone cannot.
 */
export function assertKeyPair(privateKey: KeyObject, expected: SshPublicKey): void {
  const message = Buffer.from('strongroom ssh key pairwise consistency test')
  const digest = expected.keyType === 'ed25519' ? null : 'sha256'
  let consistent: boolean
  try {
    consistent = verify(digest, message, expected.publicKey, sign(digest, message, privateKey))
  } catch (cause) {
    throw new SshKeyError('MalformedKey', 'the private key cannot sign', { cause })
  }
  if (!consistent) throw malformed('the private key does not match its public key')
}

function fromJwk(jwk: JsonWebKey): KeyObject {
  try {
    return createPrivateKey({ key: jwk, format: 'jwk' })
  } catch (cause) {
    throw new SshKeyError('MalformedKey', 'the private key components are not a valid key', { cause })
  }
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64url')
}

function toBigInt(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`)
}

function fromBigInt(value: bigint): Buffer {
  const hex = value.toString(16)
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex')
}
