import { createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import type { ProviderAlgorithm } from '@strongroom/protocol'
import { jwkThumbprint } from '../../crypto/jwk.js'

/** A new signing key for a `jwt` provider: the private half as PKCS#8 DER, the public as a JWK with its kid. */
export function generateProviderKey(algorithm: ProviderAlgorithm): {
  privateDer: Buffer
  publicJwk: Record<string, string>
} {
  const { privateKey, publicKey } =
    algorithm === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : algorithm === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>
  return {
    privateDer: privateKey.export({ format: 'der', type: 'pkcs8' }),
    publicJwk: { ...jwk, kid: jwkThumbprint(jwk), alg: algorithm, use: 'sig' },
  }
}

export function privateKeyFromDer(der: Buffer): KeyObject {
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')

/**
 * A compact JWS with `node:crypto` (measured: jose's SignJWT costs 4× more on the hot path):
 * EdDSA, ES256 in JOSE's raw r‖s form (RFC 7518 §3.4), or RS256 (PKCS#1 v1.5).
 */
export function signJwt(
  algorithm: ProviderAlgorithm,
  key: KeyObject,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  const input = Buffer.from(`${b64(header)}.${b64(payload)}`)
  const signature =
    algorithm === 'EdDSA'
      ? sign(null, input, key)
      : algorithm === 'ES256'
        ? sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' })
        : sign('sha256', input, key)
  return `${input.toString()}.${signature.toString('base64url')}`
}
