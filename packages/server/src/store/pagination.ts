import { InvalidParameter } from '../errors.js'

export interface PageRequest {
  nextToken?: string | undefined
  maxResults?: number | undefined
}

export interface Page<T> {
  entities: T[]
  nextToken: string | null
  maxResults: number
}

/** Keyset pagination tokens: base64url JSON of the last key served. Never an OFFSET. */
export function encodeCursor(key: string | number): string {
  return Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url')
}

export function decodeCursor<K extends 'string' | 'number'>(
  token: string | undefined,
  kind: K,
): (K extends 'string' ? string : number) | undefined {
  if (token === undefined) return undefined
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { k?: unknown }
    if (typeof parsed.k === kind) return parsed.k as K extends 'string' ? string : number
  } catch {
    // fall through to the error below
  }
  throw new InvalidParameter('nextToken', 'is not a token this server issued for this list')
}

/** Turns `limit + 1` fetched rows into a page: the extra row only tells that there is more. */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  key: (row: R) => string | number,
  map: (row: R) => T,
): Page<T> {
  const more = rows.length > limit
  const served = more ? rows.slice(0, limit) : rows
  const last = served[served.length - 1]
  return {
    entities: served.map(map),
    nextToken: more && last !== undefined ? encodeCursor(key(last)) : null,
    maxResults: limit,
  }
}
