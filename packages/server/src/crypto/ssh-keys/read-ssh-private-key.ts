import type { KeyObject } from 'node:crypto'
import { unarmor } from './armor.js'
import { SshKeyError } from './errors.js'
import {
  checkedOptions,
  keyText,
  passphraseBytes,
  type ReadSshKeyOptions,
  type SshKeyInput,
  type SshPassphrase,
} from './key-input.js'
import { parseOpenSshEnvelope } from './openssh-envelope.js'
import { openOpenSshPrivateKey } from './openssh-private-key.js'
import { readPemPrivateKey } from './pem-private-key.js'
import { SshPrivateKey } from './ssh-private-key.js'
import { authorizedKeysLine, type SshPublicKey, sshFingerprint, sshPublicKeyOf } from './ssh-public-key.js'

/**
 * Reads an SSH private key: OpenSSH (`-----BEGIN OPENSSH PRIVATE KEY-----`, PROTOCOL.key), PKCS#8
 * (plain or encrypted), PKCS#1 RSA or SEC1 EC (plain or legacy-encrypted), of type Ed25519, RSA or
 * ECDSA P-256/384/521. Decrypts it with `passphrase` when it is encrypted and checks that its
 * private and public halves belong together.
 *
 * Synchronous and CPU-bound: an OpenSSH key's bcrypt KDF costs ~0.1–0.5 s at ssh-keygen's default
 * of 16 rounds (capped by `options.maxKdfRounds`), a PKCS#8 key's PBKDF2 or scrypt some milliseconds
 * at OpenSSL's defaults (capped by `options.maxPbkdf2Iterations` and `options.maxScrypt*`: up to a
 * second or two), and an OpenSSH RSA key's pairwise check (a signature) up to ~0.4 s at 16384 bits,
 * more for a forged key. An RSA key of more than `MAX_RSA_BITS` is refused as soon as its modulus
 * is seen: before any signature (an encrypted PEM key's, once decrypted).
 *
 * @throws {SshKeyError} with a `code` saying why the key was refused; never with key material or
 *   the passphrase in its message.
 * @example
 * const key = readSshPrivateKey(fs.readFileSync('id_ed25519', 'utf8'), 'correct horse')
 * key.fingerprint // 'SHA256:…'
 * crypto.sign(null, data, key.privateKey)
 */
export function readSshPrivateKey(
  text: SshKeyInput,
  passphrase?: SshPassphrase,
  options: ReadSshKeyOptions = {},
): SshPrivateKey {
  const checked = checkedOptions(options)
  const { maxKdfRounds, minRsaBits } = checked
  const armored = unarmor(keyText(text))
  const secret = passphraseBytes(passphrase)
  try {
    if (armored.format === 'openssh') {
      const envelope = parseOpenSshEnvelope(Buffer.from(armored.base64, 'base64'))
      const contents = openOpenSshPrivateKey(envelope, secret, maxKdfRounds)
      const encrypted = envelope.cipherName !== 'none'
      return result(
        'openssh',
        encrypted,
        contents.privateKey,
        contents.publicKey,
        minRsaBits,
        contents.comment,
      )
    }
    const privateKey = readPemPrivateKey(armored, secret, checked)
    return result(
      armored.format,
      armored.encryptedByArmor,
      privateKey,
      sshPublicKeyOf(privateKey),
      minRsaBits,
    )
  } finally {
    secret?.fill(0)
  }
}

/**
 * Whether `readSshPrivateKey(text, passphrase, options)` would return a key strongroom accepts; never
 * throws for a bad key. An encrypted key given without its passphrase is not (yet) supported.
 *
 * @example
 * if (!isSupportedSshKey(upload, passphrase)) reply(400)
 */
export function isSupportedSshKey(
  text: SshKeyInput,
  passphrase?: SshPassphrase,
  options: ReadSshKeyOptions = {},
): boolean {
  try {
    return readSshPrivateKey(text, passphrase, options).isKeySupported
  } catch (error) {
    if (error instanceof SshKeyError) return false
    throw error
  }
}

function result(
  format: SshPrivateKey['format'],
  encrypted: boolean,
  privateKey: KeyObject,
  publicKey: SshPublicKey,
  minRsaBits: number,
  comment?: string,
): SshPrivateKey {
  const tooShort = publicKey.keyType === 'rsa' && publicKey.bits < minRsaBits
  return new SshPrivateKey(
    {
      format,
      keyType: publicKey.keyType,
      bits: publicKey.bits,
      encrypted,
      publicKeyOpenSsh: authorizedKeysLine(publicKey.blob, comment),
      fingerprint: sshFingerprint(publicKey.blob),
      ...(comment === undefined || comment === '' ? {} : { comment }),
      isKeySupported: !tooShort,
      ...(tooShort ? { unsupportedReason: `RSA keys need at least ${minRsaBits} bits` } : {}),
    },
    privateKey,
  )
}
