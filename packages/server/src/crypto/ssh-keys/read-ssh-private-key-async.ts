import { unarmor } from './armor.js'
import { SshKeyArgumentError, SshKeyError, type SshKeyErrorCode } from './errors.js'
import {
  checkedOptions,
  keyText,
  passphraseBytes,
  type ReadSshKeyOptions,
  type SshKeyInput,
  type SshPassphrase,
} from './key-input.js'
import { parseOpenSshEnvelope } from './openssh-envelope.js'
import { checkOpenSshEnvelope } from './openssh-private-key.js'
import { readSshPrivateKey } from './read-ssh-private-key.js'
import { runOnSshKeyWorker } from './ssh-key-workers.js'
import { SshPrivateKey } from './ssh-private-key.js'

/**
 * `readSshPrivateKey` for a server: the same result and the same errors, but an encrypted key given
 * with a passphrase is decrypted on a worker thread (at most `MAX_SSH_KEY_WORKERS` at once), so its
 * KDF — up to `maxKdfRounds` bcrypt rounds, or PKCS#8's PBKDF2 or scrypt — never stalls the event
 * loop. Whatever is refused anyway (not a key, a damaged envelope, too many rounds, no passphrase)
 * is refused here, before any worker. Keys without a KDF to run are read on this thread: they cost
 * little.
 *
 * @throws {SshKeyError} as `readSshPrivateKey` does.
 * @example
 * const key = await readSshPrivateKeyAsync(upload, passphrase)
 */
export async function readSshPrivateKeyAsync(
  text: SshKeyInput,
  passphrase?: SshPassphrase,
  options: ReadSshKeyOptions = {},
): Promise<SshPrivateKey> {
  const checked = checkedOptions(options)
  const source = keyText(text)
  const secret = passphraseBytes(passphrase)
  let transferable: Uint8Array | undefined
  try {
    if (secret === undefined || secret.length === 0 || !runsKdf(source, secret, checked.maxKdfRounds))
      return readSshPrivateKey(source, passphrase, options)
    // A buffer of its own (Buffer.from may hand out a slice of a shared pool), moved to the worker.
    transferable = new Uint8Array(secret.length)
    transferable.set(secret)
  } finally {
    secret?.fill(0)
  }
  const reply = await runOnSshKeyWorker({ text: source, passphrase: transferable, options: checked })
  if ('error' in reply) throw rebuilt(reply.error)
  return new SshPrivateKey(reply.facts, reply.privateKey)
}

/** Whether reading the key runs a KDF; throws, before any, what a read would refuse first. */
function runsKdf(text: string, passphrase: Uint8Array, maxKdfRounds: number): boolean {
  const armored = unarmor(text)
  if (armored.format !== 'openssh') return armored.encryptedByArmor
  const envelope = parseOpenSshEnvelope(Buffer.from(armored.base64, 'base64'))
  if (envelope.cipherName === 'none') return false
  checkOpenSshEnvelope(envelope, passphrase, maxKdfRounds)
  return true
}

function rebuilt(error: { name: string; code?: string; message: string }): Error {
  if (error.name === 'SshKeyError') return new SshKeyError(error.code as SshKeyErrorCode, error.message)
  if (error.name === 'SshKeyArgumentError') return new SshKeyArgumentError(error.message)
  return new Error(`reading the SSH key failed: ${error.message}`)
}
