import { isUtf8 } from 'node:buffer'
import type { FastifyInstance } from 'fastify'
import { InvalidParameter } from '../errors.js'
import { countMemberNames, findDuplicateKey } from './duplicate-keys.js'

/** Well-formed Unicode (no lone surrogates) without NUL characters. */
export function isSafeString(value: string): boolean {
  return value.isWellFormed() && !value.includes('\0')
}

const MAX_DEPTH = 32

/**
 * Walks a parsed body once: refuses prototype-polluting keys, unsafe strings (in keys too), and
 * absurd nesting, naming the offending field. Counts the keys it meets in `seen.keys`.
 */
function checkValue(
  value: unknown,
  path: string,
  seen: { keys: number },
  depth = 0,
): InvalidParameter | null {
  const field = path === '' ? 'body' : path
  if (depth > MAX_DEPTH)
    return new InvalidParameter(field, `is nested deeper than ${MAX_DEPTH} levels`, 'InvalidParameter.Body')
  if (typeof value === 'string') {
    return isSafeString(value)
      ? null
      : new InvalidParameter(field, 'must be well-formed Unicode without NUL characters')
  }
  if (typeof value !== 'object' || value === null) return null
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const err = checkValue(value[i], `${field}[${i}]`, seen, depth + 1)
      if (err) return err
    }
    return null
  }
  const entries = Object.entries(value)
  seen.keys += entries.length
  for (const [key, child] of entries) {
    const childPath = path === '' ? key : `${path}.${key}`
    if (key === '__proto__' || key === 'constructor' || key === 'prototype' || !isSafeString(key)) {
      return new InvalidParameter(path === '' ? 'body' : path, `has a forbidden key`, 'InvalidParameter.Body')
    }
    const err = checkValue(child, childPath, seen, depth + 1)
    if (err) return err
  }
  return null
}

/**
 * The checks of a parsed body: `checkValue`'s, then duplicate keys. The parsed objects hold one
 * key per distinct name, the text one member name per member: the two counts differ exactly when
 * some object repeats a key, and only then is the text walked again to name it.
 */
export function checkJsonBody(text: string, parsed: unknown): InvalidParameter | null {
  const seen = { keys: 0 }
  const err = checkValue(parsed, '', seen)
  if (err !== null || countMemberNames(text) === seen.keys) return err
  const duplicate = findDuplicateKey(text) ?? 'body'
  return new InvalidParameter(duplicate, 'is given more than once in one object', 'InvalidParameter.Body')
}

/**
 * JSON bodies, strictly: bytes that are not valid UTF-8 are refused instead of being silently
 * replaced with U+FFFD, keys that could poison prototypes are refused, and so is a key given
 * twice in one object (`JSON.parse` would keep the last). Fastify enforces the body limit before
 * this runs.
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body: Buffer, done) => {
    if (body.length === 0) {
      done(null, undefined)
      return
    }
    if (!isUtf8(body)) {
      done(new InvalidParameter('body', 'is not valid UTF-8', 'InvalidParameter.Encoding'), undefined)
      return
    }
    const text = body.toString('utf8')
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      done(new InvalidParameter('body', 'is not valid JSON', 'InvalidParameter.Body'), undefined)
      return
    }
    done(checkJsonBody(text, parsed), parsed)
  })
}
