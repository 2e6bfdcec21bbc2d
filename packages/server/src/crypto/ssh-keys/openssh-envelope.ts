import { malformed, SshKeyError } from './errors.js'
import { SshWireReader } from './ssh-wire-reader.js'

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1')

/** The bcrypt KDF's options: salt and rounds. */
export interface BcryptKdfOptions {
  readonly salt: Buffer
  readonly rounds: number
}

/**
 * The outer, never encrypted, layer of an `openssh-key-v1` key (OpenSSH PROTOCOL.key): how the
 * private section is protected, the public key, and the (possibly encrypted) private section.
 */
export interface OpenSshEnvelope {
  readonly cipherName: string
  readonly kdfName: string
  /** Present when `kdfName` is `bcrypt`. */
  readonly kdf?: BcryptKdfOptions
  readonly publicKeyBlob: Buffer
  readonly privateSection: Buffer
  /** What follows the private section: the AEAD tag of AEAD ciphers, else nothing. */
  readonly tag: Buffer
}

/** Reads the envelope; the caller checks the tag's length against the cipher's. */
export function parseOpenSshEnvelope(binary: Buffer): OpenSshEnvelope {
  if (binary.length < MAGIC.length || !binary.subarray(0, MAGIC.length).equals(MAGIC))
    throw malformed('it does not start with "openssh-key-v1"')
  const reader = new SshWireReader(binary.subarray(MAGIC.length), 'the key envelope')
  const cipherName = printable(reader.text(), 'cipher name')
  const kdfName = printable(reader.text(), 'KDF name')
  const kdfOptions = reader.bytesString()
  const keyCount = reader.uint32()
  if (keyCount !== 1) throw malformed(`it holds ${keyCount} keys where OpenSSH writes exactly one`)
  const publicKeyBlob = reader.bytesString()
  const privateSection = reader.bytesString()
  const tag = reader.rest()

  if ((cipherName === 'none') !== (kdfName === 'none'))
    throw malformed('the cipher and the KDF must both be "none" or both be set')
  if (kdfName === 'none') {
    if (kdfOptions.length !== 0) throw malformed('KDF "none" has options')
    return { cipherName, kdfName, publicKeyBlob, privateSection, tag }
  }
  if (kdfName !== 'bcrypt')
    throw new SshKeyError(
      'UnsupportedKdf',
      `the key's passphrase KDF "${kdfName}" is not supported (only bcrypt)`,
    )
  const options = new SshWireReader(kdfOptions, 'the bcrypt KDF options')
  const salt = options.bytesString()
  const rounds = options.uint32()
  if (options.remaining !== 0) throw malformed('the bcrypt KDF options have trailing data')
  if (salt.length === 0 || rounds === 0) throw malformed('the bcrypt KDF has no salt or no rounds')
  return { cipherName, kdfName, kdf: { salt, rounds }, publicKeyBlob, privateSection, tag }
}

/** Names end up in error messages: only short printable ASCII is echoed. */
function printable(name: string, what: string): string {
  if (!/^[\x21-\x7e]{1,64}$/.test(name)) throw malformed(`the ${what} is not a valid name`)
  return name
}
