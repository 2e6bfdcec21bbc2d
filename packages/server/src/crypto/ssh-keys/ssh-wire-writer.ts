/**
 * Builds the SSH wire encoding (RFC 4251 §5) of a public key blob or an OpenSSH private key. Each
 * value is copied exactly once, into a part `wipe()` can zero.
 */
export class SshWireWriter {
  private readonly parts: Buffer[] = []

  /** A `uint32`, big-endian. */
  uint32(value: number): this {
    const bytes = Buffer.alloc(4)
    bytes.writeUInt32BE(value)
    this.parts.push(bytes)
    return this
  }

  /** Bytes as they are, with no length before them (an already encoded blob, a magic string). */
  raw(value: Uint8Array): this {
    this.parts.push(Buffer.from(value))
    return this
  }

  /** A `string`: uint32 length, then the bytes. */
  bytesString(value: Uint8Array | string): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
    return this.uint32(bytes.length).raw(bytes)
  }

  /** A non-negative `mpint` from unsigned big-endian bytes: minimal, with a 0x00 when the top bit is set. */
  unsignedMpint(value: Uint8Array): this {
    let start = 0
    while (start < value.length && value[start] === 0) start++
    const digits = value.subarray(start)
    const needsSignByte = digits.length > 0 && (digits[0]! & 0x80) !== 0
    this.uint32(digits.length + (needsSignByte ? 1 : 0))
    if (needsSignByte) this.parts.push(Buffer.of(0))
    return this.raw(digits)
  }

  /** How many bytes have been written. */
  get length(): number {
    return this.parts.reduce((sum, part) => sum + part.length, 0)
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts)
  }

  /** Zeroes every byte written so far: for a private key, the copies the writer keeps are secrets. */
  wipe(): void {
    for (const part of this.parts) part.fill(0)
  }
}
