// Keys built field by field for the cost-limit tests: encrypted PKCS#8 with whatever KDF parameters a
// test asks for (node:crypto and openssl only write their defaults), and RSA keys of any size whose
// "primes" are random odd numbers (a real 16384-bit key takes minutes to generate; reading one up to
// the size check needs only its structure).
import { createCipheriv, type KeyObject, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto'

// --- DER (X.690), just what EncryptedPrivateKeyInfo and RSAPrivateKey need ---

function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const value = Buffer.concat(contents)
  const length = value.length < 0x80 ? Buffer.of(value.length) : lengthBytes(value.length)
  return Buffer.concat([Buffer.of(tag), length, value])
}

function lengthBytes(length: number): Buffer {
  const bytes = unsigned(BigInt(length))
  return Buffer.concat([Buffer.of(0x80 | bytes.length), bytes])
}

const sequence = (...contents: Buffer[]) => tlv(0x30, ...contents)
const oid = (hex: string) => tlv(0x06, Buffer.from(hex, 'hex'))
const octets = (bytes: Buffer) => tlv(0x04, bytes)

/** A DER INTEGER; `raw` gives its content bytes as they are (for negative or zero ones). */
export function derInteger(value: bigint | { raw: Buffer }): Buffer {
  if (typeof value !== 'bigint') return tlv(0x02, value.raw)
  const bytes = unsigned(value)
  return tlv(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes)
}

