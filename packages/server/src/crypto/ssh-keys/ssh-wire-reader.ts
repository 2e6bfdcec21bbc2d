import { malformed } from './errors.js'

/** RSA moduli of up to 16 384 bits, like OpenSSH's SSHBUF_MAX_BIGNUM. */
const MAX_MPINT_BYTES = 16384 / 8 + 1

/**
 * A bounds-checked reader of the SSH wire encoding (RFC 4251 §5): every read past the end, or of a
 * length that does not fit, is a `MalformedKey` error, never a RangeError or an out-of-bounds slice.
 */
export class SshWireReader {
  private offset = 0

  constructor(
    private readonly bytes: Buffer,
    /** What is being read, for error messages ("the public key", "the private section"). */
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.offset
  }

  uint32(): number {
    this.need(4, 'a 32-bit integer')
    const value = this.bytes.readUInt32BE(this.offset)
    this.offset += 4
    return value
  }

  /** A `string` (uint32 length, then the bytes); the result shares memory with the input. */
  bytesString(): Buffer {
    const length = this.uint32()
    this.need(length, 'a length-prefixed field')
    const value = this.bytes.subarray(this.offset, this.offset + length)
    this.offset += length
    return value
  }

  /** A `string` that must be text (names, comments). */
  text(): string {
    return this.bytesString().toString('utf8')
  }

  /** A non-negative `mpint`, as its unsigned big-endian bytes without leading zeros. */
  unsignedMpint(): Buffer {
    const value = this.bytesString()
    if (value.length > MAX_MPINT_BYTES) throw malformed(`${this.what} has an integer that is too large`)
    if (value.length > 0 && (value[0]! & 0x80) !== 0) throw malformed(`${this.what} has a negative integer`)
    let start = 0
    while (start < value.length && value[start] === 0) start++
    return value.subarray(start)
  }

  /** `count` raw bytes. */
  raw(count: number): Buffer {
    this.need(count, 'fixed-size data')
    const value = this.bytes.subarray(this.offset, this.offset + count)
    this.offset += count
    return value
  }

  /** What has not been read yet. */
  rest(): Buffer {
    const value = this.bytes.subarray(this.offset)
    this.offset = this.bytes.length
    return value
  }

  private need(count: number, thing: string): void {
    if (count > this.remaining) throw malformed(`${this.what} is truncated (expected ${thing})`)
  }
}
