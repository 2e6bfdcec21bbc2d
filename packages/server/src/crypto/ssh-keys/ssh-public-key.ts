import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { malformed, SshKeyError } from './errors.js'
import { MAX_RSA_BITS } from './key-input.js'
import { keyTypeInfoByJwkCurve, keyTypeInfoBySshName, SSH_KEY_TYPES, type SshKeyType } from './key-types.js'
import { SshWireReader } from './ssh-wire-reader.js'
import { SshWireWriter } from './ssh-wire-writer.js'

/** A public key in OpenSSH's terms: its wire blob (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4). */
export interface SshPublicKey {
  readonly keyType: SshKeyType
  /** Modulus bits for RSA, curve bits for ECDSA, 256 for Ed25519 (what `ssh-keygen -l` prints). */
  readonly bits: number
  readonly blob: Buffer
  readonly publicKey: KeyObject
}

/** The SSH public key of a `node:crypto` key (private or public) of a supported type. */
export function sshPublicKeyOf(key: KeyObject): SshPublicKey {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key
  const type = publicKey.asymmetricKeyType
  // Only these export as a JWK we understand (RSA-PSS, DSA, DH do not export at all).
  if (type !== 'ed25519' && type !== 'rsa' && type !== 'ec')
    throw unsupportedKeyType(describeKeyObject(publicKey))
  // Before anything is done with the key: decoding it (node:crypto's) is all it has cost so far.
  if (type === 'rsa') assertRsaModulusBits(publicKey.asymmetricKeyDetails?.modulusLength ?? 0)
  const jwk = publicKey.export({ format: 'jwk' })
  const writer = new SshWireWriter()
  if (publicKey.asymmetricKeyType === 'ed25519') {
    writer.bytesString(SSH_KEY_TYPES.ed25519.sshName).bytesString(base64url(jwk.x))
    return { keyType: 'ed25519', bits: 256, blob: writer.toBuffer(), publicKey }
  }
  if (publicKey.asymmetricKeyType === 'rsa') {
    const n = base64url(jwk.n)
    writer.bytesString(SSH_KEY_TYPES.rsa.sshName).unsignedMpint(base64url(jwk.e)).unsignedMpint(n)
    return { keyType: 'rsa', bits: bitLength(n), blob: writer.toBuffer(), publicKey }
  }
  const info = publicKey.asymmetricKeyType === 'ec' ? keyTypeInfoByJwkCurve(jwk.crv) : undefined
  if (info?.curve === undefined) throw unsupportedKeyType(describeKeyObject(publicKey))
  const point = Buffer.concat([Buffer.of(4), base64url(jwk.x), base64url(jwk.y)])
  writer.bytesString(info.sshName).bytesString(info.curve.sshCurve).bytesString(point)
  return { keyType: info.keyType, bits: info.curve.bits, blob: writer.toBuffer(), publicKey }
}

/**
 * Reads a public key blob, checking that it is in the canonical form OpenSSH writes (so that its
 * fingerprint is the one `ssh-keygen -l` prints) and that an ECDSA point lies on its curve.
 */
export function parseSshPublicKeyBlob(blob: Buffer): SshPublicKey {
  const reader = new SshWireReader(blob, 'the public key')
  const sshName = reader.text()
  const info = keyTypeInfoBySshName(sshName)
  if (info === undefined) throw unsupportedKeyType(describeSshName(sshName))
  let jwk: JsonWebKey
  if (info.keyType === 'ed25519') {
    const x = reader.bytesString()
    if (x.length !== 32) throw malformed('the Ed25519 public key is not 32 bytes')
    jwk = { kty: 'OKP', crv: 'Ed25519', x: x.toString('base64url') }
  } else if (info.keyType === 'rsa') {
    const e = reader.unsignedMpint()
    const n = reader.unsignedMpint()
    assertRsaModulusBits(bitLength(n))
    jwk = { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }
  } else {
    const curve = info.curve!
    if (reader.text() !== curve.sshCurve) throw malformed('the ECDSA curve does not match the key type')
    const { x, y } = splitEcPoint(reader.bytesString(), curve.fieldBytes)
    jwk = { kty: 'EC', crv: curve.jwkCurve, x: x.toString('base64url'), y: y.toString('base64url') }
  }
  let publicKey: KeyObject
  try {
    publicKey = createPublicKey({ key: jwk, format: 'jwk' })
  } catch (cause) {
    throw new SshKeyError('MalformedKey', 'the public key is not a valid key of its type', { cause })
  }
  const parsed = sshPublicKeyOf(publicKey)
  if (!parsed.blob.equals(blob)) throw malformed('the public key is not in canonical form')
  return parsed
}

