import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose'
import { jtiRecorder } from '../../../dpop/test/jti-recorder.js'

export const NOW = 1_750_000_000_000
export const NOW_S = NOW / 1000
export const ISSUER = 'https://pam.example'
export const AUDIENCE = 'https://api.example'
export const URL_ = 'https://api.example/v1/things'
export const CANARY_TOKEN_CLAIM = 'canary-9d1f-token-claim'

/** A token issuer with an EdDSA key, publishing a JWKS, minting `at+jwt` tokens. */
export async function createIssuer() {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA')
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' }] }
  const mint = (claims: JWTPayload, header: { typ?: string } = {}) =>
    new SignJWT({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'app_1',
      iat: NOW_S,
      exp: NOW_S + 300,
      scope: 'things:read',
      canary: CANARY_TOKEN_CLAIM,
      ...claims,
    })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1', ...header })
      .sign(privateKey)
  return { jwks, mint }
}

export { signRaw } from '../../../dpop/test/sign-raw.js'

/** Collects every `jti` given to it and answers like a fresh replay store. */
export function replayRecorder() {
  const { seen, firstUse } = jtiRecorder()
  return { seen, firstUseOfJti: firstUse }
}
