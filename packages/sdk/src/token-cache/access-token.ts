import { CredentialProviderError } from '../errors.js'

/**
 * An OAuth access token as the {@link TokenCache} keeps it.
 *
 * `expiresAt` is an absolute time in **epoch milliseconds** (what `Date.now()` returns). Token
 * endpoints answer otherwise: OAuth's `expires_in` is a number of seconds from now, strongroom's and
 * IDaaS's `expires_at` is epoch seconds. Converting is the job of whoever calls the endpoint; prefer
 * `expires_in`, which does not depend on the two clocks agreeing.
 *
 * Tokens handed out by the cache never print their secret: `util.inspect`, `console.log` and
 * `JSON.stringify` show `[REDACTED]` in place of `accessToken`.
 *
 * @example
 * ```ts
 * const fetchToken = async (signal?: AbortSignal): Promise<AccessToken> => {
 *   const requestedAt = Date.now()
 *   const body = await requestToken({ signal }) // { access_token, expires_in, token_type, scope }
 *   return {
 *     accessToken: body.access_token,
 *     expiresAt: requestedAt + body.expires_in * 1000, // seconds → epoch ms
 *     tokenType: body.token_type,
 *     scope: body.scope,
 *   }
 * }
 * ```
 */
export interface AccessToken {
  /** The bearer credential. Secret: never log it. */
  readonly accessToken: string
  /** When the token expires, in epoch milliseconds (not seconds). */
  readonly expiresAt: number
  /** The token type the server named, usually `Bearer`: an RFC 7230 token, so a header's scheme. */
  readonly tokenType?: string | undefined
  /** The space-separated scopes the server granted, when it said. */
  readonly scope?: string | undefined
}

const REDACTED = '[REDACTED]'
/** What a token may show of itself: everything but the secret (`expiresAt` readable for people). */
function printable(token: AccessToken, forPeople: boolean): Record<string, unknown> {
  const shown: Record<string, unknown> = {
    accessToken: REDACTED,
    expiresAt: forPeople ? new Date(token.expiresAt).toISOString() : token.expiresAt,
  }
  if (token.tokenType !== undefined) shown['tokenType'] = token.tokenType
  if (token.scope !== undefined) shown['scope'] = token.scope
  return shown
}

/**
 * Whether `value` can be sent as a token in an `Authorization` header: visible ASCII only (RFC
 * 6750's b64token is narrower; this is what a header can carry). A line break or NUL would make
 * the platform's `Headers` throw an error that quotes the whole header, token included.
 */
export function isTokenText(value: string): boolean {
  return /^[\x21-\x7e]+$/.test(value)
}

/** The longest `tokenType` taken: a scheme name (`Bearer`, `DPoP`) is a few characters. */
export const MAX_TOKEN_TYPE_LENGTH = 128

/**
 * Whether `value` can be the scheme of an `Authorization` header: an RFC 7230 token (RFC 9110's
 * `auth-scheme`), at most `MAX_TOKEN_TYPE_LENGTH` characters. `${tokenType} ${accessToken}` is
 * how a caller makes that header, and a line break or a space in the type would make `Headers`
 * throw an error quoting the whole header, token included, or send another scheme than named.
 */
export function isTokenType(value: string): boolean {
  return value.length <= MAX_TOKEN_TYPE_LENGTH && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)
}

/**
 * Checks what `fetchToken` resolved with and copies it into a frozen token whose `inspect` and
 * `toJSON` hide the secret. Only the known fields are kept, so nothing unknown (a refresh token, say)
 * can leak through printing.
 */
export function sealAccessToken(value: unknown): AccessToken {
  if (typeof value !== 'object' || value === null) {
    throw new CredentialProviderError('fetchToken resolved with no token object')
  }
  const candidate = value as Record<string, unknown>
  const { accessToken, expiresAt, tokenType, scope } = candidate
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw new CredentialProviderError('fetchToken resolved with no accessToken (a non-empty string)')
  }
  if (!isTokenText(accessToken)) {
    throw new CredentialProviderError(
      'fetchToken resolved with an accessToken a header cannot carry (visible ASCII only; it is not shown)',
    )
  }
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
    throw new CredentialProviderError('fetchToken resolved with no expiresAt (a finite number of epoch ms)')
  }
  if (typeof tokenType === 'string' && !isTokenType(tokenType)) {
    throw new CredentialProviderError(
      `fetchToken resolved with a tokenType that is no header scheme (an RFC 7230 token of at most ${MAX_TOKEN_TYPE_LENGTH} characters; it is not shown)`,
    )
  }
  const token: { -readonly [K in keyof AccessToken]: AccessToken[K] } = { accessToken, expiresAt }
  if (typeof tokenType === 'string') token.tokenType = tokenType
  if (typeof scope === 'string') token.scope = scope
  // Non-enumerable, so spreading the token copies the data and not these hooks.
  Object.defineProperties(token, {
    toJSON: { value: () => printable(token, false) },
    [Symbol.for('nodejs.util.inspect.custom')]: {
      value: (_depth: number, options: unknown, inspect?: (value: unknown, options: unknown) => string) =>
        `AccessToken ${inspect ? inspect(printable(token, true), options) : JSON.stringify(printable(token, true))}`,
    },
  })
  return Object.freeze(token)
}
