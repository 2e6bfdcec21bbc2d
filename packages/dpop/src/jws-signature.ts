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

/** Whether `key` is of the type (and, for RSA, the size: 2048 bits at least) that `alg` signs with. */
export function keyFitsAlgorithm(alg: string, key: KeyObject): boolean {
  if (alg === 'EdDSA') return key.asymmetricKeyType === 'ed25519'
  const ec = EC[alg]
  if (ec) return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === ec.curve
  if (RSA.test(alg)) {
    return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048
  }
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
