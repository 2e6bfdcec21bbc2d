import { createHash } from 'node:crypto'
import { resolve } from 'node:path'
import { CliError, UsageError } from '../errors.js'
import { formatError } from '../format-error.js'
import {
  fetchKey,
  fetchOf,
  formatReference,
  MalformedReference,
  parseReference,
  REFERENCE_PREFIX,
  type SecretFetch,
  type SecretReference,
} from '../run/references.js'
import { RESOLVE_CONCURRENCY, type SecretSource, settleAll, valueFor } from '../run/resolve-references.js'
import { Poller } from '../run/watch.js'
import { FileWriteError, writeFailure, writeFileAtomically, writeFilesAtomically } from './atomic-file.js'

/** `--file PATH=REF`: a file to keep holding the secret a `strongroom://` reference names. */
export interface SecretFileSpec {
  /** Absolute. */
  readonly path: string
  /** As given, for messages. */
  readonly shown: string
  readonly reference: SecretReference
}

/**
 * Parses `--file PATH=strongroom://…` (the reference grammar of `strongroom run`), `PATH` relative to
 * `cwd`. A mistake is a usage error that does not repeat the argument (it may be a secret someone
 * passed by mistake), only which `--file` it was and why.
 */
export function parseFileSpec(text: string, index: number, cwd: string): SecretFileSpec {
  const cut = text.indexOf(`=${REFERENCE_PREFIX}`)
  const which = `--file number ${index + 1}`
  if (cut <= 0) throw new UsageError(`${which} is not PATH=${REFERENCE_PREFIX}…`)
  const shown = text.slice(0, cut)
  let reference: SecretReference | undefined
  try {
    reference = parseReference(text.slice(cut + 1))
  } catch (error) {
    if (!(error instanceof MalformedReference)) throw error
    throw new UsageError(`${which} (${shown}): ${error.message}`)
  }
  return { path: resolve(cwd, shown), shown, reference: reference! }
}

/** Refuses two `--file`s writing the same path. */
export function checkDistinctPaths(specs: readonly SecretFileSpec[]): void {
  const seen = new Set<string>()
  for (const spec of specs) {
    if (seen.has(spec.path)) throw new UsageError(`two --file options write ${spec.shown}`)
    seen.add(spec.path)
  }
}

export interface SecretFilesOptions {
  readonly source: SecretSource
  /** Between the end of one poll and the next. */
  readonly pollMs: number
  /** One line per change and per failure, never a value. */
  readonly log: (line: string) => void
  /** Called with every value read, so error lines can redact it. */
  readonly onSecret?: ((value: string) => void) | undefined
  /** Called with a value read before that a reference no longer answers (it was rotated). */
  readonly onRetired?: ((value: string) => void) | undefined
  readonly secrets?: (() => Iterable<string>) | undefined
}

/**
 * Renders `strongroom://` secrets into files, mode 0600, each written beside its name and renamed
 * over it, and keeps them current: every `pollMs` each distinct reference is read again (one
 * audited read each, requests de-duplicated as `run` does) and a file whose value changed (SHA-256
 * compared, the value kept nowhere else) is rewritten. The file holds the value exactly, without a
 * newline added. A failed poll keeps the file as it is and logs one line with the server's code
 * (once while the same failure lasts, and once when the file can be read again).
 */
export class SecretFiles {
  readonly #specs: readonly SecretFileSpec[]
  readonly #options: SecretFilesOptions
  readonly #hashes = new Map<string, string>()
  /** Per file, the failure its last poll met, if it failed. */
  readonly #failing = new Map<string, string>()
  /** Per request, the values it answered last. */
  readonly #answered = new Map<string, ReadonlySet<string>>()
  readonly #abort = new AbortController()
  #poller: Poller | undefined
  #writes = 0

  constructor(specs: readonly SecretFileSpec[], options: SecretFilesOptions) {
    checkDistinctPaths(specs)
    this.#specs = specs
    this.#options = options
  }

  /** How many times a file was written (the first rendering included). */
  get writes(): number {
    return this.#writes
  }

