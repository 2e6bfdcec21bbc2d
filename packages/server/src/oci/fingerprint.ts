import { createHash, createPublicKey, KeyObject } from 'node:crypto'

/**
 * The OCI fingerprint of an RSA public key: MD5 of its DER SubjectPublicKeyInfo, as 16 lower-case
 * hex pairs joined by colons, what the OCI console shows for an API key and what
 * `openssl rsa -pubout -outform DER -in key.pem | openssl md5 -c` prints. Undefined for a key that
 * is not RSA (OCI API keys are RSA) or that cannot be read.
 *
 * @example
 * ```ts
 * ociFingerprint({ kty: 'RSA', n: '…', e: 'AQAB' }) // '7e:e1:e0:d3:…'
 * ```
 */
export function ociFingerprint(key: KeyObject | Record<string, unknown>): string | undefined {
  let publicKey: KeyObject
  try {
    publicKey = key instanceof KeyObject ? key : createPublicKey({ key: key as never, format: 'jwk' })
  } catch {
    return undefined
  }
  if (publicKey.asymmetricKeyType !== 'rsa') return undefined
  const der = publicKey.export({ type: 'spki', format: 'der' })
  return colonHex(createHash('md5').update(der).digest())
}

/** `aa:bb:…`, lower case: the form the OCI SDKs and console use. */
function colonHex(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':')
}

/** A fingerprint as a client may write it (upper case hex is accepted), in its canonical form. */
export function normalizedFingerprint(value: string): string | undefined {
  const lower = value.toLowerCase()
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){15}$/.test(lower) ? lower : undefined
}
