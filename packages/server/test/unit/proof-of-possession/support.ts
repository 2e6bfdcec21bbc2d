import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { exportJWK, SignJWT } from 'jose'
import { jtiRecorder } from '../../../../dpop/test/jti-recorder.js'

export const NOW = 1_750_000_000_000
export const NOW_S = NOW / 1000
export const URL_ = 'https://pam.example/oauth2/token'
export const TOKEN = 'eyJhbGciOiJFZERTQSJ9.canary-token-payload.c2ln'

export const ath = (token: string) => createHash('sha256').update(token).digest('base64url')

export type Alg = 'ES256' | 'EdDSA' | 'RS256' | 'PS256'

export function keyPair(alg: Alg) {
  switch (alg) {
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' })
    case 'EdDSA':
      return generateKeyPairSync('ed25519')
    default:
      return generateKeyPairSync('rsa', { modulusLength: 2048 })
  }
}

/** A proof signed by jose (an implementation independent of the one under test). */
export async function joseProof(
  alg: Alg,
  privateKey: KeyObject,
  publicKey: KeyObject,
  claims: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT({ jti: `jti-${Math.random()}`, htm: 'POST', htu: URL_, iat: NOW_S, ...claims })
    .setProtectedHeader({ typ: 'dpop+jwt', alg, jwk: await exportJWK(publicKey) })
    .sign(privateKey)
}

export { signRaw } from '../../../../dpop/test/sign-raw.js'

export function seenStore() {
  const { seen, firstUse } = jtiRecorder()
  return { seen, seenJti: firstUse }
}
