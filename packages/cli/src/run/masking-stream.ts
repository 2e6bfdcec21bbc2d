import { Transform, type TransformCallback } from 'node:stream'

/** What a secret in the command's output is replaced with. */
export const CONCEALED = '<concealed by strongroom>'

/**
 * Values shorter than this are not masked: replacing every `1`, `true` or `dev` in the output would
 * garble it and hide nothing worth hiding. `run` says so on stderr when it injects one.
 */
export const MIN_MASKED_LENGTH = 4

/** After this long without output, held-back bytes are written as they are: a prompt must appear. */
export const IDLE_FLUSH_MS = 250

/**
 * A line of a multi-line value (an SSH or PEM key) is also masked on its own from this many
 * characters: programs print such values line by line (`console.log({ key })` splits the string at
 * its newlines, a terminal or a Windows program writes CRLF). Shorter lines would mask common words.
 */
export const MIN_MASKED_LINE_LENGTH = 8

/**
 * How long a value is still masked once it is no longer in use: after the credential it belongs to
 * expired, or after the command that was given it was restarted with a new one. A program may
 * still print it late (a log buffer, a child of the old command), but not for ever: the set stays
 * bounded by what is live.
 */
export const RETIRE_GRACE_MS = 60 * 60_000

/** `-----BEGIN OPENSSH PRIVATE KEY-----` and its END: a PEM key's armour, not secret, never masked alone. */
const PEM_ARMOUR = /^-----(BEGIN|END) [A-Z0-9 ]+-----$/

/**
 * The forms of `value` looked for in the output: the value itself; JSON-escaped (`JSON.stringify`,
 * `console.log` of an object, a `\n` for each newline), when that differs; and for a multi-line
 * value each line of at least {@link MIN_MASKED_LINE_LENGTH} characters (without its `\r`), as is
 * and JSON-escaped, except a PEM key's BEGIN and END lines.
 *
 * Not covered: other encodings (base64, URL or shell escaping, hex), a value cut into pieces that
 * are printed far apart or reformatted (wrapped at another width), a line shorter than 8 characters.
 */
export function maskedForms(value: string): string[] {
  const forms = new Set([value, jsonEscaped(value)])
  if (value.includes('\n')) {
    for (const raw of value.split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
      if (line.length < MIN_MASKED_LINE_LENGTH || PEM_ARMOUR.test(line)) continue
      forms.add(line)
      forms.add(jsonEscaped(line))
    }
  }
  return [...forms]
}

function jsonEscaped(text: string): string {
  return JSON.stringify(text).slice(1, -1)
}

export interface SecretSetOptions {
  /** Epoch ms (tests). */
  readonly now?: (() => number) | undefined
}

export interface AddSecretOptions {
  /** From this moment (epoch ms) the value need not be masked any more; default: for as long as `run` lives. */
  readonly until?: number | undefined
  /** Who holds the value (a contributor's name): {@link SecretSet.retire} ends only that holder's hold. */
  readonly holder?: string | undefined
}

/**
 * The values to hide, shared by every stream of every child of one `run`. A value is masked for as
 * long as any holder holds it: for ever, or until a moment given when it was added (a cloud
 * credential: its expiry and {@link RETIRE_GRACE_MS}), or until its holder retires it (`--watch`:
 * the value replaced, once the command that had it was restarted). Retired values are dropped the
 * next time the set is read, so that neither memory nor the matcher's work grows with the life of
 * `run`.
 */
export class SecretSet {
  readonly #now: () => number
  /** Per value, its holds: holder → until (epoch ms, `Infinity` for ever). */
  readonly #entries = new Map<string, Map<string, number>>()
  /** The patterns of the live values; `undefined` once a value was dropped, until it is rebuilt. */
  #index: PatternIndex | undefined = new PatternIndex()
  /** The earliest hold that ends. */
  #nextRetire = Number.POSITIVE_INFINITY

  constructor(options: SecretSetOptions = {}) {
    this.#now = options.now ?? Date.now
  }

