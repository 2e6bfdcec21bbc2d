import { ServerError } from '../errors.js'
import type { ListAuthenticationTokensParams } from './pam-client-params.js'
import type { AuthenticationTokenPage } from './pam-results.js'

/**
 * Every page from `params.nextToken` (or the first) until the server answers `nextToken: null`.
 * A `nextToken` answered twice would loop forever: it is a `ServerError` instead.
 */
export async function* pagesOf(
  list: (params: ListAuthenticationTokensParams) => Promise<AuthenticationTokenPage>,
  params: ListAuthenticationTokensParams,
): AsyncGenerator<AuthenticationTokenPage, void, undefined> {
  const seen = new Set<string>()
  let nextToken = params.nextToken ?? null
  do {
    const page = await list({ ...params, nextToken })
    yield page
    nextToken = page.nextToken
    if (nextToken !== null) {
      if (seen.has(nextToken)) {
        throw new ServerError('ListAuthenticationTokens answered a nextToken it had answered before')
      }
      seen.add(nextToken)
    }
  } while (nextToken !== null)
}
