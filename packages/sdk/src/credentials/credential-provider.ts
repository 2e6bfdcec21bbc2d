import type { AccessToken } from '../token-cache/access-token.js'

export interface GetTokenOptions {
  signal?: AbortSignal | undefined
}

/**
 * Something that gives access tokens for the PAM API: a client secret, a signed assertion, a
 * federated OIDC token, a token exchange, or a fixed token. Each call may reach the token
 * endpoint: the client wraps providers in a token cache.
 */
export interface CredentialProvider {
  /** Names the provider in errors and in a chain's report: `fromClientSecret`, … */
  readonly name: string
  /**
   * False for a provider whose tokens must not be cached (a token exchange, unless asked), so
   * the client calls it for every request.
   */
  readonly cacheable: boolean
  getToken(options?: GetTokenOptions): Promise<AccessToken>
}

/**
 * Sends a form to the token endpoint and returns its parsed JSON body, or throws a `PamError`
 * (the HTTP layer maps OAuth error bodies). The seam between the providers and the transport.
 */
export type TokenEndpointCall = (
  form: URLSearchParams,
  headers: Record<string, string>,
  signal?: AbortSignal,
) => Promise<unknown>

/** What every provider that talks to a token endpoint needs. */
export interface TokenEndpointOptions {
  clientId: string
  tokenEndpoint: string
  /** IDaaS form: `audience|value …` (default `urn:cloud:idaas:pam|.all`). */
  scope?: string | undefined
  call: TokenEndpointCall
  /** Epoch milliseconds; injectable for tests. */
  now?: (() => number) | undefined
}

/** A secret given directly, or read when needed (from the environment, a vault, …). */
export type SecretSource = string | (() => string | Promise<string>)
