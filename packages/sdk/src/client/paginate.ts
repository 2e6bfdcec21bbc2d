import { ServerError } from '../errors.js'

/**
 * Every page from `params.nextToken` (or the first) until the server answers `nextToken: null`.
 * A `nextToken` answered twice would loop forever: it is a `ServerError` naming `action` instead.
 */
export async function* pagesOf<
  Params extends { readonly nextToken?: string | null | undefined },
  Page extends { readonly nextToken: string | null },
>(
  action: string,
  list: (params: Params) => Promise<Page>,
  params: Params,
): AsyncGenerator<Page, void, undefined> {
  const seen = new Set<string>()
  let nextToken = params.nextToken ?? null
  do {
    const page = await list({ ...params, nextToken })
    yield page
    nextToken = page.nextToken
    if (nextToken !== null) {
      if (seen.has(nextToken)) throw new ServerError(`${action} answered a nextToken it had answered before`)
      seen.add(nextToken)
    }
  } while (nextToken !== null)
}
