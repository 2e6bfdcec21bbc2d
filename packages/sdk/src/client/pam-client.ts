import type { ClientConfig } from '../config/client-config.js'
import { ValidationError } from '../errors.js'
import { BearerTokenSource } from './bearer-token-source.js'
import { fromClientConfigOptions, type PamClientConfigOptions } from './from-client-config.js'
import { pagesOf } from './paginate.js'
import { type PamClientOptions, resolvePamClientOptions } from './pam-client-options.js'
import type {
  CallOptions,
  ConsumerTokensParams,
  FetchOAuthAuthenticationTokenParams,
  GenerateJwtAuthenticationTokenParams,
  ListAuthenticationTokensParams,
  ObtainJwtAuthenticationTokenParams,
  TokenCallOptions,
} from './pam-client-params.js'
import type {
  AuthenticationToken,
  AuthenticationTokenPage,
  JwtAuthenticationToken,
  OAuthAuthenticationToken,
  ObtainedCredential,
} from './pam-results.js'
import { PamTransport } from './pam-transport.js'
import {
  parseAuthenticationTokenPage,
  parseJwtAuthenticationToken,
  parseOAuthAuthenticationToken,
  parseObtainedCredential,
  parseValidateResult,
} from './parse-results.js'

/**
 * The client of the IDaaS PAM developer API 2022-02-25, against Alibaba Cloud IDaaS or a
 * strongroom server. One per process is enough: it caches its access token (one token request
 * however many calls start at once) and pools connections. Every operation takes an `AbortSignal`
 * and rejects with a `PamError` subclass carrying `status`, `serverCode` and `requestId`.
 * Results that carry a secret print it as `[REDACTED]` (`util.inspect`, `JSON.stringify`); read
 * it as a property.
 *
 * @example
 * ```ts
 * await using pam = new PamClient({
 *   credentials: fromClientSecret({ clientId, tokenEndpoint, clientSecretEnvVarName: 'IDAAS_CLIENT_SECRET', call }),
 *   instanceId: 'idaas_…',
 *   endpoint: 'https://eiam-developerapi.cn-hangzhou.aliyuncs.com',
 * })
 * const apiKey = await pam.getApiKey('payments/stripe', { signal: AbortSignal.timeout(10_000) })
 * ```
 */
export class PamClient implements AsyncDisposable {
  /** The instance every path names. */
  readonly instanceId: string
  /** The developer API's base URL, normalised (no trailing slash). */
  readonly endpoint: string
  readonly #transport: PamTransport

  constructor(options: PamClientOptions) {
    const resolved = resolvePamClientOptions(options)
    this.instanceId = resolved.instanceId
    this.endpoint = resolved.endpoint
    const tokens = new BearerTokenSource(resolved.credentials, options.tokenCache)
    this.#transport = new PamTransport(resolved.http, tokens, resolved.endpoint, resolved.instanceId)
  }

  /**
   * A client for the instance and developer API a client configuration (`loadClientConfig()`)
   * names, with its `httpConfiguration` timeouts.
   *
   * @example
   * ```ts
   * const config = await loadClientConfig()
   * const pam = PamClient.fromClientConfig(config, { credentials })
   * ```
   */
  static fromClientConfig(config: ClientConfig, options: PamClientConfigOptions): PamClient {
    return new PamClient(fromClientConfigOptions(config, options))
  }

  /**
   * The API key of an `api_key` credential (ObtainCredential). Rejects with a `ValidationError`
   * when the credential holds no API key (e.g. an `oauth_client`: use {@link obtainCredential}).
   * Python: `get_api_key`, which returned `None` in that case.
   */
  async getApiKey(credentialIdentifier: string, options: CallOptions = {}): Promise<string> {
    const credential = await this.obtainCredential(credentialIdentifier, options)
    const content = credential.credentialContent.apiKeyContent
    if (content === undefined) {
      throw new ValidationError(
        `credential ${credential.credentialIdentifier} is of type ${credential.credentialType} and holds no API key; use obtainCredential()`,
        { field: 'credentialIdentifier' },
      )
    }
    return content.apiKey
  }

