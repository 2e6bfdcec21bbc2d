/** Builds the SSH wire encoding (RFC 4251 §5) of a public key blob. */
export class SshWireWriter {
  private readonly parts: Buffer[] = []

  /** A `string`: uint32 length, then the bytes. */
  bytesString(value: Uint8Array | string): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value)
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.length)
    this.parts.push(length, bytes)
    return this
  }

  /** A non-negative `mpint` from unsigned big-endian bytes: minimal, with a 0x00 when the top bit is set. */
  unsignedMpint(value: Uint8Array): this {
    let start = 0
    while (start < value.length && value[start] === 0) start++
    const digits = Buffer.from(value.subarray(start))
    const needsSignByte = digits.length > 0 && (digits[0]! & 0x80) !== 0
    return this.bytesString(needsSignByte ? Buffer.concat([Buffer.of(0), digits]) : digits)
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts)
  }
}
