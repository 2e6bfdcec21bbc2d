import { createPrivateKey, type KeyObject } from 'node:crypto'
import { type ArmoredKey, toPem } from './armor.js'
import { SshKeyError } from './errors.js'
import {
  assertLegacyPemEncryptionSupported,
  assertPkcs8KdfAffordable,
  type Pkcs8KdfLimits,
} from './pkcs8-encryption.js'

/**
 * A PEM private key (PKCS#8, possibly encrypted; PKCS#1 RSA or SEC1 EC, possibly legacy-encrypted)
 * through node:crypto. The key type is checked by the caller.
 */
export function readPemPrivateKey(
  armored: ArmoredKey,
  passphrase: Buffer | undefined,
  limits: Pkcs8KdfLimits,
): KeyObject {
  const encrypted = armored.encryptedByArmor
  if (encrypted) {
    if (passphrase === undefined || passphrase.length === 0)
      throw new SshKeyError('PassphraseRequired', 'the key is encrypted: a passphrase is required')
    checkPemEncryption(armored, limits)
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

/**
 * Every check an encrypted PEM key gets before its decryption: a cipher node:crypto decrypts and,
 * for PKCS#8, a KDF within `limits`. Cheap: a caller may make it before handing the KDF to another
 * thread. (A legacy-encrypted key's KDF is one MD5: nothing to limit.)
 */
export function checkPemEncryption(armored: ArmoredKey, limits: Pkcs8KdfLimits): void {
  if (armored.label === 'ENCRYPTED PRIVATE KEY')
    assertPkcs8KdfAffordable(Buffer.from(armored.base64, 'base64'), limits)
  else assertLegacyPemEncryptionSupported(armored.headers.get('dek-info'))
}