  /** The credential's metadata and current value, whatever its type (ObtainCredential). */
  async obtainCredential(
    credentialIdentifier: string,
    options: CallOptions = {},
  ): Promise<ObtainedCredential> {
    const body = await this.#transport.call('ObtainCredential', { credentialIdentifier }, options)
    return parseObtainedCredential('ObtainCredential', body)
  }

  /**
   * An access token for an upstream OAuth provider, fetched by the PAM with the client secret it
   * keeps (FetchOAuthAuthenticationToken). The token is in `oauthAccessTokenContent.accessTokenValue`.
   */
  async fetchOAuthAuthenticationToken(
    params: FetchOAuthAuthenticationTokenParams,
    options: CallOptions = {},
  ): Promise<OAuthAuthenticationToken> {
    const { credentialProviderIdentifier, scope, customParameters, forceAuthentication } = params
    const fields = { credentialProviderIdentifier, scope, customParameters, forceAuthentication }
    // A forced fetch mints a new upstream token: repeating it is not harmless.
    const body = await this.#transport.call(
      'FetchOAuthAuthenticationToken',
      fields,
      options,
      forceAuthentication !== true,
    )
    return parseOAuthAuthenticationToken('FetchOAuthAuthenticationToken', body)
  }

  /**
   * A JWT signed by a `jwt` credential provider (GenerateJwtAuthenticationToken), in
   * `jwtContent.jwtValue` (and `jwtContent.derivedShortToken` when asked for). Not retried after a
   * connection reset: a repeat would mint a second token.
   */
  async generateJwtAuthenticationToken(
    params: GenerateJwtAuthenticationTokenParams,
    options: CallOptions = {},
  ): Promise<JwtAuthenticationToken> {
    const { credentialProviderIdentifier, subject, audiences, issuer, customClaims, expiration } = params
    const fields = {
      credentialProviderIdentifier,
      subject,
      audiences,
      issuer,
      customClaims,
      expiration,
      includeDerivedShortToken: params.includeDerivedShortToken,
    }
    const body = await this.#transport.call('GenerateJwtAuthenticationToken', fields, options)
    return parseJwtAuthenticationToken('GenerateJwtAuthenticationToken', body)
  }

  /** A JWT minted earlier, again, by its id (ObtainJwtAuthenticationToken). */
  async obtainJwtAuthenticationToken(
    params: ObtainJwtAuthenticationTokenParams,
    options: CallOptions = {},
  ): Promise<JwtAuthenticationToken> {
    const { consumerId, authenticationTokenId } = params
    const body = await this.#transport.call(
      'ObtainJwtAuthenticationToken',
      { consumerId, authenticationTokenId },
      options,
    )
    return parseJwtAuthenticationToken('ObtainJwtAuthenticationToken', body)
  }

  /**
   * The JWT an `sk-…` short token stands for (ObtainJwtAuthenticationTokenByDerivedShortToken).
   * Sends no `Authorization` header: the short token is the credential.
   */
  async obtainJwtAuthenticationTokenByDerivedShortToken(
    derivedShortToken: string,
    options: CallOptions = {},
  ): Promise<JwtAuthenticationToken> {
    const body = await this.#transport.call(
      'ObtainJwtAuthenticationTokenByDerivedShortToken',
      { derivedShortToken },
      options,
    )
    return parseJwtAuthenticationToken('ObtainJwtAuthenticationTokenByDerivedShortToken', body)
  }

  /** One page of a consumer's tokens from one provider, in creation order (ListAuthenticationTokens). */
  async listAuthenticationTokens(
    params: ListAuthenticationTokensParams,
    options: CallOptions = {},
  ): Promise<AuthenticationTokenPage> {
    const { consumerId, credentialProviderIdentifier, maxResults, revoked, expired } = params
    const query = {
      consumerId,
      credentialProviderIdentifier,
      nextToken: params.nextToken ?? undefined,
      maxResults,
      revoked,
      expired,
    }
    const body = await this.#transport.call('ListAuthenticationTokens', query, options)
    return parseAuthenticationTokenPage('ListAuthenticationTokens', body)
  }

  /**
   * Every page of {@link listAuthenticationTokens}, from `params.nextToken` (or the first) on.
   *
   * @example
   * ```ts
   * for await (const page of pam.listAuthenticationTokenPages({ consumerId, credentialProviderIdentifier })) {
   *   for (const token of page.entities) console.log(token.authenticationTokenId)
   * }
   * ```
   */
  listAuthenticationTokenPages(
    params: ListAuthenticationTokensParams,
    options: CallOptions = {},
  ): AsyncGenerator<AuthenticationTokenPage, void, undefined> {
    return pagesOf((page) => this.listAuthenticationTokens(page, options), params)
  }

  /** Every token of every page of {@link listAuthenticationTokens}, one at a time. */
  async *listAllAuthenticationTokens(
    params: ListAuthenticationTokensParams,
    options: CallOptions = {},
  ): AsyncGenerator<AuthenticationToken, void, undefined> {
    for await (const page of this.listAuthenticationTokenPages(params, options)) yield* page.entities
  }

  /**
   * Whether a JWT (or its derived short token) is recorded, unrevoked, unexpired and verifies
   * (ValidateAuthenticationToken). Sends no `Authorization` header, as the official clients do.
   */
  async validateAuthenticationToken(token: string, options: TokenCallOptions = {}): Promise<boolean> {
    const fields = { token, token_type_hint: options.tokenTypeHint }
    const body = await this.#transport.call('ValidateAuthenticationToken', fields, options)
    return parseValidateResult('ValidateAuthenticationToken', body)
  }

  /** Revokes a JWT (or its derived short token); idempotent (RevokeAuthenticationToken). */
  async revokeAuthenticationToken(token: string, options: TokenCallOptions = {}): Promise<void> {
    await this.#transport.call(
      'RevokeAuthenticationToken',
      { token, token_type_hint: options.tokenTypeHint },
      options,
    )
  }

  /** Revokes every token of a consumer from a provider (RevokeAuthenticationTokenByConsumer). */
  async revokeAuthenticationTokenByConsumer(
    params: ConsumerTokensParams,
    options: CallOptions = {},
  ): Promise<void> {
    const { consumerId, credentialProviderIdentifier } = params
    await this.#transport.call(
      'RevokeAuthenticationTokenByConsumer',
      { consumerId, credentialProviderIdentifier },
      options,
    )
  }

  /** Undoes a revocation; an expired token stays inactive (ReinstateAuthenticationToken). */
  async reinstateAuthenticationToken(token: string, options: TokenCallOptions = {}): Promise<void> {
    await this.#transport.call(
      'ReinstateAuthenticationToken',
      { token, token_type_hint: options.tokenTypeHint },
      options,
    )
  }

  /** Reinstates every token of a consumer from a provider (ReinstateAuthenticationTokenByConsumer). */
  async reinstateAuthenticationTokenByConsumer(
    params: ConsumerTokensParams,
    options: CallOptions = {},
  ): Promise<void> {
    const { consumerId, credentialProviderIdentifier } = params
    await this.#transport.call(
      'ReinstateAuthenticationTokenByConsumer',
      { consumerId, credentialProviderIdentifier },
      options,
    )
  }

  /**
   * Closes the token cache (its timers stop, its token is forgotten) and the HTTP client (its idle
   * connections are released; this also applies to an HTTP client passed in `options.http`). Calls
   * made afterwards reject with an `AbortError`. Idempotent.
   */
  close(): Promise<void> {
    return this.#transport.close()
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** What `JSON.stringify` and `util.inspect` show: where it points and which provider it uses. */
  toJSON(): Record<string, unknown> {
    return {
      instanceId: this.instanceId,
      endpoint: this.endpoint,
      ...this.#transport.toJSON(),
    }
  }

  [Symbol.for('nodejs.util.inspect.custom')](
    _depth: number,
    options: unknown,
    inspect?: (value: unknown, options: unknown) => string,
  ): string {
    const shown = this.toJSON()
    return `PamClient ${inspect === undefined ? JSON.stringify(shown) : inspect(shown, options)}`
  }
}
