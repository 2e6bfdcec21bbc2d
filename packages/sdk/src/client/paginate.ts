import { ServerError } from '../errors.js'

/**
 * Every page from `params.nextToken` (or the first) until the server answers `nextToken: null`.
 * A `nextToken` answered twice would loop forever: it is a `ServerError` naming `action` instead.
 * With `maxPages`, a server that goes on past that many pages is a `ServerError` too (one that
 * answered a new token every time would otherwise fill the caller's memory).
 */
export async function* pagesOf<
  Params extends { readonly nextToken?: string | null | undefined },
  Page extends { readonly nextToken: string | null },
>(
  action: string,
  list: (params: Params) => Promise<Page>,
  params: Params,
  maxPages = Number.POSITIVE_INFINITY,
): AsyncGenerator<Page, void, undefined> {
  const seen = new Set<string>()
  let nextToken = params.nextToken ?? null
  let pages = 0
  do {
    if (pages++ >= maxPages) throw new ServerError(`${action} answered more than ${maxPages} pages`)
    const page = await list({ ...params, nextToken })
    yield page
    nextToken = page.nextToken
    if (nextToken !== null) {
      if (seen.has(nextToken)) throw new ServerError(`${action} answered a nextToken it had answered before`)
      seen.add(nextToken)
    }
  } while (nextToken !== null)
}
