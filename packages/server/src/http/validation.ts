import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors'
import { Value } from '@sinclair/typebox/value'
import type { FastifySchemaCompiler } from 'fastify'
import { InvalidParameter } from '../errors.js'
import { brokenScalarRule, scalarRules } from './query-scalars.js'

const WHERE: Record<string, string> = {
  body: 'field',
  querystring: 'query parameter',
  params: 'path parameter',
}

/**
 * Fastify's validator, built on TypeBox's compiled checks. Query strings and path parameters are
 * converted to the schema's types first (`?maxResults=20` is the number 20); JSON bodies are
 * not: `{"name": 42}` is a wrong type, not a name. Defaults apply in both. The first error becomes
 * an `InvalidParameter` naming the field (dotted path) and the rule.
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema)
  const convert = httpPart !== 'body'
  // Converting and defaulting walk the value and clone it on every request. Where they cannot
  // change a value that already passes (no defaults anywhere; nothing to convert but strings,
  // which stay strings), a value that passes as it came is taken as it is.
  const asIs = !hasDefault(schema) && (!convert || onlyStringProperties(schema))
  const where = httpPart ?? 'body'
  const scalars = convert ? scalarRules(schema) : []
  return (input: unknown) => {
    if (asIs && check.Check(input)) return { value: input }
    // Integers and booleans are read from text only when spelled plainly (query-scalars.ts).
    if (scalars.length > 0 && typeof input === 'object' && input !== null) {
      for (const scalar of scalars) {
        const text = (input as Record<string, unknown>)[scalar.key]
        if (typeof text !== 'string') continue
        const rule = brokenScalarRule(scalar, text)
        if (rule !== null) return { error: invalid(scalar.key, rule, where) }
      }
    }
    let data = input
    if (convert) data = Value.Convert(schema, data)
    data = Value.Default(schema, data)
    if (check.Check(data)) return { value: data }
    const first = check.Errors(data).First()!
    return { error: toInvalidParameter(first, where) }
  }
}

function hasDefault(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return false
  if (Array.isArray(schema)) return schema.some(hasDefault)
  return 'default' in schema || Object.values(schema).some(hasDefault)
}

/** An object schema whose every declared property is a plain string (query strings, path parameters). */
function onlyStringProperties(schema: TSchema): boolean {
  if (schema.type !== 'object' || schema.patternProperties !== undefined) return false
  const properties = Object.values((schema.properties ?? {}) as Record<string, TSchema>)
  const additional = schema.additionalProperties
  return (
    properties.every((p) => p.type === 'string' && Object.keys(p).every((k) => STRING_KEYWORDS.has(k))) &&
    (additional === undefined || typeof additional === 'boolean')
  )
}

/** What a string schema may say and stay a plain string (no union, reference or transform). */
const STRING_KEYWORDS = new Set([
  'type',
  'minLength',
  'maxLength',
  'pattern',
  'x-rule',
  'format',
  'description',
  'title',
  'examples',
])

function toInvalidParameter(e: ValueError, part: string): InvalidParameter {
  const path = e.path.replace(/^\//, '').split('/').filter(Boolean)
  let rule: string
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      rule = 'is required'
      break
    case ValueErrorType.ObjectAdditionalProperties:
      rule = 'is not a known field'
      break
    case ValueErrorType.StringMaxLength:
      rule = `must be at most ${(e.schema as unknown as { maxLength: number }).maxLength} characters`
      break
    case ValueErrorType.StringMinLength:
      rule = `must be at least ${(e.schema as unknown as { minLength: number }).minLength} characters`
      break
    case ValueErrorType.StringPattern:
      // A pattern too intricate to read as a rule carries its rule in words (identifiers.ts).
      rule =
        (e.schema as { 'x-rule'?: string })['x-rule'] ??
        `must match ${(e.schema as unknown as { pattern: string }).pattern}`
      break
    case ValueErrorType.Object:
      rule = 'must be a JSON object'
      break
    case ValueErrorType.String:
      rule = 'must be a string'
      break
    case ValueErrorType.Integer:
      rule = 'must be an integer'
      break
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum: {
      const { minimum, maximum } = e.schema as unknown as { minimum?: number; maximum?: number }
      rule = `must be an integer from ${minimum ?? Number.MIN_SAFE_INTEGER} to ${maximum ?? Number.MAX_SAFE_INTEGER}`
      break
    }
    case ValueErrorType.Boolean:
      rule = 'must be true or false'
      break
    case ValueErrorType.Array:
      rule = 'must be an array'
      break
    default:
      rule = `${e.message.charAt(0).toLowerCase()}${e.message.slice(1)}`
  }
  return invalid(path.length > 0 ? path.join('.') : part === 'querystring' ? 'query' : part, rule, part)
}

function invalid(field: string, rule: string, part: string): InvalidParameter {
  return new InvalidParameter(field, rule, 'InvalidParameter', `${WHERE[part] ?? 'field'} ${field} ${rule}`)
}
