import { createHash, createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { exportJWK, SignJWT } from 'jose'

export const NOW = 1_750_000_000_000
export const NOW_S = NOW / 1000
export const URL_ = 'https://pam.example/oauth2/token'
export const TOKEN = 'eyJhbGciOiJFZERTQSJ9.canary-token-payload.c2ln'

export const ath = (token: string) => createHash('sha256').update(token).digest('base64url')
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

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

/** A compact JWS of exactly this header and payload (tests of hostile proofs). */
export function signRaw(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject | Buffer,
): string {
  const input = `${b64(header)}.${b64(payload)}`
  let signature: Buffer
  if (Buffer.isBuffer(key)) signature = createHmac('sha256', key).update(input).digest()
  else if (key.asymmetricKeyType === 'ed25519') signature = sign(null, Buffer.from(input), key)
  else if (key.asymmetricKeyType === 'ec')
    signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  else signature = sign('sha256', Buffer.from(input), key)
  return `${input}.${signature.toString('base64url')}`
}

export function seenStore() {
  const seen = new Map<string, number>()
  const seenJti = async (jti: string, exp: number) => {
    if (seen.has(jti)) return false
    seen.set(jti, exp)
    return true
  }
  return { seen, seenJti }
}
