import { ServerError } from '../errors.js'

/** Empty pages in a row, each with a new `nextToken`, after which a listing is taken as endless. */
export const MAX_EMPTY_PAGES_IN_A_ROW = 100

/**
 * Every page from `params.nextToken` (or the first) until the server answers `nextToken: null`.
 * A `nextToken` answered twice would loop forever: it is a `ServerError` naming `action` instead.
 * With `maxPages`, a server that goes on past that many pages is a `ServerError` too (one that
 * answered a new token every time would otherwise fill the caller's memory). Without it, a
 * listing of any length is followed as long as its pages hold something; a server answering
 * `MAX_EMPTY_PAGES_IN_A_ROW` empty pages in a row, each pointing to another, is a `ServerError`
 * (it would otherwise be asked for pages as fast as it answers, for ever, yielding nothing).
 */
export async function* pagesOf<
  Params extends { readonly nextToken?: string | null | undefined },
  Page extends { readonly nextToken: string | null; readonly entities: readonly unknown[] },
>(
  action: string,
  list: (params: Params) => Promise<Page>,
  params: Params,
  maxPages = Number.POSITIVE_INFINITY,
): AsyncGenerator<Page, void, undefined> {
  const seen = new Set<string>()
  let nextToken = params.nextToken ?? null
  let pages = 0
  let emptyInARow = 0
  do {
    if (pages++ >= maxPages) throw new ServerError(`${action} answered more than ${maxPages} pages`)
    const page = await list({ ...params, nextToken })
    yield page
    nextToken = page.nextToken
    emptyInARow = page.entities.length === 0 ? emptyInARow + 1 : 0
    if (nextToken !== null && emptyInARow >= MAX_EMPTY_PAGES_IN_A_ROW) {
      throw new ServerError(
        `${action} answered ${emptyInARow} empty pages in a row, each with another nextToken`,
      )
    }
    if (nextToken !== null) {
      if (seen.has(nextToken)) throw new ServerError(`${action} answered a nextToken it had answered before`)
      seen.add(nextToken)
    }
  } while (nextToken !== null)
}
