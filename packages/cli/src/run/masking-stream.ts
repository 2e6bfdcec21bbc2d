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
 * The values to hide, shared by every stream of every child of one `run`: with `--watch` it learns
 * the new values and keeps the old ones (an old child may still print them while it stops).
 */
export class SecretSet {
  #patterns: Buffer[] = []
  readonly #seen = new Set<string>()
  #longest = 0

  /** Adds a value; false (and nothing added) when it is shorter than {@link MIN_MASKED_LENGTH}. */
  add(value: string): boolean {
    if (value.length < MIN_MASKED_LENGTH) return false
    if (this.#seen.has(value)) return true
    this.#seen.add(value)
    const pattern = Buffer.from(value, 'utf8')
    this.#patterns = [...this.#patterns, pattern]
    this.#longest = Math.max(this.#longest, pattern.length)
    return true
  }

  get patterns(): readonly Buffer[] {
    return this.#patterns
  }

  /** The longest value, in bytes. */
  get longest(): number {
    return this.#longest
  }

  /** The values, for redacting `run`'s own messages. */
  values(): IterableIterator<string> {
    return this.#seen.values()
  }
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
    const patterns = this.#secrets.patterns
    if (patterns.length === 0) {
      this.#pending = Buffer.alloc(0)
      return input
    }
    let hold = final ? input.length : heldFrom(input, patterns)
    const spans = mergedOccurrences(input, patterns)
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
  if (found.length <= 1) return found
  found.sort((a, b) => a[0] - b[0] || b[1] - a[1])
  const merged: [number, number][] = [found[0]!]
  for (const span of found.slice(1)) {
    const last = merged.at(-1)!
    if (span[0] < last[1]) last[1] = Math.max(last[1], span[1])
    else merged.push(span)
  }
  return merged
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
