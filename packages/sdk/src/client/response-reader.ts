import { ServerError } from '../errors.js'

/**
 * Reads a 2xx answer field by field and fails with a `ServerError` naming the operation and the
 * field (never its value) when the body is not the contract's shape, so a wrong server or a proxy
 * page is reported where it happens rather than as `undefined` far away. `null` counts as absent
 * for optional fields, as the official clients treat it.
 */
export class ResponseReader {
  readonly #action: string
  readonly #path: string
  readonly #body: Record<string, unknown>

  constructor(action: string, body: unknown, path = '') {
    this.#action = action
    this.#path = path
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw this.#wrong('', 'a JSON object')
    this.#body = body as Record<string, unknown>
  }

  string(name: string): string {
    const value = this.#body[name]
    if (typeof value !== 'string') throw this.#wrong(name, 'a string')
    return value
  }

  optionalString(name: string): string | undefined {
    const value = this.#body[name]
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'string') throw this.#wrong(name, 'a string')
    return value
  }

  number(name: string): number {
    const value = this.#body[name]
    if (typeof value !== 'number' || !Number.isFinite(value)) throw this.#wrong(name, 'a number')
    return value
  }

  boolean(name: string): boolean {
    const value = this.#body[name]
    if (typeof value !== 'boolean') throw this.#wrong(name, 'a boolean')
    return value
  }

  object(name: string): ResponseReader {
    const reader = this.optionalObject(name)
    if (reader === undefined) throw this.#wrong(name, 'an object')
    return reader
  }

  optionalObject(name: string): ResponseReader | undefined {
    const value = this.#body[name]
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'object' || Array.isArray(value)) throw this.#wrong(name, 'an object')
    return new ResponseReader(this.#action, value, `${this.#path}${name}.`)
  }

  /** An array of objects (absent or `null` reads as empty). */
  objects(name: string): ResponseReader[] {
    const value = this.#body[name]
    if (value === undefined || value === null) return []
    if (!Array.isArray(value)) throw this.#wrong(name, 'an array')
    return value.map((item, i) => new ResponseReader(this.#action, item, `${this.#path}${name}[${i}].`))
  }

  #wrong(name: string, expected: string): ServerError {
    const what = name === '' && this.#path === '' ? 'the body' : `${this.#path}${name}`
    return new ServerError(`${this.#action} answered with an unexpected body: ${what} is not ${expected}`)
  }
}
