import { isUtf8 } from 'node:buffer'
import type { FastifyInstance } from 'fastify'
import { InvalidParameter } from '../errors.js'

/** Well-formed Unicode (no lone surrogates) without NUL characters. */
export function isSafeString(value: string): boolean {
  return value.isWellFormed() && !value.includes('\0')
}

const MAX_DEPTH = 32

/**
 * Walks a parsed body once: refuses prototype-polluting keys, unsafe strings (in keys too), and
 * absurd nesting, naming the offending field.
 */
function checkValue(value: unknown, path: string, depth = 0): InvalidParameter | null {
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
      const err = checkValue(value[i], `${field}[${i}]`, depth + 1)
      if (err) return err
    }
    return null
  }
  for (const [key, child] of Object.entries(value)) {
    const childPath = path === '' ? key : `${path}.${key}`
    if (key === '__proto__' || key === 'constructor' || key === 'prototype' || !isSafeString(key)) {
      return new InvalidParameter(path === '' ? 'body' : path, `has a forbidden key`, 'InvalidParameter.Body')
    }
    const err = checkValue(child, childPath, depth + 1)
    if (err) return err
  }
  return null
}

/**
 * JSON bodies, strictly: bytes that are not valid UTF-8 are refused instead of being silently
 * replaced with U+FFFD, and keys that could poison prototypes are refused. Fastify enforces the
 * body limit before this runs.
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
    let parsed: unknown
    try {
      parsed = JSON.parse(body.toString('utf8'))
    } catch {
      done(new InvalidParameter('body', 'is not valid JSON', 'InvalidParameter.Body'), undefined)
      return
    }
    done(checkValue(parsed, ''), parsed)
  })
}
