import { SshKeyArgumentError } from './errors.js'

/** An SSH private key as its text (a PEM or OpenSSH file's content) or that text's bytes. */
export type SshKeyInput = string | Uint8Array
/** A passphrase as text (used as UTF-8) or bytes. */
export type SshPassphrase = string | Uint8Array

/**
 * What a key may ask of the passphrase KDF (checked before any KDF work: a key asking for more is
 * refused with `KdfTooExpensive`), and which RSA keys count as supported. Every limit bounds what one
 * uploaded key can cost: at the defaults, about a second or two of CPU at most.
 */
export interface ReadSshKeyOptions {
  /**
   * The most bcrypt rounds an OpenSSH key may ask for (default 64; ssh-keygen uses 16). Each round
   * costs some 10–25 ms of CPU, so this bounds what an uploaded key can cost: about 1.5 s at most.
   */
  readonly maxKdfRounds?: number
  /**
   * The most PBKDF2 iterations an encrypted PKCS#8 key may ask for (default 1,000,000; ssh-keygen
   * -m PKCS8, OpenSSL 3 and node:crypto write 2048). A million cost some 0.4–1 s of CPU.
   */
  readonly maxPbkdf2Iterations?: number
  /** The largest scrypt cost N an encrypted PKCS#8 key may ask for (default 2^20; OpenSSL writes 2^14). */
  readonly maxScryptN?: number
  /** The largest scrypt block size r (default 32; OpenSSL writes 8). */
  readonly maxScryptR?: number
  /**
   * The largest scrypt parallelism p (default 16; OpenSSL writes 1). The work grows with N·r·p: the
   * most the defaults allow (N = 2^14, r = 15, p = 16, within 32 MiB) costs some 1.7 s of CPU.
   */
  readonly maxScryptP?: number
  /**
   * The most memory scrypt may need, 128·r·(N + p + 2) bytes as OpenSSL counts it (default 32 MiB:
   * OpenSSL 3, and so node:crypto, refuses to decrypt with more; OpenSSL's default N = 2^14, r = 8
   * needs 16 MiB).
   */
  readonly maxScryptMemoryBytes?: number
  /** RSA keys shorter than this are read but reported as not supported (default 2048). */
  readonly minRsaBits?: number
}

export const DEFAULT_MAX_KDF_ROUNDS = 64
export const DEFAULT_MAX_PBKDF2_ITERATIONS = 1_000_000
export const DEFAULT_MAX_SCRYPT_N = 2 ** 20
export const DEFAULT_MAX_SCRYPT_R = 32
export const DEFAULT_MAX_SCRYPT_P = 16
export const DEFAULT_MAX_SCRYPT_MEMORY_BYTES = 32 * 1024 * 1024
export const DEFAULT_MIN_RSA_BITS = 2048
/**
 * RSA keys with a longer modulus are refused (`UnsupportedKeyType`) before any work with the key:
 * OpenSSH and OpenSSL's verification refuse them too, and a signature costs ~(bits)³.
 */
export const MAX_RSA_BITS = 16384

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
  const positive = (name: keyof ReadSshKeyOptions, fallback: number): number => {
    const value = options[name] ?? fallback
    if (!Number.isSafeInteger(value) || value < 1)
      throw new SshKeyArgumentError(`${name} must be a positive integer`)
    return value
  }
  const minRsaBits = options.minRsaBits ?? DEFAULT_MIN_RSA_BITS
  if (!Number.isSafeInteger(minRsaBits) || minRsaBits < 0)
    throw new SshKeyArgumentError('minRsaBits must be a non-negative integer')
  return {
    maxKdfRounds: positive('maxKdfRounds', DEFAULT_MAX_KDF_ROUNDS),
    maxPbkdf2Iterations: positive('maxPbkdf2Iterations', DEFAULT_MAX_PBKDF2_ITERATIONS),
    maxScryptN: positive('maxScryptN', DEFAULT_MAX_SCRYPT_N),
    maxScryptR: positive('maxScryptR', DEFAULT_MAX_SCRYPT_R),
    maxScryptP: positive('maxScryptP', DEFAULT_MAX_SCRYPT_P),
    maxScryptMemoryBytes: positive('maxScryptMemoryBytes', DEFAULT_MAX_SCRYPT_MEMORY_BYTES),
    minRsaBits,
  }
}
