/**
 * A caller's programming mistake (a bad option value): a `TypeError` with a stable `code`, as Node
 * itself raises, rather than one of the SDK's domain errors.
 */
export function invalidArgument(message: string): TypeError & { code: 'ERR_INVALID_ARG_VALUE' } {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_VALUE' as const })
}
