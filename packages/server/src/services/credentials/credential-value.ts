import { Value } from '@sinclair/typebox/value'
import { type CredentialType, type CredentialValue, CredentialValues } from '@strongroom/protocol'
import { InvalidParameter } from '../../errors.js'

/**
 * Checks a credential value against the shape its type requires, naming the first offending
 * field (`value.apiKey`) and the rule. The message never repeats the value.
 */
export function checkCredentialValue(type: CredentialType, value: unknown): CredentialValue {
  const schema = CredentialValues[type]
  const first = Value.Errors(schema, value).First()
  if (first === undefined) return value as CredentialValue
  const path = first.path.replace(/^\//, '').replaceAll('/', '.')
  const field = path === '' ? 'value' : `value.${path}`
  const unknownKey = Object.keys((value ?? {}) as object).find((k) => !(k in schema.properties))
  if (unknownKey !== undefined) {
    throw new InvalidParameter(
      `value.${unknownKey}`,
      `is not a field of a ${type} value (allowed: ${Object.keys(schema.properties).join(', ')})`,
    )
  }
  throw new InvalidParameter(field, `is invalid for a ${type} value: ${first.message.toLowerCase()}`)
}
