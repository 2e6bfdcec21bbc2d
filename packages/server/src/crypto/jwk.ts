import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import { rsaKeyProblem } from '@strongroom/dpop'
import { canonicalJson } from '../audit/canonical-json.js'
import { InvalidParameter } from '../errors.js'

/** RFC 7638 JWK thumbprint (SHA-256, base64url): a kid that names the key itself. */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  const required: Record<string, string[]> = {
    OKP: ['crv', 'kty', 'x'],
    EC: ['crv', 'kty', 'x', 'y'],
    RSA: ['e', 'kty', 'n'],
  }
  const members = Object.fromEntries((required[String(jwk.kty)] ?? []).map((k) => [k, jwk[k]]))
  return createHash('sha256').update(canonicalJson(members)).digest('base64url')
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']
const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }
const ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']

/**
 * A client's signature key, from a JWK or a PEM (SPKI public key or X.509 certificate), as a
 * normalised public JWK with a kid: RSA of 2048 to 8192 bits with an exponent from 65537
 * (`rsaKeyProblem`), EC on P-256/384/521, or Ed25519.
 * Private keys and symmetric keys are refused: the server must never hold a client's private key.
 */
export function publicJwkFrom(
  input: { jwk: Record<string, unknown> } | { pem: string },
  field: string,
): Record<string, string> {
  let key: KeyObject
  let kid: string | undefined
  let alg: string | undefined
  if ('pem' in input) {
    if (/PRIVATE KEY/.test(input.pem))
      throw new InvalidParameter(field, 'is a private key: register the public key only')
    try {
      key = createPublicKey(input.pem)
    } catch {
      throw new InvalidParameter(field, 'is not a PEM public key or certificate')
    }
  } else {
    const jwk = input.jwk
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) {
      throw new InvalidParameter(
        field,
        'holds private or symmetric key material: register the public key only',
      )
    }
    if (jwk.kid !== undefined && (typeof jwk.kid !== 'string' || jwk.kid === '' || jwk.kid.length > 128)) {
      throw new InvalidParameter(`${field}.kid`, 'must be a string of 1 to 128 characters')
    }
    if (jwk.alg !== undefined && !ALGS.includes(String(jwk.alg))) {
      throw new InvalidParameter(`${field}.alg`, `must be one of ${ALGS.join(', ')}`)
    }
    kid = jwk.kid as string | undefined
    alg = jwk.alg as string | undefined
    try {
      key = createPublicKey({ key: jwk as never, format: 'jwk' })
    } catch {
      throw new InvalidParameter(field, 'is not a valid public JWK')
    }
  }
  const details = key.asymmetricKeyDetails ?? {}
  if (key.asymmetricKeyType === 'rsa-pss') {
    // It has no JWK form (Node cannot export it as one, and JOSE names none): refused as such,
    // rather than as the 500 its export threw.
    throw new InvalidParameter(
      field,
      'is an RSASSA-PSS key (id-RSASSA-PSS): register the same key as a plain RSA key (rsaEncryption); PS256 signatures verify with it',
    )
  }
  if (key.asymmetricKeyType === 'rsa') {
    const problem = rsaKeyProblem(key)
    if (problem !== null) throw new InvalidParameter(field, problem)
  } else if (key.asymmetricKeyType === 'ec') {
    if (!details.namedCurve || !(details.namedCurve in CURVES))
      throw new InvalidParameter(field, 'is an EC key on a curve other than P-256, P-384 or P-521')
  } else if (key.asymmetricKeyType !== 'ed25519') {
    throw new InvalidParameter(
      field,
      `is a ${key.asymmetricKeyType} key; use RSA (2048+), EC (P-256/384/521) or Ed25519`,
    )
  }
  const exported = key.export({ format: 'jwk' }) as Record<string, string>
  return { ...exported, kid: kid ?? jwkThumbprint(exported), ...(alg ? { alg } : {}), use: 'sig' }
}
