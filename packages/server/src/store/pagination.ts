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
    // Numeric keys are sequence numbers: a fraction or 1e308 made PostgreSQL fail the query (500).
    const fits = kind === 'string' || (Number.isSafeInteger(parsed.k) && (parsed.k as number) >= 0)
    if (typeof parsed.k === kind && fits) return parsed.k as K extends 'string' ? string : number
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

/**
 * One page of rows in id order (ids sort by creation time). `fetch` applies the list's filters,
 * takes rows whose id is after `after` when it is set, in id order, at most `rows` of them: one
 * more than a page, which only tells whether another page follows.
 */
export async function pageById<R extends { id: string }, T>(
  request: PageRequest,
  fetch: (after: string | undefined, rows: number) => Promise<R[]>,
  map: (row: R) => T,
): Promise<Page<T>> {
  const limit = request.maxResults ?? 20
  const after = decodeCursor(request.nextToken, 'string')
  return toPage(await fetch(after, limit + 1), limit, (r) => r.id, map)
}
