import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const RANDOM_BYTES = 32
const BODY_CHARS = 43 // ⌈256 / log2(62)⌉
const CHECKSUM_CHARS = 6

/** Prefixes of the secrets strongroom mints, so that secret scanners can recognise a leak. */
export const SECRET_PREFIX = {
  adminToken: 'srat_',
  clientSecret: 'srcs_',
  /** The form of the official examples (docs/wire-contract.md): a derived short token stands for one JWT. */
  derivedShortToken: 'sk-',
  /** The secret of a web console session, only ever in its `HttpOnly` cookie. */
  consoleSession: 'srcon_',
} as const

/**
 * A new secret: prefix ‖ 256 random bits in base62 ‖ a 6-character CRC32 checksum of the two,
 * like GitHub's tokens. The checksum lets us (and scanners) reject a mistyped or made-up value
 * without a database lookup.
 */
export function mintSecret(prefix: string): string {
  const body = toBase62(randomBytes(RANDOM_BYTES), BODY_CHARS)
  return prefix + body + checksum(prefix + body)
}

/** True when `value` has the shape and checksum of a secret minted with `prefix`. */
export function isWellFormedSecret(value: string, prefix: string): boolean {
  if (value.length !== prefix.length + BODY_CHARS + CHECKSUM_CHARS || !value.startsWith(prefix)) return false
  const payload = value.slice(0, value.length - CHECKSUM_CHARS)
  for (let i = prefix.length; i < value.length; i++) if (!BASE62.includes(value[i]!)) return false
  const expected = Buffer.from(checksum(payload))
  return timingSafeEqual(expected, Buffer.from(value.slice(-CHECKSUM_CHARS)))
}

/** The stored form of a minted secret: HMAC-SHA256 under the server's hashing key, hex. */
export function keyedHash(hashKey: Buffer, secret: string): string {
  return createHmac('sha256', hashKey).update(secret, 'utf8').digest('hex')
}

/** Constant-time comparison of two hex hashes. */
export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex')
  const y = Buffer.from(b, 'hex')
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The last four characters, shown in listings to tell secrets apart. */
export function secretHint(secret: string): string {
  return `…${secret.slice(-4)}`
}

function checksum(payload: string): string {
  const crc = crc32(Buffer.from(payload, 'utf8'))
  const bytes = Buffer.alloc(4)
  bytes.writeUInt32BE(crc)
  return toBase62(bytes, CHECKSUM_CHARS)
}

function toBase62(bytes: Buffer, width: number): string {
  let n = BigInt(`0x${bytes.toString('hex')}`)
  let out = ''
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out
    n /= 62n
  }
  return out.padStart(width, '0')
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[i] = c >>> 0
  }
  return table
})()

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
