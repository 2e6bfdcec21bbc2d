import { type SshKeyFormat, unarmor } from './armor.js'
import { SshKeyError } from './errors.js'
import { checkedOptions, keyText, type ReadSshKeyOptions, type SshKeyInput } from './key-input.js'
import type { SshKeyType } from './key-types.js'
import { openSshCipherByName } from './openssh-ciphers.js'
import { type OpenSshEnvelope, parseOpenSshEnvelope } from './openssh-envelope.js'
import { openOpenSshPrivateKey } from './openssh-private-key.js'
import { assertLegacyPemEncryptionSupported, assertPkcs8EncryptionSupported } from './pkcs8-encryption.js'
import { readSshPrivateKey } from './read-ssh-private-key.js'
import { authorizedKeysLine, parseSshPublicKeyBlob, sshFingerprint } from './ssh-public-key.js'

/** What can be told about a private key without its passphrase. */
export interface SshKeyMetadata {
  readonly format: SshKeyFormat
  readonly encrypted: boolean
  /** Whether this module can decrypt the key's encryption (true for unencrypted keys). */
  readonly cipherSupported: boolean
  /** The cipher protecting the key: OpenSSH's name (`aes256-ctr`) or a legacy PEM `DEK-Info` one. */
  readonly cipher?: string
  /** OpenSSH only: the passphrase KDF (`bcrypt`) and its rounds. */
  readonly kdf?: string
  readonly kdfRounds?: number
  /** The public key, when the format shows it without decryption (OpenSSH keys, unencrypted PEM). */
  readonly keyType?: SshKeyType
  readonly bits?: number
  readonly publicKeyOpenSsh?: string
  readonly fingerprint?: string
  /** OpenSSH keys keep the comment in the encrypted part: only known for unencrypted ones. */
  readonly comment?: string
}

/**
 * Describes a private key without decrypting it: format, protection and, where the format keeps it
 * in the clear, the public key and fingerprint. Useful to show what a stored key is. Cheap, and so
 * not a check that the key works: an unencrypted OpenSSH key's private half is read but not made to
 * sign (an RSA-16384 signature costs up to ~0.4 s, more for a forged key); `readSshPrivateKey` does.
 *
 * @throws {SshKeyError} when the text is not a private key this module reads.
 * @example
 * inspectSshPrivateKey(text) // { format: 'openssh', encrypted: true, cipher: 'aes256-ctr', fingerprint: 'SHA256:…', … }
 */
export function inspectSshPrivateKey(text: SshKeyInput, options: ReadSshKeyOptions = {}): SshKeyMetadata {
  const armored = unarmor(keyText(text))
  if (!armored.encryptedByArmor && armored.format !== 'openssh') return fromKey(text, options)
  if (armored.format !== 'openssh') {
    const cipher = armored.headers.get('dek-info')?.split(',')[0]
    return {
      format: armored.format,
      encrypted: true,
      cipherSupported: supported(() =>
        armored.label === 'ENCRYPTED PRIVATE KEY'
          ? assertPkcs8EncryptionSupported(Buffer.from(armored.base64, 'base64'))
          : assertLegacyPemEncryptionSupported(armored.headers.get('dek-info')),
      ),
      ...(cipher === undefined ? {} : { cipher }),
    }
  }
  const envelope = parseOpenSshEnvelope(Buffer.from(armored.base64, 'base64'))
  if (envelope.cipherName === 'none') return fromPlainOpenSshKey(envelope, options)
  const publicKey = parseSshPublicKeyBlob(envelope.publicKeyBlob)
  return {
    format: 'openssh',
    encrypted: true,
    cipherSupported: openSshCipherByName(envelope.cipherName) !== undefined,
    cipher: envelope.cipherName,
    kdf: envelope.kdfName,
    ...(envelope.kdf === undefined ? {} : { kdfRounds: envelope.kdf.rounds }),
    keyType: publicKey.keyType,
    bits: publicKey.bits,
    publicKeyOpenSsh: authorizedKeysLine(publicKey.blob),
    fingerprint: sshFingerprint(publicKey.blob),
  }
}

function fromKey(text: SshKeyInput, options: ReadSshKeyOptions): SshKeyMetadata {
  const key = readSshPrivateKey(text, undefined, options)
  return {
    format: key.format,
    encrypted: false,
    cipherSupported: true,
    keyType: key.keyType,
    bits: key.bits,
    publicKeyOpenSsh: key.publicKeyOpenSsh,
    fingerprint: key.fingerprint,
    ...(key.comment === undefined ? {} : { comment: key.comment }),
  }
}

function fromPlainOpenSshKey(envelope: OpenSshEnvelope, options: ReadSshKeyOptions): SshKeyMetadata {
  const { maxKdfRounds } = checkedOptions(options)
  const { publicKey, comment } = openOpenSshPrivateKey(envelope, undefined, maxKdfRounds, {
    pairwiseTest: false,
  })
  return {
    format: 'openssh',
    encrypted: false,
    cipherSupported: true,
    keyType: publicKey.keyType,
    bits: publicKey.bits,
    publicKeyOpenSsh: authorizedKeysLine(publicKey.blob, comment),
    fingerprint: sshFingerprint(publicKey.blob),
    ...(comment === '' ? {} : { comment }),
  }
}

function supported(check: () => void): boolean {
  try {
    check()
    return true
  } catch (error) {
    if (error instanceof SshKeyError) return false
    throw error
  }
}
