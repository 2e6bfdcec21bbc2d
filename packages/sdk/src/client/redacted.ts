/** What printing shows in place of a secret. */
export const REDACTED = '[REDACTED]'

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

/**
 * The base of the SDK's result objects that hold a secret (an API key, a client secret, a JWT, an
 * OAuth access token).
 *
 * Why a class and not a plain object: each secret lives in an ECMAScript private field (`#value`)
 * and is read through a getter on the prototype, so it is readable as a property
 * (`content.jwtValue`) and yet is not an own property: `Object.keys`, `Object.entries`, object
 * spread and `structuredClone` do not copy it. `toJSON()` and the `util.inspect` hook print every
 * secret as `[REDACTED]` (`JSON.stringify`, `console.log`, `%o`, `%j`, also with `showHidden`,
 * `getters` and any depth), so a logged result shows which secrets it carries without showing
 * them. Only a deliberate `util.inspect(x, { customInspect: false, getters: true })`, which turns
 * the hook off and asks to run getters, reads them. Fields that are not secret (a client id, a
 * scope) are ordinary own properties and print as they are.
 *
 * Copy a secret out deliberately: `const jwt = result.jwtContent.jwtValue`.
 */
export abstract class Redacted {
  /** What `JSON.stringify` shows: the public fields, and `[REDACTED]` for each secret held. */
  abstract toJSON(): Record<string, unknown>

  [INSPECT](
    _depth: number,
    options: unknown,
    inspect?: (value: unknown, options: unknown) => string,
  ): string {
    const shown = this.toJSON()
    return `${this.constructor.name} ${inspect === undefined ? JSON.stringify(shown) : inspect(shown, options)}`
  }
}

/** `{ [name]: '[REDACTED]' }` when the secret is present, `{}` when it is not. */
export function redactedIfSet(name: string, value: string | undefined): Record<string, string> {
  return value === undefined ? {} : { [name]: REDACTED }
}
