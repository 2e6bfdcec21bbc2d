/** The conditions under which an SSH private key is refused, so that callers can `switch (err.code)`. */
export type SshKeyErrorCode =
  /** The text is not one of the private key formats this module reads (or is a public key). */
  | 'UnrecognisedKeyFormat'
  /** The format was recognised but its content is damaged, truncated or inconsistent. */
  | 'MalformedKey'
  /** The key is encrypted and no passphrase was given. */
  | 'PassphraseRequired'
  /** The passphrase does not decrypt the key (for PEM keys: or the ciphertext is damaged). */
  | 'WrongPassphrase'
  /** The key is encrypted with a cipher this module does not implement. */
  | 'UnsupportedCipher'
  /** The passphrase is stretched with a key derivation function this module does not implement. */
  | 'UnsupportedKdf'
  /**
   * The key's algorithm (DSA, Ed448, security keys, other curves…) is not one this module accepts, or
   * it is RSA with a modulus of more than `MAX_RSA_BITS` (16384).
   */
  | 'UnsupportedKeyType'
  /**
   * The key derivation asks for more work than the caller allows (a denial-of-service guard): bcrypt
   * rounds, PBKDF2 iterations, or scrypt's N, r, p or memory. Checked before any KDF work.
   */
  | 'KdfTooExpensive'

/**
 * Every error this module throws about the key it was given. Messages describe the condition only:
 * they never hold the passphrase, key material or the key's text. A lower-level error (from
 * `node:crypto`) is kept as `cause`.
 */
export class SshKeyError extends Error {
  readonly code: SshKeyErrorCode

  constructor(code: SshKeyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SshKeyError'
    this.code = code
  }
}

/** A caller's programming mistake (an argument of the wrong type), not a problem with the key. */
export class SshKeyArgumentError extends TypeError {
  readonly code = 'InvalidArgument'

  constructor(message: string) {
    super(message)
    this.name = 'SshKeyArgumentError'
  }
}

export function malformed(what: string): SshKeyError {
  return new SshKeyError('MalformedKey', `the OpenSSH private key is malformed: ${what}`)
}
