import { createHash } from 'node:crypto'
import { Blowfish } from './blowfish.js'

const HASH_WORDS = 8
const HASH_BYTES = HASH_WORDS * 4
/** "OxychromaticBlowfishSwatDynamite", the plaintext bcrypt_hash encrypts 64 times. */
const MAGIC = new TextEncoder().encode('OxychromaticBlowfishSwatDynamite')

/**
 * OpenBSD's `bcrypt_pbkdf(3)`, the KDF of OpenSSH's `openssh-key-v1` private keys: PBKDF2's shape
 * with `bcrypt_hash` (eksblowfish over SHA-512 digests of password and salt) as the PRF, and the
 * output bytes spread across blocks with a stride so that every block must be computed.
 * Reference: https://cvsweb.openbsd.org/src/lib/libutil/bcrypt_pbkdf.c
 *
 * CPU-bound and synchronous: about 2·⌈keyLength/32⌉·rounds·129 Blowfish key schedules.
 *
 * @example
 * bcryptPbkdf(Buffer.from('password'), Buffer.from('salt'), 32, 4) // 5bbf0cc2…2aba34d9
 */
export function bcryptPbkdf(
  password: Uint8Array,
  salt: Uint8Array,
  keyLength: number,
  rounds: number,
): Buffer {
  if (!Number.isSafeInteger(rounds) || rounds < 1) throw new RangeError('bcrypt_pbkdf needs at least 1 round')
  if (password.length === 0 || salt.length === 0)
    throw new RangeError('bcrypt_pbkdf needs a password and a salt')
  if (!Number.isSafeInteger(keyLength) || keyLength < 1 || keyLength > HASH_BYTES * HASH_BYTES)
    throw new RangeError(`bcrypt_pbkdf derives 1 to ${HASH_BYTES * HASH_BYTES} bytes`)
  const stride = Math.ceil(keyLength / HASH_BYTES)
  const bytesPerBlock = Math.ceil(keyLength / stride)
  const key = Buffer.alloc(keyLength)
  const sha2pass = sha512(password)
  const out = Buffer.alloc(HASH_BYTES)
  for (let count = 1, remaining = keyLength; remaining > 0; count++) {
    const countBytes = Buffer.alloc(4)
    countBytes.writeUInt32BE(count)
    let previous = bcryptHash(sha2pass, sha512(salt, countBytes))
    previous.copy(out)
    for (let round = 1; round < rounds; round++) {
      const next = bcryptHash(sha2pass, sha512(previous))
      previous.fill(0)
      previous = next
      for (let i = 0; i < HASH_BYTES; i++) out[i]! ^= previous[i]!
    }
    previous.fill(0)
    // "pbkdf2 deviation": byte i of block `count` goes to key[i·stride + count − 1].
    let written = 0
    for (; written < Math.min(bytesPerBlock, remaining); written++) {
      const destination = written * stride + (count - 1)
      if (destination >= keyLength) break
      key[destination] = out[written]!
    }
    remaining -= written
  }
  sha2pass.fill(0)
  out.fill(0)
  return key
}

/** bcrypt_hash: eksblowfish keyed by the two digests, then the magic text encrypted 64 times. */
function bcryptHash(sha2pass: Buffer, sha2salt: Buffer): Buffer {
  const state = new Blowfish()
  state.expandState(sha2salt, sha2pass)
  for (let i = 0; i < 64; i++) {
    state.expand0State(sha2salt)
    state.expand0State(sha2pass)
  }
  const words = new Uint32Array(HASH_WORDS)
  const magic = new DataView(MAGIC.buffer, MAGIC.byteOffset, MAGIC.byteLength)
  for (let i = 0; i < HASH_WORDS; i++) words[i] = magic.getUint32(4 * i)
  for (let i = 0; i < 64; i++) state.encipherWords(words)
  state.wipe()
  // The words leave little-endian, unlike Blowfish's big-endian blocks: part of the definition.
  const result = Buffer.alloc(HASH_BYTES)
  for (let i = 0; i < HASH_WORDS; i++) result.writeUInt32LE(words[i]!, 4 * i)
  words.fill(0)
  sha2salt.fill(0)
  return result
}

function sha512(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha512')
  for (const part of parts) hash.update(part)
  return hash.digest()
}
