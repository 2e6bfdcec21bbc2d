import { randomFillSync } from 'node:crypto'

/** Bytes drawn from the generator at a time: one call serves hundreds of identifiers. */
const POOL_BYTES = 4096

const pool = Buffer.alloc(POOL_BYTES)
let offset = POOL_BYTES

/**
 * `bytes` random bytes (at most 64) as base64url, from a pool refilled from the CSPRNG 4 KiB at a
 * time: one `randomBytes` per identifier is a call into OpenSSL's generator each time, a few
 * percent of the server's CPU on the routes that mint one per request (request ids, access-token
 * `jti`s). For identifiers that are not secrets only: the pool holds the next ones in memory, so
 * keys, nonces and minted secrets take `randomBytes` directly. Each byte is used once.
 */
export function randomBase64url(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 64)
    throw new RangeError(`bytes must be 1 to 64, not ${bytes}`)
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool)
    offset = 0
  }
  const id = pool.toString('base64url', offset, offset + bytes)
  offset += bytes
  return id
}
