import { SshKeyArgumentError } from './errors.js'

/** An SSH private key as its text (a PEM or OpenSSH file's content) or that text's bytes. */
export type SshKeyInput = string | Uint8Array
/** A passphrase as text (used as UTF-8) or bytes. */
export type SshPassphrase = string | Uint8Array

export interface ReadSshKeyOptions {
  /**
   * The most bcrypt rounds an OpenSSH key may ask for (default 64; ssh-keygen uses 16). Each round
   * costs some 10–25 ms of CPU, so this bounds what an uploaded key can cost: about 1.5 s at most.
   */
  readonly maxKdfRounds?: number
  /** RSA keys shorter than this are read but reported as not supported (default 2048). */
  readonly minRsaBits?: number
}

export const DEFAULT_MAX_KDF_ROUNDS = 64
export const DEFAULT_MIN_RSA_BITS = 2048

export function keyText(input: SshKeyInput): string {
  if (typeof input === 'string') return input
  if (input instanceof Uint8Array)
    return Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8')
  throw new SshKeyArgumentError('the key must be a string or a Uint8Array')
}

/** A private copy of the passphrase's bytes, for the caller to wipe; undefined when none was given. */
export function passphraseBytes(passphrase: SshPassphrase | undefined): Buffer | undefined {
  if (passphrase === undefined) return undefined
  if (typeof passphrase === 'string') return Buffer.from(passphrase, 'utf8')
  if (passphrase instanceof Uint8Array) return Buffer.from(passphrase)
  throw new SshKeyArgumentError('the passphrase must be a string, a Uint8Array or undefined')
}

export function checkedOptions(options: ReadSshKeyOptions): Required<ReadSshKeyOptions> {
  const maxKdfRounds = options.maxKdfRounds ?? DEFAULT_MAX_KDF_ROUNDS
  const minRsaBits = options.minRsaBits ?? DEFAULT_MIN_RSA_BITS
  if (!Number.isSafeInteger(maxKdfRounds) || maxKdfRounds < 1)
    throw new SshKeyArgumentError('maxKdfRounds must be a positive integer')
  if (!Number.isSafeInteger(minRsaBits) || minRsaBits < 0)
    throw new SshKeyArgumentError('minRsaBits must be a non-negative integer')
  return { maxKdfRounds, minRsaBits }
}
