import type { CredentialProvider } from '../credentials/credential-provider.js'
import { AuthenticationError } from '../errors.js'
import { type AccessToken, sealAccessToken } from '../token-cache/access-token.js'
import { TokenCache, type TokenCacheOptions } from '../token-cache/token-cache.js'

/** Options of the token cache a cacheable provider is wrapped in (everything but `fetchToken`). */
export type PamTokenCacheOptions = Omit<TokenCacheOptions, 'fetchToken'>

/**
 * Where the client's access tokens come from. A cacheable provider is wrapped in one
 * {@link TokenCache}, so any number of concurrent cold calls cost one token request; a provider
 * that is not cacheable (a token exchange, say) is asked at every call.
 */
export class BearerTokenSource {
  readonly #provider: CredentialProvider
  readonly #cache: TokenCache | undefined

  constructor(provider: CredentialProvider, cacheOptions: PamTokenCacheOptions = {}) {
    this.#provider = provider
    this.#cache = provider.cacheable
      ? new TokenCache({ ...cacheOptions, fetchToken: (signal) => provider.getToken({ signal }) })
      : undefined
  }

  /**
   * Calls `send` with an `Authorization` header value. When the server answers 401 to a cached
   * token (revoked, or its signing key rotated early) the token is refreshed once and the call sent
   * again: a 401 means the server did nothing, so this is safe for every operation. Concurrent
   * callers that were refused the same token share one refresh.
   */
  async run<T>(signal: AbortSignal | undefined, send: (authorization: string) => Promise<T>): Promise<T> {
    const used = await this.#token(signal)
    try {
      return await send(authorization(used))
    } catch (error) {
      if (!(error instanceof AuthenticationError) || this.#cache === undefined) throw error
      const current = await this.#cache.getToken(signal === undefined ? {} : { signal })
      const fresh =
        current.accessToken === used.accessToken
          ? await this.#cache.forceRefresh(signal === undefined ? {} : { signal })
          : current
      return send(authorization(fresh))
    }
  }

  close(): void {
    this.#cache?.close()
  }

  /** Names the provider, never its secrets. */
  toJSON(): Record<string, unknown> {
    return { provider: this.#provider.name, cached: this.#cache !== undefined }
  }

  async #token(signal: AbortSignal | undefined): Promise<AccessToken> {
    const options = signal === undefined ? {} : { signal }
    if (this.#cache !== undefined) return this.#cache.getToken(options)
    signal?.throwIfAborted()
    return sealAccessToken(await this.#provider.getToken(options))
  }
}

// The contract's scheme is `Bearer` whatever case the token endpoint wrote `token_type` in.
function authorization(token: AccessToken): string {
  return `Bearer ${token.accessToken}`
}
