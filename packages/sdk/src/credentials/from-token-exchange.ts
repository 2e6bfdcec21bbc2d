import { DEFAULT_SCOPE } from '../config/client-config.js'
import type { AccessToken } from '../token-cache/access-token.js'
import type { ClientAuthentication } from './client-authentication.js'
import type { CredentialProvider, GetTokenOptions, TokenEndpointOptions } from './credential-provider.js'
import { accessTokenFrom } from './token-response.js'

export const TOKEN_TYPE = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
} as const

/** A token to exchange: a fixed string, a function, or another provider's token. */
export type TokenSource = string | (() => Promise<string>) | CredentialProvider

export interface FromTokenExchangeOptions extends TokenEndpointOptions {
  /** How this client authenticates at the token endpoint, e.g. `clientSecretPost(secret)`. */
  authentication: ClientAuthentication
  subjectToken: TokenSource
  subjectTokenType?: string | undefined
  actorToken?: TokenSource | undefined
  actorTokenType?: string | undefined
  requestedTokenType?: string | undefined
  /** Cache the exchanged token in the client's token cache (default: no, each call exchanges anew). */
  cache?: boolean | undefined
}

async function tokenOf(source: TokenSource, signal: AbortSignal | undefined): Promise<string> {
  if (typeof source === 'string') return source
  if (typeof source === 'function') return source()
  return (await source.getToken(signal ? { signal } : {})).accessToken
}

/**
 * RFC 8693 token exchange: this client trades a subject token (and optionally an actor token) for
 * an access token of its own about that subject, never wider than the subject token allows. The
 * exchanged token is not cached unless `cache: true`, because its subject may change per call.
 */
export function fromTokenExchange(options: FromTokenExchangeOptions): CredentialProvider {
  const now = options.now ?? Date.now
  return {
    name: 'fromTokenExchange',
    cacheable: options.cache === true,
    async getToken(o: GetTokenOptions = {}): Promise<AccessToken> {
      const form = new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        client_id: options.clientId,
        scope: options.scope ?? DEFAULT_SCOPE,
        subject_token: await tokenOf(options.subjectToken, o.signal),
        subject_token_type: options.subjectTokenType ?? TOKEN_TYPE.accessToken,
        requested_token_type: options.requestedTokenType ?? TOKEN_TYPE.accessToken,
      })
      if (options.actorToken !== undefined) {
        form.set('actor_token', await tokenOf(options.actorToken, o.signal))
        form.set('actor_token_type', options.actorTokenType ?? TOKEN_TYPE.accessToken)
      }
      const headers: Record<string, string> = {}
      const requestedAt = now()
      await options.authentication(form, headers, {
        clientId: options.clientId,
        tokenEndpoint: options.tokenEndpoint,
        now: requestedAt,
      })
      return accessTokenFrom(await options.call(form, headers, o.signal), requestedAt)
    },
  }
}
