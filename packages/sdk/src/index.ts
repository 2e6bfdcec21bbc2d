/**
 * @strongroom/sdk — the TypeScript client for strongroom, wire-compatible with the Alibaba Cloud
 * IDaaS PAM developer API 2022-02-25: the same code runs against IDaaS and against strongroom,
 * from the same client configuration file.
 *
 * @example
 * ```ts
 * import { createPamClient } from '@strongroom/sdk'
 * await using pam = await createPamClient() // reads the IDaaS client configuration
 * const apiKey = await pam.getApiKey('my-credential')
 * ```
 */

export {
  AccountDisabledError,
  AccountNotFoundError,
  PasswordNotSetError,
  ReasonRequiredError,
  SshKeyNotSetError,
  SshKeyNotSupportedError,
} from './account-errors.js'
export {
  ProofRejectedError,
  type ProofRejectionReason,
  SessionExpiredError,
  SessionNotFoundError,
  SessionRevokedError,
} from './bound-token-errors.js'
export { type BoundFetch, type BoundFetchOptions, boundFetch } from './bound-tokens/bound-fetch.js'
export {
  type BoundRequest,
  type BoundRequestHeaders,
  type BoundTokenInput,
  boundRequestHeaders,
} from './bound-tokens/bound-request-headers.js'
export {
  ScopedToken,
  type ScopedTokenFields,
  SessionToken,
  type SessionTokenFields,
} from './bound-tokens/scoped-token.js'
export {
  type AccountSummary,
  ObtainedPassword,
  SshKey,
  type SshKeyFacts,
} from './client/account-results.js'
export type { AccountsCacheOptions, GetAccountsOptions } from './client/accounts-cache.js'
export type { PamTokenCacheOptions } from './client/bearer-token-source.js'
export type { PamClientConfigOptions } from './client/from-client-config.js'
export { PamClient } from './client/pam-client.js'
export type { PamClientOptions } from './client/pam-client-options.js'
export type {
  AccountCallOptions,
  CallOptions,
  ConsumerTokensParams,
  FetchOAuthAuthenticationTokenParams,
  GenerateJwtAuthenticationTokenParams,
  GetScopedTokenParams,
  GetSshKeyOptions,
  ListAuthenticationTokensParams,
  ObtainJwtAuthenticationTokenParams,
  SshKeyOutputFormat,
  StartSessionParams,
  TokenCallOptions,
} from './client/pam-client-params.js'
export { PAM_API_VERSION, type PamAction } from './client/pam-operations.js'
export type {
  AuthenticationToken,
  AuthenticationTokenPage,
  AuthenticationTokenType,
  ConsumerType,
  CredentialContent,
  JwtAuthenticationToken,
  OAuthAuthenticationToken,
  OAuthAuthorizationSession,
  ObtainedCredential,
} from './client/pam-results.js'
export {
  ApiKeyContent,
  JwtContent,
  OAuthAccessTokenContent,
  OAuthClientContent,
  PasswordContent,
  SshKeyContent,
} from './client/secret-contents.js'
export {
  ALIBABA_CLOUD_PROVIDER_NAME,
  AlibabaCloudCredential,
  AlibabaCloudCredentialModel,
  AlibabaCloudProviderCredentials,
} from './cloud/alibaba-cloud-credential.js'
export { AwsCredentialIdentity, type AwsCredentialProvider } from './cloud/aws-credential-provider.js'
export type { CloudCredentialOptions, GetCloudCredentialsOptions } from './cloud/cloud-credential-options.js'
export {
  AlibabaCloudStsCredentials,
  AwsStsCredentials,
  type CloudCredentialFacts,
  type CloudCredentials,
  type CloudVendor,
} from './cloud/cloud-credentials.js'
export type { CloudCredentialsCacheOptions } from './cloud/cloud-credentials-cache.js'
export {
  CloudAccountDisabledError,
  CloudAccountRoleDisabledError,
  CloudAccountRoleNotFoundError,
} from './cloud-errors.js'
export type {
  AuthnConfiguration,
  AuthnMethod,
  ClientConfig,
  HttpConfiguration,
  IdentityType,
} from './config/client-config.js'
export { CONFIG_PATH_ENV } from './config/config-location.js'
export { type LoadClientConfigOptions, loadClientConfig } from './config/load-client-config.js'
export { parseClientConfig } from './config/parse-client-config.js'
export { type CreatePamClientOptions, createPamClient } from './create-pam-client.js'
export {
  type AssertionContext,
  type ClientAuthentication,
  clientSecretBasic,
  clientSecretJwt,
  clientSecretPost,
  idTokenBearer,
  privateKeyJwt,
} from './credentials/client-authentication.js'
export type {
  CredentialProvider,
  GetTokenOptions,
  SecretSource,
  TokenEndpointCall,
  TokenEndpointOptions,
} from './credentials/credential-provider.js'
export { type FromClientConfigOptions, fromClientConfig } from './credentials/from-client-config.js'
export { type FromClientSecretOptions, fromClientSecret } from './credentials/from-client-secret.js'
export { type FromClientSecretJwtOptions, fromClientSecretJwt } from './credentials/from-client-secret-jwt.js'
export {
  CREDENTIAL_ENV,
  type FromDefaultChainOptions,
  fromDefaultChain,
} from './credentials/from-default-chain.js'
export { type FromOidcTokenFileOptions, fromOidcTokenFile } from './credentials/from-oidc-token-file.js'
export { type FromPrivateKeyJwtOptions, fromPrivateKeyJwt } from './credentials/from-private-key-jwt.js'
export { type FromStaticOptions, fromStatic } from './credentials/from-static.js'
export {
  type FromTokenExchangeOptions,
  fromTokenExchange,
  TOKEN_TYPE,
  type TokenSource,
} from './credentials/from-token-exchange.js'
export { tokenEndpointCall } from './credentials/token-endpoint-call.js'
export {
  AuthenticationError,
  CircuitOpenError,
  ConfigurationError,
  ConnectionError,
  CredentialProviderError,
  NotFoundError,
  PamError,
  type PamErrorCode,
  type PamErrorOptions,
  PermissionError,
  RateLimitError,
  ServerError,
  TimeoutError,
  ValidationError,
} from './errors.js'
export type { HttpMethod, RequestOptions } from './http/build-request.js'
export type { CircuitBreakerOptions } from './http/circuit-breaker.js'
export type { HttpClientOptions } from './http/client-options.js'
export type { FetchLike } from './http/fetch-like.js'
export { createHttpClient, type HttpClient } from './http/http-client.js'
export type { RetryPolicy } from './http/retry-policy.js'
export { type CreateProofOptions, createProof } from './proof/create-proof.js'
export {
  MemoryReplayCache,
  type MemoryReplayCacheOptions,
  type ReplayCheck,
} from './proof/memory-replay-cache.js'
export {
  PROOF_ERROR_REASONS,
  ProofError,
  type ProofErrorReason,
  type ProofOAuthError,
} from './proof/proof-error.js'
export {
  createProofKey,
  type ImportProofKeyOptions,
  importProofKey,
  type ProofAlgorithm,
  ProofKey,
  type PublicProofJwk,
} from './proof/proof-key.js'
export {
  type BoundTokenRequest,
  type VerifiedBoundToken,
  type VerifyBoundTokenOptions,
  verifyBoundToken,
} from './proof/verify-bound-token.js'
export type { AccessToken } from './token-cache/access-token.js'
export { SDK_VERSION } from './version.js'
