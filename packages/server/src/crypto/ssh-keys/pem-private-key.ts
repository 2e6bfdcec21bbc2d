import { createPrivateKey, type KeyObject } from 'node:crypto'
import { type ArmoredKey, toPem } from './armor.js'
import { SshKeyError } from './errors.js'
import { assertLegacyPemEncryptionSupported, assertPkcs8EncryptionSupported } from './pkcs8-encryption.js'

/**
 * A PEM private key (PKCS#8, possibly encrypted; PKCS#1 RSA or SEC1 EC, possibly legacy-encrypted)
 * through node:crypto. The key type is checked by the caller.
 */
export function readPemPrivateKey(armored: ArmoredKey, passphrase: Buffer | undefined): KeyObject {
  const encrypted = armored.encryptedByArmor
  if (encrypted) {
    if (passphrase === undefined || passphrase.length === 0)
      throw new SshKeyError('PassphraseRequired', 'the key is encrypted: a passphrase is required')
    if (armored.label === 'ENCRYPTED PRIVATE KEY')
      assertPkcs8EncryptionSupported(Buffer.from(armored.base64, 'base64'))
    else assertLegacyPemEncryptionSupported(armored.headers.get('dek-info'))
  }
  try {
    // Without a passphrase node:crypto fails rather than prompting; an empty one is never sent.
    return createPrivateKey({ key: toPem(armored), format: 'pem', ...(encrypted ? { passphrase } : {}) })
  } catch (cause) {
    if (encrypted)
      throw new SshKeyError(
        'WrongPassphrase',
        'the passphrase is wrong: it does not decrypt the key (or the key is damaged)',
        { cause },
      )
    throw new SshKeyError('MalformedKey', `the ${armored.label} is malformed or truncated`, { cause })
  }
}
