import { SshKeyError } from './errors.js'
import type { ReadSshKeyOptions } from './key-input.js'

// node:crypto (OpenSSL 3's default provider) decrypts PBES2 with PBKDF2 or scrypt and AES-CBC or
// 3DES. Anything else fails with the same error a wrong passphrase may give, so we look at the
// algorithm identifiers first (RFC 8018 §A.4, RFC 5958 §3) to name the real problem, and at the
// KDF's parameters, which the key chooses, to refuse a costly one before any KDF work.

const PBES2 = '2a864886f70d01050d'
const PBKDF2 = '2a864886f70d01050c'
const SCRYPT = '2b06010401da47040b' /* RFC 7914 §7 */
const SUPPORTED_KDFS = new Set([PBKDF2, SCRYPT])
const SUPPORTED_CIPHERS = new Set([
  '608648016503040102', // aes128-CBC
  '608648016503040116', // aes192-CBC
  '60864801650304012a', // aes256-CBC
  '2a864886f70d0307', // des-EDE3-CBC
])
const SUPPORTED_LEGACY_PEM_CIPHERS = new Set(['AES-128-CBC', 'AES-192-CBC', 'AES-256-CBC', 'DES-EDE3-CBC'])

export type Pkcs8KdfLimits = Required<
  Pick<
    ReadSshKeyOptions,
    'maxPbkdf2Iterations' | 'maxScryptN' | 'maxScryptR' | 'maxScryptP' | 'maxScryptMemoryBytes'
  >
>

/** Refuses an `ENCRYPTED PRIVATE KEY` whose scheme node:crypto cannot decrypt. */
export function assertPkcs8EncryptionSupported(der: Buffer): void {
  pbes2Kdf(der)
}

/**
 * Refuses an `ENCRYPTED PRIVATE KEY` whose scheme node:crypto cannot decrypt (`UnsupportedCipher`),
 * or whose KDF asks for more work than `limits` allow (`KdfTooExpensive`): cheap, it reads the
 * parameters only, so a caller makes it before any KDF runs.
 */
export function assertPkcs8KdfAffordable(der: Buffer, limits: Pkcs8KdfLimits): void {
  const { oid, parameters } = pbes2Kdf(der)
  if (oid === PBKDF2) {
    // PBKDF2-params ::= SEQUENCE { salt, iterationCount INTEGER, keyLength INTEGER OPTIONAL, prf … }
    const [, iterationCount] = children(parameters, 'its PBKDF2 parameters')
    const iterations = positiveInteger(iterationCount, 'its PBKDF2 iteration count')
    if (iterations > BigInt(limits.maxPbkdf2Iterations))
      throw tooExpensive(
        `${shown(iterations)} PBKDF2 iterations, more than the ${limits.maxPbkdf2Iterations} allowed`,
      )
    return
  }
  // scrypt-params ::= SEQUENCE { salt, costParameter N, blockSize r, parallelizationParameter p, … }
  const [, cost, blockSize, parallelization] = children(parameters, 'its scrypt parameters')
  const n = positiveInteger(cost, 'its scrypt cost N')
  const r = positiveInteger(blockSize, 'its scrypt block size r')
  const p = positiveInteger(parallelization, 'its scrypt parallelism p')
  if (n > BigInt(limits.maxScryptN))
    throw tooExpensive(`scrypt with N = ${shown(n)}, more than the ${limits.maxScryptN} allowed`)
  if (r > BigInt(limits.maxScryptR))
    throw tooExpensive(`scrypt with r = ${shown(r)}, more than the ${limits.maxScryptR} allowed`)
  if (p > BigInt(limits.maxScryptP))
    throw tooExpensive(`scrypt with p = ${shown(p)}, more than the ${limits.maxScryptP} allowed`)
  // What OpenSSL allocates (its scrypt_alg): B, 128·r·p bytes, and V with X and T, 128·r·(N + 2).
  const memory = 128n * r * (n + p + 2n)
  if (memory > BigInt(limits.maxScryptMemoryBytes))
    throw tooExpensive(
      `scrypt needing ${mebibytes(memory)} MiB of memory (N = ${n}, r = ${r}, p = ${p}), ` +
        `more than the ${mebibytes(BigInt(limits.maxScryptMemoryBytes))} MiB allowed`,
    )
}

