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
import { checkPemEncryption } from './pem-private-key.js'
import { readSshPrivateKey } from './read-ssh-private-key.js'
import { runOnSshKeyWorker } from './ssh-key-workers.js'
import { SshPrivateKey } from './ssh-private-key.js'

/**
 * `readSshPrivateKey` for a server: the same result and the same errors, but what costs CPU runs on
 * a worker thread (at most `MAX_SSH_KEY_WORKERS` at once), so it never stalls the event loop: an
 * encrypted key given with a passphrase (its KDF: up to `maxKdfRounds` bcrypt rounds, or PKCS#8's
 * PBKDF2 or scrypt within `maxPbkdf2Iterations` and `maxScrypt*`), and any OpenSSH RSA key (its
 * pairwise check signs: ~0.4 s at 16384 bits, more when the primes are forged). Whatever is refused
 * anyway (not a key, a damaged envelope, a KDF over its limits, an OpenSSH RSA key over
 * `MAX_RSA_BITS`, no passphrase) is refused here, before any worker. Other keys are read on this
 * thread: they cost little (a PEM key is decoded, never made to sign).
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
    if (!costly(source, secret, checked)) return readSshPrivateKey(source, passphrase, options)
    // A buffer of its own (Buffer.from may hand out a slice of a shared pool), moved to the worker.
    transferable = new Uint8Array(secret?.length ?? 0)
    if (secret !== undefined) transferable.set(secret)
  } finally {
    secret?.fill(0)
  }
  const reply = await runOnSshKeyWorker({ text: source, passphrase: transferable, options: checked })
  if ('error' in reply) throw rebuilt(reply.error)
  return new SshPrivateKey(reply.facts, reply.privateKey)
}

/**
 * Whether reading the key runs a KDF or an RSA signature; throws, before either, what a read would
 * refuse first.
 */
function costly(text: string, passphrase: Buffer | undefined, options: Required<ReadSshKeyOptions>): boolean {
  const armored = unarmor(text)
  if (armored.format !== 'openssh') {
    // A PEM key is never made to sign; without a passphrase, an encrypted one is refused at once.
    if (!armored.encryptedByArmor || passphrase === undefined || passphrase.length === 0) return false
    checkPemEncryption(armored, options)
    return true
  }
  const envelope = parseOpenSshEnvelope(Buffer.from(armored.base64, 'base64'))
  const { publicKey } = checkOpenSshEnvelope(envelope, passphrase, options.maxKdfRounds)
  return envelope.cipherName !== 'none' || publicKey.keyType === 'rsa'
}

function rebuilt(error: { name: string; code?: string; message: string }): Error {
  if (error.name === 'SshKeyError') return new SshKeyError(error.code as SshKeyErrorCode, error.message)
  if (error.name === 'SshKeyArgumentError') return new SshKeyArgumentError(error.message)
  return new Error(`reading the SSH key failed: ${error.message}`)
}
