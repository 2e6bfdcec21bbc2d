import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

const FORMAT_V1 = 1
const NONCE_BYTES = 12
const TAG_BYTES = 16

/**
 * AES-256-GCM with a random 96-bit nonce. Output: format byte ‖ nonce ‖ ciphertext ‖ tag.
 * `aad` binds the ciphertext to where it lives; decrypting it anywhere else fails.
 */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(aad)
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([Buffer.of(FORMAT_V1), nonce, body, cipher.getAuthTag()])
}

/** Throws `AeadError` when the box was altered, moved, or sealed under another key. */
export function open(key: Buffer, box: Uint8Array, aad: Buffer): Buffer {
  const buf = Buffer.from(box.buffer, box.byteOffset, box.byteLength)
  if (buf.length < 1 + NONCE_BYTES + TAG_BYTES || buf[0] !== FORMAT_V1) {
    throw new AeadError('ciphertext has an unknown format')
  }
  const nonce = buf.subarray(1, 1 + NONCE_BYTES)
  const tag = buf.subarray(buf.length - TAG_BYTES)
  const body = buf.subarray(1 + NONCE_BYTES, buf.length - TAG_BYTES)
  const decipher = createDecipheriv('aes-256-gcm', key, nonce)
  decipher.setAAD(aad)
  decipher.setAuthTag(tag)
  try {
    return Buffer.concat([decipher.update(body), decipher.final()])
  } catch (cause) {
    throw new AeadError('ciphertext failed authentication', { cause })
  }
}

export class AeadError extends Error {
  override name = 'AeadError'
}

/** Associated data: length-prefixed parts, so no two different bindings share an encoding. */
export function bindingAad(...parts: (string | number)[]): Buffer {
  const chunks: Buffer[] = [Buffer.from('strongroom/v1')]
  for (const part of parts) {
    const bytes = Buffer.from(String(part), 'utf8')
    const len = Buffer.alloc(4)
    len.writeUInt32BE(bytes.length)
    chunks.push(len, bytes)
  }
  return Buffer.concat(chunks)
}