/** The PBES2 KDF's OID and parameters, once its KDF and cipher are known to be supported. */
function pbes2Kdf(der: Buffer): { oid: string; parameters: Buffer | undefined } {
  const [algorithm] = children(der, 'EncryptedPrivateKeyInfo')
  const [scheme, parameters] = children(algorithm, 'its encryption algorithm')
  if (oidHex(scheme) !== PBES2) throw unsupported('a PBES1 or PKCS#12 scheme')
  const [kdf, cipher] = children(parameters, 'its PBES2 parameters')
  const [kdfOid, kdfParameters] = children(kdf, 'its KDF')
  const [cipherOid] = children(cipher, 'its cipher')
  const oid = oidHex(kdfOid)
  if (!SUPPORTED_KDFS.has(oid) || !SUPPORTED_CIPHERS.has(oidHex(cipherOid)))
    throw unsupported('a PBES2 KDF or cipher other than PBKDF2/scrypt with AES-CBC or 3DES')
  return { oid, parameters: kdfParameters }
}

/** Refuses a legacy-encrypted PKCS#1 or SEC1 key (`DEK-Info: <cipher>,<iv>`) node:crypto cannot decrypt. */
export function assertLegacyPemEncryptionSupported(dekInfo: string | undefined): void {
  const cipher = dekInfo?.split(',')[0]?.trim().toUpperCase() ?? ''
  if (!SUPPORTED_LEGACY_PEM_CIPHERS.has(cipher))
    throw unsupported(/^[A-Z0-9-]{1,32}$/.test(cipher) ? cipher : 'an unknown cipher')
}

function unsupported(what: string): SshKeyError {
  return new SshKeyError(
    'UnsupportedCipher',
    `the key is encrypted with ${what}, which is not supported; ` +
      're-encrypt it (openssl pkcs8 -topk8 -v2 aes-256-cbc, or ssh-keygen -p)',
  )
}

/** The TLVs inside a constructed DER element (tag, length, value; definite lengths only). */
function children(element: Buffer | undefined, what: string): Buffer[] {
  const content = element === undefined ? undefined : value(element)
  if (content === undefined) throw damaged(what)
  const result: Buffer[] = []
  for (let offset = 0; offset < content.length; ) {
    const length = tlvLength(content, offset)
    if (length === undefined) throw damaged(what)
    result.push(content.subarray(offset, offset + length))
    offset += length
  }
  return result
}

function oidHex(element: Buffer | undefined): string {
  return element?.[0] === 0x06 ? (value(element)?.toString('hex') ?? '') : ''
}

/** A DER INTEGER (X.690 §8.3) that must be positive, as every KDF parameter is (RFC 8018, RFC 7914). */
function positiveInteger(element: Buffer | undefined, what: string): bigint {
  const content = element?.[0] === 0x02 ? value(element) : undefined
  // Empty, negative (the sign bit set) or zero: not a count.
  if (content === undefined || content.length === 0 || (content[0]! & 0x80) !== 0) throw damaged(what)
  const integer = BigInt(`0x${content.toString('hex')}`)
  if (integer === 0n) throw damaged(what)
  return integer
}

/** A parameter for a message: the key chooses it, so an absurd one is not echoed in full. */
function shown(integer: bigint): string {
  return integer <= BigInt(Number.MAX_SAFE_INTEGER)
    ? integer.toString()
    : `more than ${Number.MAX_SAFE_INTEGER}`
}

/** Bytes as MiB, rounded up to a tenth so that a little over a limit never shows as the limit. */
function mebibytes(bytes: bigint): string {
  return String(Math.ceil((Number(bytes) / 2 ** 20) * 10) / 10)
}

function tooExpensive(what: string): SshKeyError {
  return new SshKeyError('KdfTooExpensive', `the key asks for ${what}`)
}

/** The value bytes of one TLV, or undefined if it is malformed. */
function value(tlv: Buffer): Buffer | undefined {
  const total = tlvLength(tlv, 0)
  if (total === undefined || total !== tlv.length) return undefined
  const first = tlv[1]!
  const header = first < 0x80 ? 2 : 2 + (first & 0x7f)
  return tlv.subarray(header)
}

/** The whole length (header and value) of the TLV at `offset`, if it fits in `bytes`. */
function tlvLength(bytes: Buffer, offset: number): number | undefined {
  const first = bytes[offset + 1]
  if (first === undefined) return undefined
  let length = first
  let header = 2
  if (first >= 0x80) {
    const lengthBytes = first & 0x7f
    if (lengthBytes === 0 || lengthBytes > 3) return undefined
    length = 0
    for (let i = 0; i < lengthBytes; i++) {
      const byte = bytes[offset + 2 + i]
      if (byte === undefined) return undefined
      length = length * 256 + byte
    }
    header += lengthBytes
  }
  return offset + header + length <= bytes.length ? header + length : undefined
}

function damaged(what: string): SshKeyError {
  return new SshKeyError('MalformedKey', `the encrypted PKCS#8 key is malformed (${what})`)
}
