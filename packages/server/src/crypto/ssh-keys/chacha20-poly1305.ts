import { createCipheriv, timingSafeEqual } from 'node:crypto'

// OpenSSH's chacha20-poly1305@openssh.com (PROTOCOL.chacha20poly1305), as private keys use it: the
// "seqnr" is 0 and there is no length header, so only the first 32 bytes of the 64-byte key (K_2,
// the main key) matter. It is D. J. Bernstein's original ChaCha20 (64-bit nonce, 64-bit block
// counter), not RFC 8439's variant: OpenSSL's "chacha20" takes a 16-byte IV of counter ‖ nonce in
// little-endian words, which for a 64-bit counter and 64-bit nonce is exactly that layout.

const TAG_BYTES = 16

/** Decrypts `ciphertext` after checking its Poly1305 `tag`; `undefined` when the tag is wrong. */
export function openSshChaChaPolyDecrypt(key: Buffer, ciphertext: Buffer, tag: Buffer): Buffer | undefined {
  const mainKey = key.subarray(0, 32)
  const polyKey = chacha20(mainKey, 0n, Buffer.alloc(32))
  const expected = poly1305(polyKey, ciphertext)
  polyKey.fill(0)
  if (tag.length !== TAG_BYTES || !timingSafeEqual(expected, tag)) return undefined
  return chacha20(mainKey, 1n, ciphertext)
}

/** ChaCha20 keystream XOR from block `counter`, nonce (the sequence number) 0. */
function chacha20(key: Buffer, counter: bigint, input: Buffer): Buffer {
  const iv = Buffer.alloc(16)
  iv.writeBigUInt64LE(counter, 0)
  const cipher = createCipheriv('chacha20', key, iv)
  return Buffer.concat([cipher.update(input), cipher.final()])
}

const P1305 = (1n << 130n) - 5n
const CLAMP = 0x0ffffffc0ffffffc0ffffffc0fffffffn

/**
 * Poly1305 (RFC 8439 §2.5). node:crypto has no Poly1305 MAC; this BigInt version is short and
 * exact but not constant-time, which is acceptable for checking a key file the caller already holds.
 */
export function poly1305(key: Buffer, message: Buffer): Buffer {
  const r = littleEndian(key.subarray(0, 16)) & CLAMP
  const s = littleEndian(key.subarray(16, 32))
  let accumulator = 0n
  for (let offset = 0; offset < message.length; offset += 16) {
    const block = message.subarray(offset, offset + 16)
    const n = littleEndian(block) + (1n << BigInt(8 * block.length))
    accumulator = ((accumulator + n) * r) % P1305
  }
  const tag = (accumulator + s) & ((1n << 128n) - 1n)
  const out = Buffer.alloc(TAG_BYTES)
  out.writeBigUInt64LE(tag & 0xffffffffffffffffn, 0)
  out.writeBigUInt64LE(tag >> 64n, 8)
  return out
}

function littleEndian(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).reverse().toString('hex')}`)
}
