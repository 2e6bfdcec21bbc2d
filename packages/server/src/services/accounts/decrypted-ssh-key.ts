import { createPrivateKey } from 'node:crypto'
import type { SshKeyOutputFormat } from '@strongroom/protocol'
import { writeOpenSshPrivateKey } from '../../crypto/ssh-keys/index.js'
import { IntegrityError } from '../../errors.js'
import type { SealedSshKey } from './account-secrets.js'

/**
 * The decrypted copy of a sealed SSH key in `format`: its PKCS#8 PEM as sealed, or that key written
 * as an unencrypted OpenSSH key with the comment it was uploaded with (empty when unknown, as for
 * PEM uploads and keys sealed before comments were kept). Re-encoded per retrieval rather than
 * sealed twice: it costs microseconds, where decrypting the upload again could cost seconds of KDF.
 *
 * @throws {IntegrityError} when the sealed key holds no decrypted copy, or one that is not a key:
 *   its account row promised one.
 */
export function decryptedSshKey(sealed: SealedSshKey, format: SshKeyOutputFormat): string {
  if (sealed.pem === undefined) throw new IntegrityError('the sealed SSH key holds no decrypted copy')
  if (format === 'pem') return sealed.pem
  try {
    return writeOpenSshPrivateKey(createPrivateKey(sealed.pem), { comment: sealed.comment ?? '' })
  } catch (cause) {
    throw new IntegrityError('the sealed SSH key cannot be written as an OpenSSH key', cause)
  }
}
