import { constants, type KeyObject, verify } from 'node:crypto'

/**
 * JWS signatures (RFC 7515, algorithms of RFC 7518 and RFC 8037) verified with `node:crypto` on
 * the calling thread: for DPoP proofs here, and for the server's client assertions, which accept
 * more algorithms. The key must be of the type and strength its algorithm needs.
 */

const EC: Record<string, { curve: string; hash: string; length: number }> = {
  ES256: { curve: 'prime256v1', hash: 'sha256', length: 64 },
  ES384: { curve: 'secp384r1', hash: 'sha384', length: 96 },
  ES512: { curve: 'secp521r1', hash: 'sha512', length: 132 },
}
const RSA = /^(RS|PS)(256|384|512)$/

/** RSA moduli accepted, in bits: 2048 at least (NIST SP 800-131A), 8192 at most (verifying costs grow with it). */
export const RSA_MODULUS_BITS = { min: 2048, max: 8192 } as const

/**
 * What is wrong with an RSA public key, as a rule its field breaks; null when nothing is. The
 * public exponent must be odd, from 65,537 (FIPS 186-5 §A.1.1) to 2³² − 1: with e = 1 a signature
 * is the padded digest itself, which anyone can make without the private key, and a huge e makes
 * each verification cost milliseconds of the verifier's CPU.
 */
export function rsaKeyProblem(key: KeyObject): string | null {
  const details = key.asymmetricKeyDetails ?? {}
  const bits = details.modulusLength ?? 0
  if (bits < RSA_MODULUS_BITS.min) return `is an RSA key shorter than ${RSA_MODULUS_BITS.min} bits`
  if (bits > RSA_MODULUS_BITS.max) return `is an RSA key longer than ${RSA_MODULUS_BITS.max} bits`
  const e = details.publicExponent
  if (typeof e !== 'bigint' || e < 65_537n || e >= 2n ** 32n || e % 2n === 0n)
    return 'is an RSA key whose public exponent is not an odd number from 65537 to 4294967295'
  return null
}

/** Whether `key` is of the type (and, for RSA, the size and exponent) that `alg` signs with. */
export function keyFitsAlgorithm(alg: string, key: KeyObject): boolean {
  if (alg === 'EdDSA') return key.asymmetricKeyType === 'ed25519'
  const ec = EC[alg]
  if (ec) return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === ec.curve
  if (RSA.test(alg)) return key.asymmetricKeyType === 'rsa' && rsaKeyProblem(key) === null
  return false
}

/** Whether `signature` over `input` verifies with `key` under the asymmetric `alg`; never throws. */
export function jwsSignatureVerifies(alg: string, key: KeyObject, input: Buffer, signature: Buffer): boolean {
  if (!keyFitsAlgorithm(alg, key)) return false
  try {
    if (alg === 'EdDSA') return verify(null, input, key, signature)
    const ec = EC[alg]
    if (ec) {
      return (
        signature.length === ec.length &&
        verify(ec.hash, input, { key, dsaEncoding: 'ieee-p1363' }, signature)
      )
    }
    const hash = `sha${alg.slice(2)}`
    return alg.startsWith('RS')
      ? verify(hash, input, key, signature)
      : verify(
          hash,
          input,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
          signature,
        )
  } catch {
    return false
  }
}
