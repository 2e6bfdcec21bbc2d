import { bindingKeyOf } from '../bound-tokens/binding-key.js'
import { boundRequestHeaders } from '../bound-tokens/bound-request-headers.js'
import { parseScopedToken, parseSessionToken } from '../bound-tokens/parse-bound-token.js'
import type { ScopedToken, SessionToken } from '../bound-tokens/scoped-token.js'
import { AlibabaCloudCredential } from '../cloud/alibaba-cloud-credential.js'
import { AwsCredentialIdentity, type AwsCredentialProvider } from '../cloud/aws-credential-provider.js'
import {
  type CloudCredentialOptions,
  checkCloudCredentialArguments,
  type GetCloudCredentialsOptions,
} from '../cloud/cloud-credential-options.js'
import type {
  AlibabaCloudStsCredentials,
  AwsStsCredentials,
  CloudCredentials,
  CloudVendor,
} from '../cloud/cloud-credentials.js'
import { CloudCredentialsCache } from '../cloud/cloud-credentials-cache.js'
import { parseCloudCredentials } from '../cloud/parse-cloud-credentials.js'
import type { ClientConfig } from '../config/client-config.js'
import { ServerError, ValidationError } from '../errors.js'
import { invalidArgument } from '../http/invalid-argument.js'
import type { ProofKey } from '../proof/proof-key.js'
import type { AccountSummary, ObtainedPassword, SshKey } from './account-results.js'
import { AccountsCache, type GetAccountsOptions } from './accounts-cache.js'
import { BearerTokenSource } from './bearer-token-source.js'
import { fromClientConfigOptions, type PamClientConfigOptions } from './from-client-config.js'
import { pagesOf } from './paginate.js'
import { type PamClientOptions, resolvePamClientOptions } from './pam-client-options.js'
import type {
  AccountCallOptions,
  CallOptions,
  ConsumerTokensParams,
  FetchOAuthAuthenticationTokenParams,
  GenerateJwtAuthenticationTokenParams,
  GetScopedTokenParams,
  GetSshKeyOptions,
  ListAuthenticationTokensParams,
  ObtainJwtAuthenticationTokenParams,
  StartSessionParams,
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
import { parseAccountSummaryPage, parseObtainedPassword, parseSshKey } from './parse-account-results.js'
import {
  parseAuthenticationTokenPage,
  parseJwtAuthenticationToken,
  parseOAuthAuthenticationToken,
  parseObtainedCredential,
  parseValidateResult,
} from './parse-results.js'

/** The largest page ListAccounts serves: the fewest requests for the whole list. */
const ACCOUNTS_PAGE_SIZE = 100
/** `getAccounts()` holds the whole list: at most this many pages (100,000 accounts), or a `ServerError`. */
const MAX_ACCOUNT_PAGES = 1_000
/**
 * `listAuthenticationTokenPages` and `listAllAuthenticationTokens` follow at most this many pages
 * (10 million tokens at the largest page size), then reject with a `ServerError`: a server that
 * answered a few empty pages, then one token, then empty pages again, for ever, would otherwise
 * be followed for ever (the rule of 100 empty pages in a row never applies to it).
 */
export const MAX_AUTHENTICATION_TOKEN_PAGES = 100_000

/**
 * The client of the IDaaS PAM developer API 2022-02-25, against Alibaba Cloud IDaaS or a
 * strongroom server, and of strongroom's own operations (privileged accounts, key-bound tokens).
 * One per process is enough: it caches its access token (one token request however many calls
 * start at once) and pools connections. Every operation takes an `AbortSignal` and rejects with a
 * `PamError` subclass carrying `status`, `serverCode` and `requestId`.
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
  readonly #accounts: AccountsCache
  readonly #cloud: CloudCredentialsCache

  constructor(options: PamClientOptions) {
    const resolved = resolvePamClientOptions(options)
    this.instanceId = resolved.instanceId
    this.endpoint = resolved.endpoint
    const tokens = new BearerTokenSource(resolved.credentials, options.tokenCache)
    this.#transport = new PamTransport(resolved.http, tokens, resolved.endpoint, resolved.instanceId)
    this.#accounts = new AccountsCache((signal) => this.#listAccounts(signal), options.accountsCache)
    this.#cloud = new CloudCredentialsCache(
      (role, durationSeconds, signal) => this.#obtainCloudCredentials(role, durationSeconds, signal),
      options.cloudCredentialsCache,
    )
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
    const body = await this.#transport.call('FetchOAuthAuthenticationToken', fields, options, {
      idempotent: forceAuthentication !== true,
    })
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
   * A listing that does not end is a `ServerError`: past `MAX_AUTHENTICATION_TOKEN_PAGES` (100,000)
   * pages, after 100 empty pages in a row that each point to another, or at a `nextToken`
   * answered before. Each page is yielded as it arrives, before any of these is known.
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
    return pagesOf(
      'ListAuthenticationTokens',
      (page) => this.listAuthenticationTokens(page, options),
      params,
      MAX_AUTHENTICATION_TOKEN_PAGES,
    )
  }

  /**
   * Every token of every page of {@link listAuthenticationTokens}, one at a time; a listing that
   * does not end is a `ServerError` as in {@link listAuthenticationTokenPages} (at most
   * `MAX_AUTHENTICATION_TOKEN_PAGES`, 100,000 pages).
   */
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
   * The current password of a privileged account (strongroom: ObtainPassword), by its name
   * `TARGET/account`. Rejects with `AccountNotFoundError`, `PasswordNotSetError`,
   * `ReasonRequiredError` (the account wants a `reason`), `AccountDisabledError` or a
   * `PermissionError` (no `account:obtain` scope or grant).
   *
   * @example
   * ```ts
   * const password = await pam.getPassword('DB-SERVER/admin', { reason: 'INC-4711 failover' })
   * ```
   */
  async getPassword(accountName: string, options: AccountCallOptions = {}): Promise<string> {
    return (await this.obtainPassword(accountName, options)).password
  }

  /** The password with the account's id, name and secrets version; it prints as `[REDACTED]`. */
  async obtainPassword(accountName: string, options: AccountCallOptions = {}): Promise<ObtainedPassword> {
    const body = await this.#transport.call(
      'ObtainPassword',
      { accountName, reason: options.reason },
      options,
    )
    return parseObtainedPassword('ObtainPassword', body)
  }

  /**
   * The SSH private key of a privileged account (strongroom: ObtainSshKey): as stored, with its
   * passphrase, or with `decrypt: true` unencrypted, as PKCS#8 PEM or (`format: 'openssh'`) as an
   * OpenSSH key, which every `ssh -i` reads. `key` and `passphrase` are getters and print as
   * `[REDACTED]`; the public key, fingerprint and file name are plain (the file name is a plain
   * name or null: a `fileName` answered empty, starting with `.` or holding a folder or a control
   * character is left out, so writing the key under it stays in the folder you choose and is no
   * hidden file such as `.bashrc`). Write it into a folder of your own, not the working or
   * home folder, and with `flag: 'wx'`, so that no file already there is replaced. Rejects as
   * {@link getPassword} does, with `SshKeyNotSetError` for an account without a key and
   * `SshKeyNotSupportedError` for a `decrypt` the server cannot do; `format` without `decrypt: true`
   * is a `TypeError`.
   *
   * @example
   * ```ts
   * const sshKey = await pam.getSshKey('web-01/deploy', { decrypt: true, format: 'openssh' })
   * // keysDir: a folder only you can write (0700); 'wx' fails rather than replace a file there.
   * await writeFile(join(keysDir, sshKey.fileName ?? 'id_key'), sshKey.key, { mode: 0o600, flag: 'wx' })
   * ```
   */
  async getSshKey(accountName: string, options: GetSshKeyOptions = {}): Promise<SshKey> {
    const { decrypt, format } = options
    if (format !== undefined && decrypt !== true)
      throw invalidArgument('format applies only to a decrypted key: give decrypt: true with it')
    const fields = { accountName, reason: options.reason, decrypt, format }
    const body = await this.#transport.call('ObtainSshKey', fields, options)
    const sshKey = parseSshKey('ObtainSshKey', body)
    // A server that predates `format` ignores it and answers PEM, which `ssh -i` may not read.
    if (format !== undefined && sshKey.format !== format)
      throw new ServerError(
        `ObtainSshKey answered a ${sshKey.format ?? 'stored'} key where ${format} was asked: the server does not support format`,
      )
    return sshKey
  }

  /**
   * Every account the application may see (strongroom: ListAccounts, all pages), without secrets.
   * Kept for `accountsCache.ttlSeconds` (default 300 s): calls within it make no request, calls
   * made while a listing is under way share it, a failure is not kept, and `forceRefresh` lists
   * afresh. Needs the `account:read` or `account:obtain` scope.
   *
   * @example
   * ```ts
   * const accounts = await pam.getAccounts()
   * const withKeys = accounts.filter((a) => a.hasKey).map((a) => a.name)
   * ```
   */
  getAccounts(options: GetAccountsOptions = {}): Promise<readonly AccountSummary[]> {
    return this.#accounts.get(options)
  }

  /**
   * A cloud role's short-lived STS credentials (ObtainCloudAccountRoleAccessCredential), by the
   * role's ARN: `acs:ram::<uid>:role/<name>` (Alibaba Cloud) or `arn:aws:iam::<account>:role/<name>`
   * (AWS). Narrow on `vendor`: an `AlibabaCloudStsCredentials` (`accessKeySecret`, `securityToken`)
   * or an `AwsStsCredentials` (`secretAccessKey`, `sessionToken`), both with `accessKeyId`,
   * `expiration` (a `Date`) and `expiresAt` (epoch seconds); the secrets print as `[REDACTED]`.
   *
   * Cached per role and `durationSeconds` (900–43200; the role's default when absent): calls answer
   * from memory until less than 15 minutes are left, then one call starts a background refresh
   * (the held credentials are still served) and callers wait only when none are usable. Calls made
   * while a fetch is under way share it; a failure is not kept. Needs the
   * `cloud_account_role:obtain_access_credential` scope (`.all`, the SDK's default, includes it) and
   * an `obtain` grant on the role. Rejects with `CloudAccountRoleNotFoundError`,
   * `CloudAccountRoleDisabledError`, `CloudAccountDisabledError`, a `PermissionError`
   * (`InsufficientScope`, `PermissionDenied`), a `ValidationError`
   * (`InvalidParameter.DurationSeconds`: above the role's maximum) or a `ServerError` (`StsRefused`,
   * `StsUnavailable`, `StsThrottled`, `StsTimeout`: the cloud's STS failed); a `durationSeconds`
   * out of range is a `TypeError` before any request.
   *
   * @example
   * ```ts
   * const credentials = await pam.getCloudCredentials('arn:aws:iam::123456789012:role/deployer')
   * if (credentials.vendor === 'aws') process.env.AWS_SESSION_TOKEN = credentials.sessionToken
   * ```
   */
  getCloudCredentials(
    roleExternalId: string,
    options: GetCloudCredentialsOptions = {},
  ): Promise<CloudCredentials> {
    try {
      checkCloudCredentialArguments(roleExternalId, options)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#cloud.get(roleExternalId, options)
  }

  /**
   * An Alibaba Cloud credential for a role (`acs:ram::<uid>:role/<name>`): pass it as the
   * `credential` of any Alibaba Cloud SDK client. It answers `getCredential()` (type `sts`) and the
   * older getters from {@link getCloudCredentials}'s cache, so it stays valid for as long as the
   * client is open. A role of another vendor rejects with a `ValidationError`
   * (`field: 'roleExternalId'`) at the first call.
   *
   * @example
   * ```ts
   * const credential = pam.alibabaCloudCredential('acs:ram::1234567890123456:role/deployer')
   * const ecs = new Ecs(new $OpenApi.Config({ credential, endpoint: 'ecs.cn-hangzhou.aliyuncs.com' }))
   * ```
   */
  alibabaCloudCredential(
    roleExternalId: string,
    options: CloudCredentialOptions = {},
  ): AlibabaCloudCredential {
    checkCloudCredentialArguments(roleExternalId, options)
    const call = { durationSeconds: options.durationSeconds, signal: options.signal }
    return new AlibabaCloudCredential(roleExternalId, async () =>
      ofVendor('alibaba_cloud', roleExternalId, await this.#cloud.get(roleExternalId, call)),
    )
  }

  /**
   * An AWS SDK v3 credential provider for a role (`arn:aws:iam::<account>:role/<name>`): pass it as
   * the `credentials` of any AWS SDK client. Each call answers from {@link getCloudCredentials}'s
   * cache; the AWS SDK calls again as the credentials near their `expiration`. A role of another
   * vendor rejects with a `ValidationError` (`field: 'roleExternalId'`).
   *
   * @example
   * ```ts
   * const s3 = new S3Client({ region: 'eu-west-1', credentials: pam.awsCredentialProvider('arn:aws:iam::123456789012:role/deployer') })
   * ```
   */
  awsCredentialProvider(roleExternalId: string, options: CloudCredentialOptions = {}): AwsCredentialProvider {
    checkCloudCredentialArguments(roleExternalId, options)
    const call = { durationSeconds: options.durationSeconds, signal: options.signal }
    return async () =>
      new AwsCredentialIdentity(ofVendor('aws', roleExternalId, await this.#cloud.get(roleExternalId, call)))
  }

  /**
   * A short-lived access token bound to `key` (strongroom: IssueScopedToken; RFC 9449 §6), with the
   * scope asked for narrowed to what the application may have. Present it with a fresh proof per
   * request (`boundRequestHeaders`, `boundFetch`): without the private key it is useless. Not
   * retried after a reset connection: a repeat would mint a second token.
   *
   * @example
   * ```ts
   * const key = await createProofKey()
   * const token = await pam.getScopedToken({ scope: 'urn:cloud:idaas:pam|account:read', key, expiration: 300 })
   * const response = await boundFetch(token, key)(`${pam.endpoint}/v2/${pam.instanceId}/accounts`)
   * ```
   */
  async getScopedToken(params: GetScopedTokenParams, options: CallOptions = {}): Promise<ScopedToken> {
    const { scope, key, expiration } = params
    const fields = { scope, publicKey: bindingKeyOf(key), expiration }
    const body = await this.#transport.call('IssueScopedToken', fields, options)
    return parseScopedToken('IssueScopedToken', body, key)
  }

  /**
   * Starts a session (strongroom: IssueSessionToken): a token bound to `key`, like
   * {@link getScopedToken}, that {@link refreshSessionToken} renews until the session ends
   * (`sessionExpirationInMinutes`, 5–60) with no client credentials, only the key.
   *
   * @example
   * ```ts
   * let session = await pam.startSession({ scope: 'urn:cloud:idaas:pam|account:obtain', key, sessionExpirationInMinutes: 30 })
   * session = await pam.refreshSessionToken(session, key)
   * ```
   */
  async startSession(params: StartSessionParams, options: CallOptions = {}): Promise<SessionToken> {
    const { scope, key, sessionExpirationInMinutes } = params
    const fields = { scope, publicKey: bindingKeyOf(key), sessionExpirationInMinutes }
    const body = await this.#transport.call('IssueSessionToken', fields, options)
    return parseSessionToken('IssueSessionToken', body, key)
  }

  /**
   * A new token for the same session (strongroom: RefreshSessionToken). Sent without the bearer
   * token: `Authorization: DPoP <session token>` and a proof signed by `key` authenticate it, a new
   * proof for each attempt. Rejects with `SessionExpiredError`, `SessionRevokedError`,
   * `SessionNotFoundError`, or `ProofRejectedError` (`reason: 'ProofKeyMismatch'` for another key).
   */
  async refreshSessionToken(
    session: SessionToken,
    key: ProofKey,
    options: CallOptions = {},
  ): Promise<SessionToken> {
    const body = await this.#transport.call('RefreshSessionToken', {}, options, {
      attemptHeaders: this.#sessionHeaders('RefreshSessionToken', session, key),
    })
    return parseSessionToken('RefreshSessionToken', body, key)
  }

  /**
   * Ends a session before its time (strongroom: RevokeSessionToken): its tokens are refused from
   * then on and it can no longer be refreshed. Authenticated like {@link refreshSessionToken}, by
   * a token of the session and a proof of its key. Idempotent.
   */
  async revokeSession(session: SessionToken, key: ProofKey, options: CallOptions = {}): Promise<void> {
    await this.#transport.call('RevokeSessionToken', {}, options, {
      attemptHeaders: this.#sessionHeaders('RevokeSessionToken', session, key),
    })
  }

  /**
   * Closes the token cache (its timers stop, its token is forgotten) and the HTTP client (its idle
   * connections are released; this also applies to an HTTP client passed in `options.http`). Calls
   * made afterwards reject with an `AbortError`. Idempotent.
   */
  close(): Promise<void> {
    this.#accounts.close()
    this.#cloud.close()
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

  /** `Authorization: DPoP <session token>` and a new proof of `key`, for each attempt of `action`. */
  #sessionHeaders(
    action: 'RefreshSessionToken' | 'RevokeSessionToken',
    session: SessionToken,
    key: ProofKey,
  ): () => Promise<Readonly<Record<string, string>>> {
    const url = this.#transport.url(action)
    return async () => ({ ...(await boundRequestHeaders(session, key, { method: 'POST', url })) })
  }

  async #obtainCloudCredentials(
    cloudAccountRoleExternalId: string,
    durationSeconds: number | undefined,
    signal: AbortSignal,
  ): Promise<CloudCredentials> {
    const action = 'ObtainCloudAccountRoleAccessCredential'
    const body = await this.#transport.call(
      action,
      { cloudAccountRoleExternalId, durationSeconds },
      { signal },
    )
    const credentials = parseCloudCredentials(action, body)
    // Cached under the role asked for and handed out for hours: an answer about another role (a
    // server bug, a proxy mixing answers up) must not pass as this one's.
    const answered = credentials.cloudAccountRoleExternalId
    if (answered !== '' && answered !== cloudAccountRoleExternalId) {
      throw new ServerError(`${action} answered the credentials of another role than the one asked for`)
    }
    return credentials
  }

  async #listAccounts(signal: AbortSignal): Promise<readonly AccountSummary[]> {
    const accounts: AccountSummary[] = []
    const list = async (query: { nextToken?: string | null }) => {
      const page = parseAccountSummaryPage(
        'ListAccounts',
        await this.#transport.call('ListAccounts', { ...query, maxResults: ACCOUNTS_PAGE_SIZE }, { signal }),
      )
      if (page.entities.length > ACCOUNTS_PAGE_SIZE) {
        throw new ServerError(`ListAccounts answered more than the ${ACCOUNTS_PAGE_SIZE} accounts asked for`)
      }
      return page
    }
    for await (const page of pagesOf('ListAccounts', list, {}, MAX_ACCOUNT_PAGES))
      accounts.push(...page.entities)
    return Object.freeze(accounts)
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

/** The credentials when they are of `vendor`; a role of another vendor is the caller's mistake. */
function ofVendor(
  vendor: 'alibaba_cloud',
  role: string,
  credentials: CloudCredentials,
): AlibabaCloudStsCredentials
function ofVendor(vendor: 'aws', role: string, credentials: CloudCredentials): AwsStsCredentials
function ofVendor(vendor: CloudVendor, role: string, credentials: CloudCredentials): CloudCredentials {
  if (credentials.vendor === vendor) return credentials
  const use = credentials.vendor === 'aws' ? 'awsCredentialProvider()' : 'alibabaCloudCredential()'
  throw new ValidationError(`role ${role} is a role of ${credentials.vendor}, not ${vendor}: use ${use}`, {
    field: 'roleExternalId',
  })
}