/** An uncompressed point 0x04 ‖ x ‖ y (SEC 1 §2.3.3), the only form OpenSSH writes. */
export function splitEcPoint(point: Buffer, fieldBytes: number): { x: Buffer; y: Buffer } {
  if (point.length !== 1 + 2 * fieldBytes || point[0] !== 4)
    throw malformed('the ECDSA public point is not an uncompressed point of its curve')
  return { x: point.subarray(1, 1 + fieldBytes), y: point.subarray(1 + fieldBytes) }
}

/** `SHA256:` and the unpadded base64 of the blob's SHA-256, as `ssh-keygen -l -E sha256` prints it. */
export function sshFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

/** The authorized_keys line: `ssh-ed25519 AAAA… comment` (sshd(8) AUTHORIZED_KEYS FILE FORMAT). */
export function authorizedKeysLine(blob: Buffer, comment?: string): string {
  const sshName = new SshWireReader(blob, 'the public key').text()
  const line = `${sshName} ${blob.toString('base64')}`
  // A line break in the comment would start a new authorized_keys entry.
  const oneLine = comment?.replace(/[\r\n]+/g, ' ').trim()
  return oneLine ? `${line} ${oneLine}` : line
}

export function unsupportedKeyType(what: string): SshKeyError {
  return new SshKeyError(
    'UnsupportedKeyType',
    `${what} keys are not supported: use Ed25519, RSA or ECDSA on P-256, P-384 or P-521`,
  )
}

/**
 * Refuses an RSA modulus longer than `MAX_RSA_BITS`, as OpenSSH (SSH_RSA_MAXIMUM_MODULUS_SIZE) and
 * OpenSSL's verification (OPENSSL_RSA_MAX_MODULUS_BITS) do: such a key would be stored but never
 * usable, and signing with it (as the pairwise check does) costs ~(bits)³.
 */
function assertRsaModulusBits(bits: number): void {
  if (bits > MAX_RSA_BITS)
    throw new SshKeyError(
      'UnsupportedKeyType',
      `RSA keys of more than ${MAX_RSA_BITS} bits are not supported (this one has ${bits})`,
    )
}

function describeSshName(sshName: string): string {
  if (sshName === 'ssh-dss') return 'DSA'
  if (sshName.startsWith('sk-')) return 'FIDO security key (sk-*)'
  if (sshName.includes('-cert-')) return 'OpenSSH certificate'
  // Key type names are short printable ASCII; anything else is not worth echoing.
  return /^[\x21-\x7e]{1,64}$/.test(sshName) ? `"${sshName}"` : 'unknown'
}

function describeKeyObject(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve
  return curve === undefined ? (key.asymmetricKeyType ?? 'unknown').toUpperCase() : `EC ${curve}`
}

function base64url(value: string | undefined): Buffer {
  return Buffer.from(value ?? '', 'base64url')
}

function bitLength(bigEndian: Buffer): number {
  let start = 0
  while (start < bigEndian.length && bigEndian[start] === 0) start++
  if (start === bigEndian.length) return 0
  return (bigEndian.length - start - 1) * 8 + (32 - Math.clz32(bigEndian[start]!))
}
