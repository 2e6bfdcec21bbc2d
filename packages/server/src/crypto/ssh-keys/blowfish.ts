import { piFractionWords } from './pi-hex-digits.js'

const ROUNDS = 16
const P_WORDS = ROUNDS + 2
const S_WORDS = 4 * 256

/** A cursor over a byte string read cyclically, four bytes at a time (OpenBSD's `Blowfish_stream2word`). */
class WordStream {
  private position = 0

  constructor(private readonly bytes: Uint8Array) {}

  next(): number {
    const bytes = this.bytes
    let word = 0
    for (let i = 0; i < 4; i++) {
      word = ((word << 8) | bytes[this.position]!) >>> 0
      this.position = (this.position + 1) % bytes.length
    }
    return word
  }
}

/**
 * Blowfish (Schneier, 1993) with the "expensive key schedule" of Provos and Mazières' bcrypt, as
 * OpenBSD's blf.c has it: just what bcrypt_pbkdf needs, plus plain ECB encryption for the
 * known-answer tests. Not a general-purpose cipher: nothing here should encrypt data.
 */
export class Blowfish {
  private readonly p: Uint32Array
  private readonly s: Uint32Array
  /** The two halves of the block being enciphered (left, right). */
  private readonly half = new Uint32Array(2)

  /** The initial state (`Blowfish_initstate`): π's digits, no key yet. */
  constructor() {
    const digits = piFractionWords(P_WORDS + S_WORDS)
    this.p = digits.slice(0, P_WORDS)
    this.s = digits.slice(P_WORDS)
  }

  /** Classic Blowfish keyed with 1–56 bytes (`blf_key`). */
  static withKey(key: Uint8Array): Blowfish {
    if (key.length === 0) throw new RangeError('a Blowfish key has at least one byte')
    const cipher = new Blowfish()
    cipher.expand0State(key)
    return cipher
  }

  /** `Blowfish_expand0state`: the standard key schedule, key XORed into P, then P and S re-encrypted. */
  expand0State(key: Uint8Array): void {
    this.xorKeyIntoP(key)
    this.reencryptTables(undefined)
  }

  /** `Blowfish_expandstate`: the key schedule of eksblowfish, with `data` (the salt) mixed in. */
  expandState(data: Uint8Array, key: Uint8Array): void {
    this.xorKeyIntoP(key)
    this.reencryptTables(new WordStream(data))
  }

  /** Enciphers `words` in place, taken as consecutive (left, right) pairs (`blf_enc`). */
  encipherWords(words: Uint32Array): void {
    const half = this.half
    for (let i = 0; i + 1 < words.length; i += 2) {
      half[0] = words[i]!
      half[1] = words[i + 1]!
      this.encipher()
      words[i] = half[0]
      words[i + 1] = half[1]
    }
  }

  /** One 8-byte block in ECB mode, big-endian halves. */
  encryptBlock(block: Uint8Array): Uint8Array {
    if (block.length !== 8) throw new RangeError('a Blowfish block has 8 bytes')
    const view = new DataView(block.buffer, block.byteOffset, 8)
    const words = Uint32Array.of(view.getUint32(0), view.getUint32(4))
    this.encipherWords(words)
    const out = new Uint8Array(8)
    const outView = new DataView(out.buffer)
    outView.setUint32(0, words[0]!)
    outView.setUint32(4, words[1]!)
    return out
  }

  /** Overwrites the key-dependent state. */
  wipe(): void {
    this.p.fill(0)
    this.s.fill(0)
    this.half.fill(0)
  }

  private xorKeyIntoP(key: Uint8Array): void {
    const stream = new WordStream(key)
    for (let i = 0; i < P_WORDS; i++) this.p[i] = (this.p[i]! ^ stream.next()) >>> 0
  }

  private reencryptTables(data: WordStream | undefined): void {
    const half = this.half
    half[0] = 0
    half[1] = 0
    const refill = (table: Uint32Array, length: number): void => {
      for (let i = 0; i < length; i += 2) {
        if (data !== undefined) {
          half[0] = half[0]! ^ data.next()
          half[1] = half[1]! ^ data.next()
        }
        this.encipher()
        table[i] = half[0]!
        table[i + 1] = half[1]!
      }
    }
    refill(this.p, P_WORDS)
    refill(this.s, S_WORDS)
  }

  /** `Blowfish_encipher` on `this.half`: 16 Feistel rounds, then the final swap and whitening. */
  private encipher(): void {
    const p = this.p
    const s = this.s
    let left = this.half[0]! ^ p[0]!
    let right = this.half[1]!
    for (let i = 1; i <= ROUNDS; i += 2) {
      right ^= feistel(s, left) ^ p[i]!
      left ^= feistel(s, right) ^ p[i + 1]!
    }
    this.half[0] = right ^ p[P_WORDS - 1]!
    this.half[1] = left
  }
}

/** F(x) = ((S0[a] + S1[b]) ⊕ S2[c]) + S3[d], the bytes of x from the most significant. */
function feistel(s: Uint32Array, x: number): number {
  const sum = (s[x >>> 24]! + s[256 + ((x >>> 16) & 0xff)]!) | 0
  return ((sum ^ s[512 + ((x >>> 8) & 0xff)]!) + s[768 + (x & 0xff)]!) | 0
}
