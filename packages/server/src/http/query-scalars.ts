import type { TSchema } from '@sinclair/typebox'

/**
 * How a query string or path parameter must spell an integer or a boolean. TypeBox's conversion
 * reads `1e2`, `1.5` and `0x10` as integers (1, 1 and 16) and `1` as `true`; a caller who sent
 * them meant something else, so they are refused instead of being read as something they did not
 * say. An integer is decimal digits, a minus sign first only where the schema allows negatives,
 * and a safe integer within the schema's bounds; a boolean is `true` or `false`.
 */
export interface ScalarRule {
  key: string
  kind: 'integer' | 'boolean'
  minimum: number | undefined
  maximum: number | undefined
}

/** The integer and boolean properties of an object schema, computed once per route. */
export function scalarRules(schema: TSchema): ScalarRule[] {
  if (schema.type !== 'object' || typeof schema.properties !== 'object') return []
  const rules: ScalarRule[] = []
  for (const [key, property] of Object.entries(schema.properties as Record<string, TSchema>)) {
    if (property.type !== 'integer' && property.type !== 'boolean') continue
    rules.push({
      key,
      kind: property.type,
      minimum: typeof property.minimum === 'number' ? property.minimum : undefined,
      maximum: typeof property.maximum === 'number' ? property.maximum : undefined,
    })
  }
  return rules
}

const DIGITS = /^[0-9]+$/
const SIGNED_DIGITS = /^-?[0-9]+$/

/** The rule `value` breaks, in a few words, or `null` when it spells what the schema asks for. */
export function brokenScalarRule(rule: ScalarRule, value: string): string | null {
  if (rule.kind === 'boolean') return value === 'true' || value === 'false' ? null : 'must be true or false'
  const negativesAllowed = rule.minimum === undefined || rule.minimum < 0
  const spelled = (negativesAllowed ? SIGNED_DIGITS : DIGITS).test(value)
  const n = spelled ? Number(value) : Number.NaN
  const inRange =
    Number.isSafeInteger(n) &&
    (rule.minimum === undefined || n >= rule.minimum) &&
    (rule.maximum === undefined || n <= rule.maximum)
  return inRange ? null : integerRule(rule.minimum, rule.maximum)
}

/** `must be a decimal integer from 1 to 100`, with whichever bounds the schema has. */
export function integerRule(minimum: number | undefined, maximum: number | undefined): string {
  const lo = minimum ?? Number.MIN_SAFE_INTEGER
  const hi = maximum ?? Number.MAX_SAFE_INTEGER
  return `must be a decimal integer from ${lo} to ${hi}`
}
