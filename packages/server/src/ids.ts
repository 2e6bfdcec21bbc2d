import { randomBytes } from 'node:crypto'

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz'
const RANDOM_BITS = 80n
const RANDOM_MAX = (1n << RANDOM_BITS) - 1n

let lastTime = -1
let lastRandom = 0n

/**
 * A sortable unique id: 48 bits of milliseconds then 80 random bits, as 26 Crockford base32
 * characters (the ULID layout, lower case), behind a type prefix: `cred_01jd…`. Monotonic within
 * a process: an id minted in the same millisecond as the last (or with a clock that went back)
 * takes the last one's time and its random part plus one. So ids sort in creation order, which
 * keyset pagination and every list rely on.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  let time = Math.max(now, lastTime)
  let random: bigint
  if (time === lastTime && lastRandom < RANDOM_MAX) {
    random = lastRandom + 1n
  } else {
    if (time === lastTime) time += 1 // 2^80 ids in one millisecond: borrow the next one
    random = BigInt(`0x${randomBytes(10).toString('hex')}`)
  }
  lastTime = time
  lastRandom = random
  return `${prefix}_${base32(BigInt(time), 10)}${base32(random, 16)}`
}

function base32(value: bigint, width: number): string {
  let out = ''
  let n = value
  for (let i = 0; i < width; i++) {
    out = CROCKFORD[Number(n & 31n)] + out
    n >>= 5n
  }
  return out
}

export const ID_PATTERN = /^[a-z]+_[0-9a-z]{26}$/
