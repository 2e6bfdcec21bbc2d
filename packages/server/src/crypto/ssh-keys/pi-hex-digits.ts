// Blowfish's initial P-array and S-boxes are, in order, the hexadecimal digits of π's fractional part
// (P[0] = 0x243F6A88, …, S[3][255] = 0x3AC372E6). Rather than embed 1 042 magic words we compute them
// once with Machin's formula, π = 16·atan(1/5) − 4·atan(1/239), in BigInt fixed point. It takes tens
// of milliseconds, once per process; the Blowfish known-answer tests pin the result.

const GUARD_BITS = 64n

let cached: Uint32Array | undefined

/** The first `count` 32-bit words of π's fractional part; at most 1 042 (all Blowfish needs). */
export function piFractionWords(count: number): Uint32Array {
  if (cached === undefined) cached = computeWords(1042)
  return cached.slice(0, count)
}

function computeWords(count: number): Uint32Array {
  const bits = BigInt(count * 32)
  const one = 1n << (bits + GUARD_BITS)
  const pi = 16n * arctanOfInverse(5n, one) - 4n * arctanOfInverse(239n, one)
  let fraction = (pi >> GUARD_BITS) & ((1n << bits) - 1n)
  const words = new Uint32Array(count)
  for (let i = count - 1; i >= 0; i--) {
    words[i] = Number(fraction & 0xffffffffn)
    fraction >>= 32n
  }
  return words
}

/** atan(1/x) · one, by its Taylor series; each truncation loses less than one unit of the guard bits. */
function arctanOfInverse(x: bigint, one: bigint): bigint {
  const xSquared = x * x
  let power = one / x
  let sum = power
  for (let k = 1n; power !== 0n; k++) {
    power /= xSquared
    const term = power / (2n * k + 1n)
    sum += k % 2n === 1n ? -term : term
  }
  return sum
}