function unsigned(value: bigint): Buffer {
  const hex = value.toString(16)
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex')
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

// --- Encrypted PKCS#8 (RFC 5958 §3, PBES2 of RFC 8018 §6.2, scrypt of RFC 7914 §7) ---

const PBES2 = '2a864886f70d01050d'
const PBKDF2 = '2a864886f70d01050c'
const SCRYPT = '2b06010401da47040b'
const HMAC_WITH_SHA256 = '2a864886f70d0209'
const AES_256_CBC = '60864801650304012a'

export type Pkcs8Kdf =
  | { readonly pbkdf2: bigint }
  | { readonly scrypt: { readonly n: bigint; readonly r: bigint; readonly p: bigint } }
  /** KDF parameters as given, for malformed ones. */
  | { readonly pbkdf2Parameters: Buffer }

/**
 * `-----BEGIN ENCRYPTED PRIVATE KEY-----` of `key` under PBES2 with `kdf` and AES-256-CBC. With
 * `derive: false` the KDF is not run here (its parameters may be far too costly): the ciphertext is
 * then under a random key, and only a reader that never gets as far as decrypting can refuse it right.
 */
export function encryptedPkcs8(
  key: KeyObject,
  passphrase: string,
  kdf: Pkcs8Kdf,
  { derive = true }: { derive?: boolean } = {},
): string {
  const salt = randomBytes(16)
  const iv = randomBytes(16)
  let kdfParameters: Buffer
  let aesKey = randomBytes(32)
  if ('pbkdf2' in kdf) {
    kdfParameters = sequence(
      oid(PBKDF2),
      sequence(octets(salt), derInteger(kdf.pbkdf2), sequence(oid(HMAC_WITH_SHA256), tlv(0x05))),
    )
    if (derive) aesKey = pbkdf2Sync(passphrase, salt, Number(kdf.pbkdf2), 32, 'sha256')
  } else if ('scrypt' in kdf) {
    const { n, r, p } = kdf.scrypt
    kdfParameters = sequence(oid(SCRYPT), sequence(octets(salt), derInteger(n), derInteger(r), derInteger(p)))
    if (derive)
      aesKey = scryptSync(passphrase, salt, 32, {
        N: Number(n),
        r: Number(r),
        p: Number(p),
        maxmem: 256 * 1024 * 1024,
      })
  } else {
    kdfParameters = sequence(oid(PBKDF2), kdf.pbkdf2Parameters)
  }
  const cipher = createCipheriv('aes-256-cbc', aesKey, iv)
  const plaintext = key.export({ type: 'pkcs8', format: 'der' })
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  const scheme = sequence(oid(PBES2), sequence(kdfParameters, sequence(oid(AES_256_CBC), octets(iv))))
  return pem('ENCRYPTED PRIVATE KEY', sequence(scheme, octets(ciphertext)))
}

/** The PBKDF2-params of RFC 8018 §A.2 with the iteration count as given (for malformed ones). */
export function pbkdf2Parameters(iterationCount: Buffer): Buffer {
  return sequence(octets(randomBytes(8)), iterationCount)
}

// --- RSA keys of any size, with forged primes ---

export interface ForgedRsa {
  readonly n: bigint
  readonly e: bigint
  readonly d: bigint
  readonly p: bigint
  readonly q: bigint
  /** q⁻¹ mod p, as OpenSSH and PKCS#1 keep it. */
  readonly iqmp: bigint
}

/**
 * RSA components whose modulus has exactly `bits` bits, n = p·q and iqmp = q⁻¹ mod p, but whose p and
 * q are random odd numbers, not primes: a key that parses, whose size is what a reader sees first, and
 * whose signatures do not verify.
 */
export function forgedRsa(bits: number): ForgedRsa {
  for (;;) {
    // Both factors with their two top bits set: their product has exactly bits bits.
    const p = oddWithTopBits(Math.ceil(bits / 2))
    const q = oddWithTopBits(Math.floor(bits / 2))
    const iqmp = inverse(q, p)
    if (iqmp === undefined) continue
    const n = p * q
    return { n, e: 65537n, d: randomBelow(n), p, q, iqmp }
  }
}

/** `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1, RFC 8017 §A.1.2) of the components. */
export function pkcs1Pem(key: ForgedRsa): string {
  const { n, e, d, p, q, iqmp } = key
  const fields = [0n, n, e, d, p, q, d % (p - 1n), d % (q - 1n), iqmp]
  return pem('RSA PRIVATE KEY', sequence(...fields.map((field) => derInteger(field))))
}

/** An unencrypted OpenSSH key (PROTOCOL.key) of the components, with `publicN` in its public blob. */
export function openSshRsaKey(key: ForgedRsa, publicN: Buffer = mpintBytes(key.n)): string {
  const string = (value: Buffer | string) => {
    const bytes = Buffer.from(value)
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.length)
    return Buffer.concat([length, bytes])
  }
  const mpint = (value: bigint) => string(mpintBytes(value))
  const publicBlob = Buffer.concat([string('ssh-rsa'), mpint(key.e), string(publicN)])
  const fields = [key.n, key.e, key.d, key.iqmp, key.p, key.q].map(mpint)
  const section = [Buffer.of(1, 2, 3, 4, 1, 2, 3, 4), string('ssh-rsa'), ...fields, string('forged')]
  let length = Buffer.concat(section).length
  for (let pad = 1; length % 8 !== 0; pad++, length++) section.push(Buffer.of(pad))
  const binary = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    string('none'),
    string('none'),
    string(''),
    Buffer.of(0, 0, 0, 1),
    string(publicBlob),
    string(Buffer.concat(section)),
  ])
  const lines = binary.toString('base64').match(/.{1,70}/g) ?? []
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`
}

/** An SSH mpint's bytes (RFC 4251 §5): big-endian, with a zero byte before a set top bit. */
export function mpintBytes(value: bigint): Buffer {
  const bytes = unsigned(value)
  return bytes[0]! & 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes
}

function oddWithTopBits(bits: number): bigint {
  const random = BigInt(`0x${randomBytes(Math.ceil(bits / 8)).toString('hex')}`) % (1n << BigInt(bits))
  return random | (3n << BigInt(bits - 2)) | 1n
}

function randomBelow(limit: bigint): bigint {
  const bytes = Math.ceil(limit.toString(16).length / 2)
  return BigInt(`0x${randomBytes(bytes).toString('hex')}`) % limit
}

function inverse(value: bigint, modulus: bigint): bigint | undefined {
  let [r0, r1, s0, s1] = [value % modulus, modulus, 1n, 0n]
  while (r1 !== 0n) {
    const quotient = r0 / r1
    ;[r0, r1] = [r1, r0 - quotient * r1]
    ;[s0, s1] = [s1, s0 - quotient * s1]
  }
  return r0 === 1n ? ((s0 % modulus) + modulus) % modulus : undefined
}
