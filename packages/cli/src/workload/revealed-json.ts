import { toJson } from '../safe-text.js'

/**
 * The SDK's results print their secrets as `[REDACTED]`, in `JSON.stringify` too: the secret is a
 * getter behind a `toJSON()` that hides it. `get … --json` is asked for the secret on purpose, so
 * this copies a result into plain data, reading each field `toJSON()` names through the object's
 * own property or getter. Used only for the one value a command was asked to print.
 */
export function revealedJson(value: unknown): string {
  return toJson(plain(value), 2)
}

function plain(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(plain)
  const object = value as Record<string, unknown> & { toJSON?: () => unknown }
  if (typeof object.toJSON === 'function') {
    const shown = object.toJSON()
    if (typeof shown !== 'object' || shown === null) return shown
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(shown)) {
      out[key] = plain(key in object ? object[key] : (shown as Record<string, unknown>)[key])
    }
    return out
  }
  return Object.fromEntries(Object.entries(object).map(([key, v]) => [key, plain(v)]))
}
