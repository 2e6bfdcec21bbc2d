import { randomBytes } from 'node:crypto'

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz'

/**
 * A sortable unique id: 48 bits of milliseconds then 80 random bits, as 26 Crockford base32
 * characters (the ULID layout, lower case), behind a type prefix: `cred_01jd…`. Sorting by id
 * sorts by creation time, which keyset pagination relies on for a stable, useful order.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  const random = randomBytes(10)
  let out = ''
  let time = now
  for (let i = 9; i >= 0; i--) {
    out = CROCKFORD[time % 32] + out
    time = Math.floor(time / 32)
  }
  // 80 bits → 16 characters of 5 bits.
  let acc = 0
  let bits = 0
  for (const byte of random) {
    acc = (acc << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += CROCKFORD[(acc >> bits) & 31]
    }
    acc &= (1 << bits) - 1
  }
  return `${prefix}_${out}`
}

export const ID_PATTERN = /^[a-z]+_[0-9a-z]{26}$/
