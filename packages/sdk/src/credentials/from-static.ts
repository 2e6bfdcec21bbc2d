import { decodeJwt } from 'jose'
import { CredentialProviderError } from '../errors.js'
import { type AccessToken, sealAccessToken } from '../token-cache/access-token.js'
import type { CredentialProvider } from './credential-provider.js'

export interface FromStaticOptions {
  /** An access token obtained elsewhere (a token exchange, another process). */
  accessToken: string | AccessToken
  /** Epoch milliseconds; without it, a JWT's `exp` is used, else the token is trusted as is. */
  expiresAt?: number | undefined
  now?: (() => number) | undefined
}

/**
 * A fixed access token. It is never refreshed: once it has expired, every call fails with a clear
 * error instead of sending a token the server would refuse.
 *
 * @example
 * ```ts
 * const exchanged = await fromTokenExchange({ … }).getToken()
 * await using pam = new PamClient({ credentials: fromStatic({ accessToken: exchanged }), … })
 * ```
 */
export function fromStatic(options: FromStaticOptions): CredentialProvider {
  const now = options.now ?? Date.now
  const token =
    typeof options.accessToken === 'string'
      ? sealAccessToken({
          accessToken: options.accessToken,
          expiresAt: options.expiresAt ?? jwtExpiry(options.accessToken) ?? Number.MAX_SAFE_INTEGER,
        })
      : options.accessToken
  return {
    name: 'fromStatic',
    cacheable: false,
    getToken: async () => {
      if (token.expiresAt <= now()) {
        throw new CredentialProviderError(
          `the static access token expired at ${new Date(token.expiresAt).toISOString()}`,
        )
      }
      return token
    },
  }
}

function jwtExpiry(token: string): number | undefined {
  try {
    const exp = decodeJwt(token).exp
    return typeof exp === 'number' ? exp * 1000 : undefined
  } catch {
    return undefined // not a JWT: an opaque token, trusted until the server says otherwise
  }
}
