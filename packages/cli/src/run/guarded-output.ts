import { Writable } from 'node:stream'

/**
 * `run`'s own stdout and stderr, which must outlive their reader.
 *
 * When the reader of `run`'s output goes away (`strongroom run … -- cmd | head -1`), a write fails
 * with EPIPE. Left alone, that ended `run` (bin.ts exited 0 on stdout's EPIPE, stderr's was an
 * uncaught exception) while the command, holding its secrets, ran on without its supervisor.
 * Behind a {@link GuardedOutput} a write error instead marks the output broken: from then on
 * everything written to it is dropped, and whoever asked ({@link GuardedOutput.whenBroken}) is
 * told, so `run` can close the command's end of that pipe (see child-process.ts) and go on
 * supervising it until it exits.
 */

/** The streams a {@link GuardedOutput} handles the errors of. */
const guarded = new WeakSet<object>()

/**
 * Whether a {@link GuardedOutput} handles the errors of `stream`: bin.ts then leaves them alone
 * instead of exiting on EPIPE.
 */
export function isGuarded(stream: object): boolean {
  return guarded.has(stream)
}

export interface GuardedOutputOptions {
  /** Told once, with the error's code (`EPIPE`, `EIO`…), when the output breaks. */
  readonly onBroken?: (code: string) => void
}

/**
 * A writable that passes what is written on to `target` (respecting its backpressure) until a
 * write to `target` fails, and drops everything after that. It never emits an error of its own.
 * It stays attached to `target` for as long as the process lives: an error arriving after `run`
 * finished must not end the process with another exit code either.
 *
 * @example
 * const stdout = new GuardedOutput(process.stdout)
 * child.stdout.pipe(stdout)        // keeps flowing, into nothing, once the reader went away
 */
export class GuardedOutput extends Writable {
  readonly #target: NodeJS.WritableStream
  readonly #options: GuardedOutputOptions
  #broken: string | undefined
  readonly #listeners = new Set<() => void>()

  constructor(target: NodeJS.WritableStream, options: GuardedOutputOptions = {}) {
    super()
    this.#target = target
    this.#options = options
    guarded.add(target)
    target.on('error', (error: NodeJS.ErrnoException) => this.#break(error.code ?? 'error'))
  }

  /** Whether a write failed: everything written now is dropped. */
  get broken(): boolean {
    return this.#broken !== undefined
  }

  /**
   * Calls `listener` once when the output breaks, at once (synchronously) when it is broken already.
   * Returns the function that stops listening.
   */
  whenBroken(listener: () => void): () => void {
    if (this.#broken !== undefined) {
      listener()
      return () => {}
    }
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    if (this.#broken !== undefined) {
      callback()
      return
    }
    let settled = false
    const done = () => {
      if (settled) return
      settled = true
      this.#target.removeListener('drain', done)
      this.#listeners.delete(done)
      callback()
    }
    let flowing: boolean
    try {
      flowing = this.#target.write(chunk)
    } catch (error) {
      this.#break((error as NodeJS.ErrnoException).code ?? 'error')
      flowing = true
    }
    if (flowing) {
      done()
      return
    }
    // Wait for the target to drain, or to break, whichever comes first.
    this.#target.once('drain', done)
    this.#listeners.add(done)
  }

  #break(code: string): void {
    if (this.#broken !== undefined) return
    this.#broken = code
    const listeners = [...this.#listeners]
    this.#listeners.clear()
    for (const listener of listeners) listener()
    this.#options.onBroken?.(code)
  }
}
