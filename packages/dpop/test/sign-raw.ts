import { createHmac, type KeyObject, sign } from 'node:crypto'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * A compact JWS of exactly this header and payload, signed as the key's type says (an HMAC for a
 * Buffer): hostile proofs that no JOSE library would write. The SDK's and the server's proof tests
 * use it too.
 */
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
