import { SshKeyError } from './errors.js'

// node:crypto (OpenSSL 3's default provider) decrypts PBES2 with PBKDF2 or scrypt and AES-CBC or
// 3DES. Anything else fails with the same error a wrong passphrase may give, so we look at the
// algorithm identifiers first (RFC 8018 §A.4, RFC 5958 §3) to name the real problem.

const PBES2 = '2a864886f70d01050d'
const SUPPORTED_KDFS = new Set([
  '2a864886f70d01050c' /* PBKDF2 */,
  '2b06010401da47040b' /* scrypt (RFC 7914 §7) */,
])
const SUPPORTED_CIPHERS = new Set([
  '608648016503040102', // aes128-CBC
  '608648016503040116', // aes192-CBC
  '60864801650304012a', // aes256-CBC
  '2a864886f70d0307', // des-EDE3-CBC
])
const SUPPORTED_LEGACY_PEM_CIPHERS = new Set(['AES-128-CBC', 'AES-192-CBC', 'AES-256-CBC', 'DES-EDE3-CBC'])

/** Refuses an `ENCRYPTED PRIVATE KEY` whose scheme node:crypto cannot decrypt. */
export function assertPkcs8EncryptionSupported(der: Buffer): void {
  const [algorithm] = children(der, 'EncryptedPrivateKeyInfo')
  const [scheme, parameters] = children(algorithm, 'its encryption algorithm')
  if (oidHex(scheme) !== PBES2) throw unsupported('a PBES1 or PKCS#12 scheme')
  const [kdf, cipher] = children(parameters, 'its PBES2 parameters')
  const [kdfOid] = children(kdf, 'its KDF')
  const [cipherOid] = children(cipher, 'its cipher')
  if (!SUPPORTED_KDFS.has(oidHex(kdfOid)) || !SUPPORTED_CIPHERS.has(oidHex(cipherOid)))
    throw unsupported('a PBES2 KDF or cipher other than PBKDF2/scrypt with AES-CBC or 3DES')
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