  /** Adds a value; false (and nothing added) when it is shorter than {@link MIN_MASKED_LENGTH}. */
  add(value: string, options: AddSecretOptions = {}): boolean {
    if (value.length < MIN_MASKED_LENGTH) return false
    const until = options.until ?? Number.POSITIVE_INFINITY
    const holder = options.holder ?? ''
    if (!(until > this.#now())) return true
    let holds = this.#entries.get(value)
    if (holds === undefined) {
      holds = new Map()
      this.#entries.set(value, holds)
      if (this.#index !== undefined) for (const form of maskedForms(value)) this.#index.add(form)
    }
    holds.set(holder, Math.max(holds.get(holder) ?? Number.NEGATIVE_INFINITY, until))
    this.#nextRetire = Math.min(this.#nextRetire, until)
    return true
  }

  /**
   * Ends `holder`'s hold on `value` at `at` (epoch ms), if it held it longer: the value stays masked
   * until then, and after it only if another holder still holds it.
   */
  retire(value: string, at: number, holder = ''): void {
    const holds = this.#entries.get(value)
    const until = holds?.get(holder)
    if (holds === undefined || until === undefined || until <= at) return
    holds.set(holder, at)
    this.#nextRetire = Math.min(this.#nextRetire, at)
  }

  /** How many values are masked now. */
  get size(): number {
    this.#prune()
    return this.#entries.size
  }

  /** The byte patterns looked for now (each value's {@link maskedForms}), for the matcher. */
  get index(): PatternIndex {
    this.#prune()
    if (this.#index === undefined) {
      const index = new PatternIndex()
      for (const value of this.#entries.keys()) for (const form of maskedForms(value)) index.add(form)
      this.#index = index
    }
    return this.#index
  }

  get patterns(): readonly Buffer[] {
    return this.index.patterns
  }

  /** The longest pattern, in bytes. */
  get longest(): number {
    return this.index.longest
  }

  /** The values, for redacting `run`'s own messages. */
  values(): IterableIterator<string> {
    this.#prune()
    return this.#entries.keys()
  }

  /** Drops the holds that ended, and the values no one holds any more. */
  #prune(): void {
    const now = this.#now()
    if (now < this.#nextRetire) return
    let next = Number.POSITIVE_INFINITY
    for (const [value, holds] of this.#entries) {
      for (const [holder, until] of holds) {
        if (until <= now) holds.delete(holder)
        else next = Math.min(next, until)
      }
      if (holds.size === 0) {
        this.#entries.delete(value)
        this.#index = undefined
      }
    }
    this.#nextRetire = next
  }
}

/**
 * Below this many patterns each is looked for with `Buffer#indexOf` (native, the fastest for a few);
 * from it on, the output is scanned once whatever their number (see {@link PatternIndex}).
 */
const INDEXED_FROM = 8

/** Every pattern has at least this many bytes (a masked value has 4 characters or more). */
const KEY_BYTES = 4

/**
 * The patterns, and an index that finds them in one pass over the output, so that the work per byte
 * does not grow with their number (1000 secrets made the per-pattern search 30 times slower). Each
 * pattern is keyed by its last 4 bytes (an occurrence ends where a 4-byte window equals it; the
 * ends of random secrets differ, where their starts often do not: AWS session tokens all begin
 * `IQoJb3JpZ2luX2Vj`) and by its first 4 (a tail of the output that may start one). A bit table
 * hashed from the 4-byte window rules out nearly every position before any map is looked at.
 */
export class PatternIndex {
  readonly patterns: Buffer[] = []
  longest = 0
  readonly #seen = new Set<string>()
  /** Last 4 bytes (big-endian) → the patterns that end with them. */
  readonly #ends = new Map<number, Buffer[]>()
  /** First 4 bytes → the patterns that start with them. */
  readonly #starts = new Map<number, Buffer[]>()
  /** Which 1-, 2- and 3-byte sequences start some pattern. */
  readonly #first1 = new Uint8Array(256)
  readonly #first2 = new Uint8Array(65_536)
  readonly #first3 = new Set<number>()
  /** Per hash of a 4-byte window: bit 1, some pattern ends with it; bit 2, some starts with it. */
  #bits = new Uint8Array(0)
  #shift = 32

  add(form: string): void {
    if (this.#seen.has(form)) return
    const pattern = Buffer.from(form, 'utf8')
    if (pattern.length < KEY_BYTES) return
    this.#seen.add(form)
    this.patterns.push(pattern)
    this.longest = Math.max(this.longest, pattern.length)
    const end = pattern.readUInt32BE(pattern.length - KEY_BYTES)
    const start = pattern.readUInt32BE(0)
    pushTo(this.#ends, end, pattern)
    pushTo(this.#starts, start, pattern)
    this.#first1[pattern[0]!] = 1
    this.#first2[(pattern[0]! << 8) | pattern[1]!] = 1
    this.#first3.add((pattern[0]! << 16) | (pattern[1]! << 8) | pattern[2]!)
    // A table of at least 32 slots per pattern (two keys each: at most 1 in 16 taken), from 4 KiB.
    if (this.patterns.length * 32 > this.#bits.length) this.#resize()
    else this.#mark(end, start)
  }

  /**
   * Where `input`'s secrets are (overlapping occurrences merged, as sorted `[start, end)` spans), and
   * where its tail that may be the start of one begins (`input.length`: none; with `final`, never).
   */
  scan(input: Buffer, final: boolean): { spans: [number, number][]; hold: number } {
    if (this.patterns.length < INDEXED_FROM) {
      return {
        spans: mergedOccurrences(input, this.patterns),
        hold: final ? input.length : heldFrom(input, this.patterns),
      }
    }
    return this.#scanIndexed(input, final)
  }

  #scanIndexed(input: Buffer, final: boolean): { spans: [number, number][]; hold: number } {
    const n = input.length
    const bits = this.#bits
    const shift = this.#shift
    const found: [number, number][] = []
    let hold = n
    // Only a tail shorter than the longest pattern can be the start of one.
    const from = final ? n : Math.max(0, n - (this.longest - 1))
    if (n >= KEY_BYTES) {
      let window = (input[0]! << 16) | (input[1]! << 8) | input[2]!
      for (let i = KEY_BYTES - 1; i < n; i++) {
        window = (window << 8) | input[i]!
        const bit = bits[Math.imul(window, HASH) >>> shift]!
        if (bit === 0) continue
        const key = window >>> 0
        if ((bit & 1) !== 0) {
          const ending = this.#ends.get(key)
          if (ending !== undefined) {
            for (const pattern of ending) {
              const start = i + 1 - pattern.length
              if (start >= 0 && pattern.compare(input, start, i + 1) === 0) found.push([start, i + 1])
            }
          }
        }
        const at = i - (KEY_BYTES - 1)
        if ((bit & 2) !== 0 && hold === n && at >= from) {
          const starting = this.#starts.get(key)
          const left = n - at
          if (starting?.some((p) => p.length > left && p.compare(input, at, n, 0, left) === 0)) hold = at
        }
      }
    }
    // A tail of 1 to 3 bytes: every pattern is longer.
    for (let at = Math.max(from, n - (KEY_BYTES - 1)); at < n && hold === n; at++) {
      const left = n - at
      const a = input[at]!
      const starts =
        left === 1
          ? this.#first1[a] === 1
          : left === 2
            ? this.#first2[(a << 8) | input[at + 1]!] === 1
            : this.#first3.has((a << 16) | (input[at + 1]! << 8) | input[at + 2]!)
      if (starts) hold = at
    }
    return { spans: merged(found), hold }
  }

  #resize(): void {
    let size = 4096
    while (size < this.patterns.length * 32) size *= 2
    this.#bits = new Uint8Array(size)
    this.#shift = 32 - Math.log2(size)
    for (const pattern of this.patterns)
      this.#mark(pattern.readUInt32BE(pattern.length - KEY_BYTES), pattern.readUInt32BE(0))
  }

  #mark(end: number, start: number): void {
    this.#bits[Math.imul(end, HASH) >>> this.#shift]! |= 1
    this.#bits[Math.imul(start, HASH) >>> this.#shift]! |= 2
  }
}

/** Fibonacci hashing: the top bits of the product are well mixed. */
const HASH = 0x9e3779b1

function pushTo(map: Map<number, Buffer[]>, key: number, pattern: Buffer): void {
  const list = map.get(key)
  if (list === undefined) map.set(key, [pattern])
  else list.push(pattern)
}

/**
 * The streaming core of the masker, on bytes. `push` returns what may be written now and holds back
 * the end of the input where a secret may be starting: the longest tail that is the start of some
 * secret, at most (longest secret − 1) bytes, and written as soon as the next bytes show no secret
 * starts there. Occurrences that overlap (a secret inside or across another, or repeated across
 * itself as in `abab|ab`) are hidden as one span: while such a run may still grow, it is held
 * whole, which is the one case where more than (longest − 1) bytes wait.
 */
export class SecretMatcher {
  readonly #secrets: SecretSet
  readonly #replacement: Buffer
  #pending: Buffer = Buffer.alloc(0)

  constructor(secrets: SecretSet, replacement: string = CONCEALED) {
    this.#secrets = secrets
    this.#replacement = Buffer.from(replacement, 'utf8')
  }

  /** How many bytes are held back. */
  get pending(): number {
    return this.#pending.length
  }

  /** The bytes of `chunk` (after those held back) that can be written, secrets replaced. */
  push(chunk: Buffer): Buffer {
    return this.#process(this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]), false)
  }

  /** Everything held back, complete secrets replaced: at end of stream, or when the output went idle. */
  flush(): Buffer {
    return this.#process(this.#pending, true)
  }

  #process(input: Buffer, final: boolean): Buffer {
    const index = this.#secrets.index
    if (index.patterns.length === 0) {
      this.#pending = Buffer.alloc(0)
      return input
    }
    const { spans, hold: tail } = index.scan(input, final)
    let hold = tail
    // A secret found that reaches into the held tail may be part of a longer run of overlapping
    // secrets: hold it too, so the whole run is hidden as one.
    for (const [start, end] of spans) if (end > hold) hold = Math.min(hold, start)
    const parts: Buffer[] = []
    let at = 0
    for (const [start, end] of spans) {
      if (end > hold) break
      if (start > at) parts.push(input.subarray(at, start))
      parts.push(this.#replacement)
      at = end
    }
    if (hold > at) parts.push(input.subarray(at, hold))
    this.#pending = Buffer.from(input.subarray(hold))
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  }
}

/** Where the tail of `input` that may be the start of a secret begins (`input.length`: nowhere). */
function heldFrom(input: Buffer, patterns: readonly Buffer[]): number {
  let hold = input.length
  for (const pattern of patterns) {
    const first = pattern[0]!
    let at = input.indexOf(first, Math.max(0, input.length - (pattern.length - 1)))
    while (at !== -1 && at < hold) {
      if (pattern.compare(input, at, input.length, 0, input.length - at) === 0) {
        hold = at
        break
      }
      at = input.indexOf(first, at + 1)
    }
  }
  return hold
}

/** Every occurrence of every pattern, overlapping ones merged, as sorted `[start, end)` spans. */
function mergedOccurrences(input: Buffer, patterns: readonly Buffer[]): [number, number][] {
  const found: [number, number][] = []
  for (const pattern of patterns) {
    let at = input.indexOf(pattern)
    while (at !== -1) {
      found.push([at, at + pattern.length])
      at = input.indexOf(pattern, at + 1)
    }
  }
  return merged(found)
}

/** Spans sorted by start, those that overlap merged into one. */
function merged(found: [number, number][]): [number, number][] {
  if (found.length <= 1) return found
  found.sort((a, b) => a[0] - b[0] || b[1] - a[1])
  const spans: [number, number][] = [found[0]!]
  for (const span of found.slice(1)) {
    const last = spans.at(-1)!
    if (span[0] < last[1]) last[1] = Math.max(last[1], span[1])
    else spans.push(span)
  }
  return spans
}

export interface MaskingStreamOptions {
  /** Write held-back bytes after this long without output; default {@link IDLE_FLUSH_MS}. */
  idleFlushMs?: number
}

/**
 * A Transform that replaces every value of a {@link SecretSet} with {@link CONCEALED}, binary-safe,
 * including a value split across writes. Held-back bytes are written at end of stream and after
 * `idleFlushMs` without output, so an interactive prompt still appears.
 *
 * @example
 * child.stdout.pipe(new MaskingStream(secrets)).pipe(process.stdout, { end: false })
 */
export class MaskingStream extends Transform {
  readonly #matcher: SecretMatcher
  readonly #idleFlushMs: number
  #timer: NodeJS.Timeout | undefined

  constructor(secrets: SecretSet, options: MaskingStreamOptions = {}) {
    super()
    this.#matcher = new SecretMatcher(secrets)
    this.#idleFlushMs = options.idleFlushMs ?? IDLE_FLUSH_MS
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#clearTimer()
    const out = this.#matcher.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk)
    if (out.length > 0) this.push(out)
    if (this.#matcher.pending > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        const held = this.#matcher.flush()
        if (held.length > 0) this.push(held)
      }, this.#idleFlushMs)
    }
    callback()
  }

  override _flush(callback: TransformCallback): void {
    this.#clearTimer()
    const held = this.#matcher.flush()
    callback(null, held.length > 0 ? held : undefined)
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#clearTimer()
    callback(error)
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