  /**
   * Reads every reference and writes every file; any failure (a refusal, a field the credential
   * lacks, a file that cannot be written) rejects naming the file, the reference and the server's
   * code, and then no file was written (all are written to temporary files first and renamed only
   * once every one was written; see {@link writeFilesAtomically}). Then starts polling.
   */
  async start(): Promise<void> {
    if (this.#specs.length === 0) return
    const outcomes = await this.#resolve()
    const failures: string[] = []
    for (const spec of this.#specs) {
      const outcome = outcomes.get(spec)!
      if ('failure' in outcome) failures.push(`cannot render ${describe(spec)}: ${outcome.failure}`)
    }
    if (failures.length > 0) {
      for (const failure of failures.slice(0, -1)) this.#options.log(failure)
      throw new CliError('ApiError', failures.at(-1)!)
    }
    const values = this.#specs.map((spec) => (outcomes.get(spec) as { value: string }).value)
    try {
      await writeFilesAtomically(this.#specs.map((spec, i) => ({ path: spec.path, text: values[i]! })))
    } catch (error) {
      const failed =
        error instanceof FileWriteError ? this.#specs.find((s) => s.path === error.path) : undefined
      throw new CliError(
        'OutputUnwritable',
        `cannot write ${failed?.shown ?? 'the files'}: ${writeFailure(error)} (no file was written)`,
        { cause: error },
      )
    }
    for (const [i, spec] of this.#specs.entries()) this.#written(spec, values[i]!)
    this.#poller = new Poller(this.#options.pollMs, () => this.#poll())
    this.#poller.start()
  }

  stop(): void {
    this.#poller?.stop()
    this.#abort.abort()
  }

  async #poll(): Promise<void> {
    if (this.#abort.signal.aborted) return
    const outcomes = await this.#resolve()
    if (this.#abort.signal.aborted) return
    for (const spec of this.#specs) {
      const outcome = outcomes.get(spec)!
      if ('failure' in outcome) {
        // One line when a file's reads start failing (or fail differently), not one per poll.
        if (this.#failing.get(spec.path) !== outcome.failure)
          this.#options.log(`cannot re-read ${describe(spec)}: ${outcome.failure}; the file keeps its value`)
        this.#failing.set(spec.path, outcome.failure)
        continue
      }
      if (this.#failing.delete(spec.path)) this.#options.log(`${describe(spec)} can be read again`)
      if (this.#hashes.get(spec.path) === hashOf(outcome.value)) continue
      try {
        await this.#write(spec, outcome.value)
        this.#options.log(`${spec.shown} updated: ${formatReference(spec.reference)} changed`)
      } catch (error) {
        this.#options.log(`cannot write ${spec.shown}: ${writeFailure(error)}; it keeps its old value`)
      }
    }
  }

  async #write(spec: SecretFileSpec, value: string): Promise<void> {
    await writeFileAtomically(spec.path, value)
    this.#written(spec, value)
  }

  #written(spec: SecretFileSpec, value: string): void {
    this.#hashes.set(spec.path, hashOf(value))
    this.#writes += 1
  }

  /** Tells of the values requests answered: each as it is read, and those no request answers now. */
  #remember(answers: readonly [string, Readonly<Record<string, string | undefined>>][]): void {
    const before = new Set([...this.#answered.values()].flatMap((values) => [...values]))
    for (const [key, answered] of answers) {
      const values = new Set(Object.values(answered).filter((v): v is string => v !== undefined))
      for (const value of values) this.#options.onSecret?.(value)
      this.#answered.set(key, values)
    }
    const now = new Set([...this.#answered.values()].flatMap((values) => [...values]))
    for (const value of before) if (!now.has(value)) this.#options.onRetired?.(value)
  }

  /** Every distinct request once, mapped onto each file. */
  async #resolve(): Promise<Map<SecretFileSpec, { value: string } | { failure: string }>> {
    const requests = new Map<string, SecretFetch>()
    for (const spec of this.#specs) {
      const request = fetchOf(spec.reference)
      requests.set(fetchKey(request), request)
    }
    const keys = [...requests.keys()]
    const settled = await settleAll(keys, RESOLVE_CONCURRENCY, (key) =>
      this.#options.source.fetch(requests.get(key)!, this.#abort.signal),
    )
    const byKey = new Map(keys.map((key, i) => [key, settled[i]!]))
    this.#remember(
      [...byKey].flatMap(([key, result]) =>
        result.status === 'fulfilled' ? [[key, result.value.values]] : [],
      ),
    )
    const outcomes = new Map<SecretFileSpec, { value: string } | { failure: string }>()
    for (const spec of this.#specs) {
      const result = byKey.get(fetchKey(fetchOf(spec.reference)))!
      if (result.status === 'rejected') {
        outcomes.set(spec, {
          failure: formatError(result.reason, this.#options.secrets?.() ?? []).replace(/^strongroom: /, ''),
        })
        continue
      }
      const value = valueFor(spec.reference, result.value)
      outcomes.set(spec, typeof value === 'string' ? { value } : { failure: value.problem })
    }
    return outcomes
  }
}

function describe(spec: SecretFileSpec): string {
  return `${spec.shown} (${formatReference(spec.reference)})`
}

function hashOf(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex')
}
