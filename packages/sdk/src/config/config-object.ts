import type { ConfigurationError } from '../errors.js'
import { keyError } from './config-error.js'
import { isSensitiveKey, snakeCaseKey } from './key-name.js'

/**
 * Typed reads from one JSON object of a configuration file. A key is found under any spelling that
 * folds to the same snake_case name (`clientId`, `client_id`, `ClientId`); `null` counts as absent;
 * a blank string counts as absent; keys nobody asks for are ignored, so newer files still load.
 * Every error names the file, the key as written with its parents, and the rule, and repeats a
 * value only for keys that do not sound secret.
 */
export class ConfigObject {
  private readonly written = new Map<string, string[]>()

  private constructor(
    readonly file: string,
    private readonly prefix: string,
    private readonly raw: Readonly<Record<string, unknown>>,
  ) {
    for (const key of Object.keys(raw)) {
      const folded = snakeCaseKey(key)
      const spellings = this.written.get(folded)
      if (spellings) spellings.push(key)
      else this.written.set(folded, [key])
    }
  }

  /** The top-level object of `file`, or a `ConfigurationError` if the document is not an object. */
  static root(file: string, document: unknown): ConfigObject {
    if (!isPlainObject(document)) {
      throw keyError(file, '(top level)', `must be a JSON object, not ${describeType(document)}`)
    }
    return new ConfigObject(file, '', document)
  }

  /**
   * The path of `name` for messages: as written if the file has it; if not, in the style of the
   * object's other keys (snake_case when any is, else camelCase), so the user can paste it.
   */
  keyPath(name: string): string {
    const snakeStyle = Object.keys(this.raw).some((key) => key.includes('_'))
    return this.pathOf(this.find(name)?.key ?? (snakeStyle ? snakeCaseKey(name) : name))
  }

  error(name: string, rule: string): ConfigurationError {
    return keyError(this.file, this.keyPath(name), rule)
  }

  /** A trimmed string, or `undefined` when absent, `null` or blank. */
  string(name: string, ...aliases: string[]): string | undefined {
    const found = this.find(name, ...aliases)
    if (found === undefined) return undefined
    if (typeof found.value !== 'string') throw this.typeError(found, 'a string')
    const trimmed = found.value.trim()
    return trimmed === '' ? undefined : trimmed
  }

  /** An integer within `[min, max]`, or `undefined` when absent. */
  integer(name: string, min: number, max: number, unit: string): number | undefined {
    const found = this.find(name)
    if (found === undefined) return undefined
    const { value } = found
    if (typeof value !== 'number') throw this.typeError(found, `an integer (${unit})`)
    if (!Number.isInteger(value) || value < min || value > max) {
      const got = isSensitiveKey(found.key) ? '' : `, got ${value}`
      throw keyError(
        this.file,
        this.pathOf(found.key),
        `must be an integer from ${min} to ${max} (${unit})${got}`,
      )
    }
    return value
  }

  /** A boolean, or `undefined` when absent. */
  boolean(name: string): boolean | undefined {
    const found = this.find(name)
    if (found === undefined) return undefined
    if (typeof found.value !== 'boolean') throw this.typeError(found, '`true` or `false`')
    return found.value
  }

  /** One of `allowed` exactly (the official SDKs compare case-sensitively), or `undefined` when absent. */
  oneOf<T extends string>(allowed: readonly T[], name: string, ...aliases: string[]): T | undefined {
    const found = this.find(name, ...aliases)
    if (found === undefined) return undefined
    if (typeof found.value !== 'string') throw this.typeError(found, `one of ${allowed.join(', ')}`)
    const value = found.value.trim()
    if (value === '') return undefined
    if ((allowed as readonly string[]).includes(value)) return value as T
    const got = isSensitiveKey(found.key) ? '' : `, got ${JSON.stringify(value)}`
    throw keyError(this.file, this.pathOf(found.key), `must be one of ${allowed.join(', ')}${got}`)
  }

  /** A nested object, or `undefined` when absent or `null`. */
  object(name: string): ConfigObject | undefined {
    const found = this.find(name)
    if (found === undefined) return undefined
    if (!isPlainObject(found.value)) throw this.typeError(found, 'a JSON object')
    return new ConfigObject(this.file, this.pathOf(found.key), found.value)
  }

  private find(name: string, ...aliases: string[]): { key: string; value: unknown } | undefined {
    for (const candidate of [name, ...aliases]) {
      const spellings = this.written.get(snakeCaseKey(candidate)) ?? []
      const present = spellings.filter((key) => this.raw[key] !== null)
      if (present.length > 1) {
        const paths = present.map((key) => this.pathOf(key)).join(' and ')
        throw keyError(this.file, paths, 'are the same key written twice; keep one')
      }
      const key = present[0]
      if (key !== undefined) return { key, value: this.raw[key] }
    }
    return undefined
  }

  private pathOf(key: string): string {
    return this.prefix === '' ? key : `${this.prefix}.${key}`
  }

  private typeError(found: { key: string; value: unknown }, expected: string): ConfigurationError {
    return keyError(
      this.file,
      this.pathOf(found.key),
      `must be ${expected}, not ${describeType(found.value)}`,
    )
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'boolean') return 'a boolean'
  if (typeof value === 'number') return 'a number'
  return `a ${typeof value}`
}
