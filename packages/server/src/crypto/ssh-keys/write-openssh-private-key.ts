import { KeyObject, randomBytes } from 'node:crypto'
import { SshKeyArgumentError } from './errors.js'
import { SSH_KEY_TYPES } from './key-types.js'
import { SshPrivateKey } from './ssh-private-key.js'
import { sshPublicKeyOf } from './ssh-public-key.js'
import { SshWireWriter } from './ssh-wire-writer.js'

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1')
/** OpenSSH pads the private section to the cipher's block size, which is 8 for `none`. */
const NONE_BLOCK_BYTES = 8
/** ssh-keygen wraps the base64 body at 70 characters. */
const LINE_CHARS = 70

export interface WriteOpenSshKeyOptions {
  /** The key's comment (often `user@host`). Default: an `SshPrivateKey`'s own comment, else empty. */
  readonly comment?: string | undefined
  /**
   * The "check int" written twice before the key (a uint32). Default: random, as ssh-keygen writes
   * it; give one only for reproducible output. Without encryption it checks nothing.
   */
  readonly checkInt?: number | undefined
}

/**
 * Writes a private key as an unencrypted OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`,
 * `openssh-key-v1` with cipher and KDF `none`), as `ssh-keygen -N ''` does: the one encoding every
 * OpenSSH reads, where OpenSSH before 9.6 cannot read an Ed25519 key in PKCS#8 PEM at all.
 * Ed25519, RSA and ECDSA on P-256, P-384 and P-521.
 *
 * The result is the key in clear: write it to a file only its owner can read. The buffers built on
 * the way are zeroed; the returned string cannot be.
 *
 * @see https://cvsweb.openbsd.org/src/usr.bin/ssh/PROTOCOL.key (the format)
 * @throws {SshKeyError} `UnsupportedKeyType` for another kind of key.
 * @throws {SshKeyArgumentError} when `key` is not a private key, or `checkInt` not a uint32.
 * @example
 * const key = readSshPrivateKey(pemText, passphrase)
 * fs.writeFileSync('id_ed25519', writeOpenSshPrivateKey(key), { mode: 0o600 })
 */
export function writeOpenSshPrivateKey(
  key: KeyObject | SshPrivateKey,
  options: WriteOpenSshKeyOptions = {},
): string {
  const privateKey = key instanceof SshPrivateKey ? key.privateKey : key
  if (!(privateKey instanceof KeyObject) || privateKey.type !== 'private')
    throw new SshKeyArgumentError('the key must be a private KeyObject or an SshPrivateKey')
  const checkInt = options.checkInt ?? randomBytes(4).readUInt32BE()
  if (!Number.isInteger(checkInt) || checkInt < 0 || checkInt > 0xffffffff)
    throw new SshKeyArgumentError('checkInt must be an integer from 0 to 2^32 - 1')
  const comment = options.comment ?? (key instanceof SshPrivateKey ? key.comment : undefined) ?? ''
  const publicKey = sshPublicKeyOf(privateKey)

  const section = new SshWireWriter().uint32(checkInt).uint32(checkInt)
  const envelope = new SshWireWriter()
  let binary: Buffer | undefined
  try {
    writePrivateKeyFields(section, privateKey, publicKey.blob)
    section.bytesString(comment)
    for (let pad = 1; section.length % NONE_BLOCK_BYTES !== 0; pad++) section.raw(Buffer.of(pad))
    envelope
      .raw(MAGIC)
      .bytesString('none') // cipher
      .bytesString('none') // KDF
      .bytesString('') // KDF options
      .uint32(1) // one key
      .bytesString(publicKey.blob)
    const privateSection = section.toBuffer()
    envelope.bytesString(privateSection)
    privateSection.fill(0)
    binary = envelope.toBuffer()
    const lines = binary.toString('base64').match(new RegExp(`.{1,${LINE_CHARS}}`, 'g'))!
    return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`
  } finally {
    section.wipe()
    envelope.wipe()
    binary?.fill(0)
  }
}

/** The key type's name and its fields, as OpenSSH's `sshkey_private_serialize` writes them. */
function writePrivateKeyFields(writer: SshWireWriter, privateKey: KeyObject, publicBlob: Buffer): void {
  const jwk = privateKey.export({ format: 'jwk' })
  const bytes = (value: string | undefined) => Buffer.from(value ?? '', 'base64url')
  const secrets: Buffer[] = []
  const secret = (value: string | undefined) => {
    const buffer = bytes(value)
    secrets.push(buffer)
    return buffer
  }
  try {
    if (jwk.kty === 'RSA') {
      // RSA's private fields are in another order than its public blob's (e, n): n, e, d, iqmp, p, q.
      writer.bytesString(SSH_KEY_TYPES.rsa.sshName).unsignedMpint(bytes(jwk.n)).unsignedMpint(bytes(jwk.e))
      writer.unsignedMpint(secret(jwk.d)).unsignedMpint(secret(jwk.qi))
      writer.unsignedMpint(secret(jwk.p)).unsignedMpint(secret(jwk.q))
      return
    }
    // Ed25519 and ECDSA repeat their public blob (name, then public key or curve and point) first.
    writer.raw(publicBlob)
    if (jwk.kty === 'OKP') {
      // OpenSSH's Ed25519 secret key is seed ‖ public key (the ref10 layout).
      const seedAndPublic = Buffer.concat([secret(jwk.d), bytes(jwk.x)])
      secrets.push(seedAndPublic)
      writer.bytesString(seedAndPublic)
    } else {
      writer.unsignedMpint(secret(jwk.d))
    }
  } finally {
    for (const buffer of secrets) buffer.fill(0)
  }
}
