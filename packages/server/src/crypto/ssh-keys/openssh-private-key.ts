import type { KeyObject } from 'node:crypto'
import { bcryptPbkdf } from './bcrypt-pbkdf.js'
import { malformed, SshKeyError } from './errors.js'
import { SSH_KEY_TYPES } from './key-types.js'
import { type OpenSshCipher, openSshCipherByName, SUPPORTED_OPENSSH_CIPHERS } from './openssh-ciphers.js'
import type { OpenSshEnvelope } from './openssh-envelope.js'
import {
  assertKeyPair,
  ecdsaFromComponents,
  ed25519FromSeed,
  rsaFromComponents,
} from './private-key-from-components.js'
import { parseSshPublicKeyBlob, type SshPublicKey, splitEcPoint, sshPublicKeyOf } from './ssh-public-key.js'
import { SshWireReader } from './ssh-wire-reader.js'

export interface OpenSshKeyContents {
  readonly privateKey: KeyObject
  readonly publicKey: SshPublicKey
  readonly comment: string
}

/**
 * Decrypts (when needed) and reads the private section of an `openssh-key-v1` key, checking that the
 * private key is the one whose public key the envelope advertises: its public half is, and (unless
 * `pairwiseTest` is false) a signature it makes verifies with the advertised key. That signature is
 * the one costly step after the KDF: ~0.4 s for RSA-16384, a few times more when the primes are forged.
 */
export function openOpenSshPrivateKey(
  envelope: OpenSshEnvelope,
  passphrase: Buffer | undefined,
  maxKdfRounds: number,
  { pairwiseTest = true }: { pairwiseTest?: boolean } = {},
): OpenSshKeyContents {
  const { cipher, publicKey } = checkOpenSshEnvelope(envelope, passphrase, maxKdfRounds)
  const section = envelope.privateSection
  const encrypted = cipher.name !== 'none'
  let plaintext: Buffer | undefined = section
  if (encrypted) {
    const kdf = envelope.kdf!
    const derived = bcryptPbkdf(passphrase!, kdf.salt, cipher.keyBytes + cipher.ivBytes, kdf.rounds)
    try {
      plaintext = cipher.decrypt(
        derived.subarray(0, cipher.keyBytes),
        derived.subarray(cipher.keyBytes),
        section,
        envelope.tag,
      )
    } finally {
      derived.fill(0)
    }
    if (plaintext === undefined) throw wrongPassphrase()
  }
  try {
    return readPrivateSection(plaintext, publicKey, encrypted, pairwiseTest)
  } finally {
    plaintext.fill(0)
  }
}

/**
 * Every check made before the KDF, in the order a read makes them: the cipher, the tag, the public
 * key, the section's length, the passphrase and the KDF's rounds. Cheap: a caller may make them
 * before handing the KDF to another thread, so that a key refused anyway costs no KDF.
 */
export function checkOpenSshEnvelope(
  envelope: OpenSshEnvelope,
  passphrase: Uint8Array | undefined,
  maxKdfRounds: number,
): { cipher: OpenSshCipher; publicKey: SshPublicKey } {
  const cipher = openSshCipherByName(envelope.cipherName)
  if (cipher === undefined)
    throw new SshKeyError(
      'UnsupportedCipher',
      `the key is encrypted with "${envelope.cipherName}", which is not supported ` +
        `(supported: ${SUPPORTED_OPENSSH_CIPHERS.join(', ')}); re-encrypt it with ssh-keygen -p -Z aes256-ctr`,
    )
  if (envelope.tag.length !== cipher.tagBytes)
    throw malformed(cipher.tagBytes === 0 ? 'there is data after the private section' : 'the tag is missing')
  const publicKey = parseSshPublicKeyBlob(envelope.publicKeyBlob)
  const section = envelope.privateSection
  if (section.length < cipher.blockBytes || section.length % cipher.blockBytes !== 0)
    throw malformed('the private section is not a whole number of cipher blocks')
  if (cipher.name !== 'none') {
    if (passphrase === undefined || passphrase.length === 0)
      throw new SshKeyError('PassphraseRequired', 'the key is encrypted: a passphrase is required')
    const rounds = envelope.kdf!.rounds
    if (rounds > maxKdfRounds)
      throw new SshKeyError(
        'KdfTooExpensive',
        `the key asks for ${rounds} bcrypt rounds, more than the ${maxKdfRounds} allowed`,
      )
  }
  return { cipher, publicKey }
}

function readPrivateSection(
  plaintext: Buffer,
  publicKey: SshPublicKey,
  encrypted: boolean,
  pairwiseTest: boolean,
): OpenSshKeyContents {
  const reader = new SshWireReader(plaintext, 'the private section')
  // Two equal random "check ints": after decryption with a wrong key they differ (PROTOCOL.key).
  const check1 = reader.uint32()
  const check2 = reader.uint32()
  if (check1 !== check2) throw encrypted ? wrongPassphrase() : malformed('the check integers differ')
  const info = SSH_KEY_TYPES[publicKey.keyType]
  if (reader.text() !== info.sshName) throw malformed('the private key type differs from the public key type')
  let privateKey: KeyObject
  if (info.keyType === 'ed25519') {
    const publicBytes = reader.bytesString()
    // OpenSSH's Ed25519 "secret key" is seed ‖ public key (the ref10 layout).
    const secret = reader.bytesString()
    if (publicBytes.length !== 32 || secret.length !== 64 || !secret.subarray(32).equals(publicBytes))
      throw malformed('the Ed25519 private key fields are inconsistent')
    privateKey = ed25519FromSeed(secret.subarray(0, 32))
  } else if (info.keyType === 'rsa') {
    const [n, e, d, iqmp, p, q] = Array.from({ length: 6 }, () => reader.unsignedMpint()) as [
      Buffer,
      Buffer,
      Buffer,
      Buffer,
      Buffer,
      Buffer,
    ]
    privateKey = rsaFromComponents({ n, e, d, iqmp, p, q })
  } else {
    const curve = info.curve!
    if (reader.text() !== curve.sshCurve) throw malformed('the ECDSA curve differs from the public key')
    const { x, y } = splitEcPoint(reader.bytesString(), curve.fieldBytes)
    privateKey = ecdsaFromComponents(curve, x, y, reader.unsignedMpint())
  }
  const comment = reader.text()
  const padding = reader.rest()
  for (let i = 0; i < padding.length; i++)
    if (padding[i] !== ((i + 1) & 0xff)) throw malformed('the padding is not 1, 2, 3, …')
  if (!sshPublicKeyOf(privateKey).blob.equals(publicKey.blob))
    throw malformed('the private key does not match the public key in the envelope')
  if (pairwiseTest) assertKeyPair(privateKey, publicKey)
  return { privateKey, publicKey, comment }
}

function wrongPassphrase(): SshKeyError {
  return new SshKeyError('WrongPassphrase', 'the passphrase is wrong: it does not decrypt the key')
}
