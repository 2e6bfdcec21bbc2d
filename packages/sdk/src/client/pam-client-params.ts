import type { ProofKey } from '../proof/proof-key.js'

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

/** `getPassword`, `obtainPassword`: the call's signal and the reason the retrieval is for. */
export interface AccountCallOptions extends CallOptions {
  /**
   * Why the secret is needed (1–512 characters: a ticket, an incident), written to the audit log.
   * Required by an account whose policy says so (`requiresReason`), else a `ReasonRequiredError`.
   */
  reason?: string | undefined
}

/**
 * How `getSshKey` answers a decrypted key: `pem` (unencrypted PKCS#8, `-----BEGIN PRIVATE KEY-----`)
 * or `openssh` (an unencrypted OpenSSH key, `-----BEGIN OPENSSH PRIVATE KEY-----`). OpenSSH before
 * 9.6 cannot read an Ed25519 key in PKCS#8 PEM: give `ssh -i` the `openssh` one.
 */
export type SshKeyOutputFormat = 'pem' | 'openssh'

/** `getSshKey`. */
export interface GetSshKeyOptions extends AccountCallOptions {
  /**
   * Have the server decrypt the key and answer it unencrypted (no passphrase), in `format`; a key it
   * cannot decrypt is an `SshKeyNotSupportedError` (see `AccountSummary.isKeySupported`). Default:
   * the key as stored, with its passphrase.
   */
  decrypt?: boolean | undefined
  /**
   * With `decrypt: true` only (else a `TypeError` with code `ERR_INVALID_ARG_VALUE`, before any
   * request): the encoding of the decrypted key. Default `pem`.
   */
  format?: SshKeyOutputFormat | undefined
}

/** `getScopedToken`. */
export interface GetScopedTokenParams {
  /** `audience|value …`, one audience (e.g. `urn:cloud:idaas:pam|account:obtain`). */
  scope: string
  /** The key to bind the token to; its public JWK is sent, its private half signs the proofs. */
  key: ProofKey
  /** The token's lifetime in seconds, 60–3600; the server's default (900) when absent. */
  expiration?: number | undefined
}

/** `startSession`. */
export interface StartSessionParams {
  /** `audience|value …`, one audience. */
  scope: string
  /** The key to bind the session's tokens to. */
  key: ProofKey
  /** How long the session lasts, 5–60 minutes: its tokens can be refreshed until then. */
  sessionExpirationInMinutes: number
}
