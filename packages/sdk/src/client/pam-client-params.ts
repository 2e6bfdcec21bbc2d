/** Options every operation takes as its last argument. */
export interface CallOptions {
  /** Cancels this call (its token wait, its request and its retries); it then rejects with the reason. */
  signal?: AbortSignal | undefined
}

/** Validate, revoke and reinstate of one token. */
export interface TokenCallOptions extends CallOptions {
  /** Sent as `token_type_hint`; the server recognises the token without it. */
  tokenTypeHint?: string | undefined
}

export interface FetchOAuthAuthenticationTokenParams {
  credentialProviderIdentifier: string
  /** Space-separated, at most 256 characters; the provider's default scope when absent. */
  scope?: string | undefined
  /** Extra token-request parameters for the upstream (not `grant_type`, `client_id`, … ). */
  customParameters?: Readonly<Record<string, string>> | undefined
  /** Fetch a new upstream token instead of the one the server shares. */
  forceAuthentication?: boolean | undefined
}

export interface GenerateJwtAuthenticationTokenParams {
  credentialProviderIdentifier: string
  subject: string
  audiences: readonly string[]
  /** The provider's issuer when absent; otherwise one it allows. */
  issuer?: string | undefined
  /** Extra claims (any JSON values); may not set the registered ones (`iss`, `sub`, `aud`, `exp`, …). */
  customClaims?: Readonly<Record<string, unknown>> | undefined
  /** The JWT's lifetime in **seconds** (a duration, not a time); the provider's default when absent. */
  expiration?: number | undefined
  /** Also return an `sk-…` short token that stands for the JWT. */
  includeDerivedShortToken?: boolean | undefined
}

export interface ObtainJwtAuthenticationTokenParams {
  /** The consumer the token was minted for: this application's id or client id. */
  consumerId: string
  authenticationTokenId: string
}

/** Names one consumer's tokens from one provider. */
export interface ConsumerTokensParams {
  consumerId: string
  credentialProviderIdentifier: string
}

export interface ListAuthenticationTokensParams extends ConsumerTokensParams {
  /** The previous page's `nextToken` (`null` and absent both mean the first page). */
  nextToken?: string | null | undefined
  /** Page size, 1–100; the server's default (20) when absent. */
  maxResults?: number | undefined
  /** Only revoked (`true`) or only unrevoked (`false`) tokens. */
  revoked?: boolean | undefined
  /** Only expired (`true`) or only unexpired (`false`) tokens. */
  expired?: boolean | undefined
}
