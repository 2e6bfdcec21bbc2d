import type {
  ApiKeyContent,
  JwtContent,
  OAuthAccessTokenContent,
  OAuthClientContent,
  PasswordContent,
  SshKeyContent,
} from './secret-contents.js'

/**
 * What the PAM operations resolve with: the wire shapes of the IDaaS PAM developer API 2022-02-25
 * (docs/wire-contract.md, "Developer-API operations"), camelCase as on the wire, every time in epoch **milliseconds**.
 * Plain frozen objects, except the parts that hold a secret, which are `Redacted` objects
 * (`secret-contents.ts`): printing a result shows the ids and times and `[REDACTED]` for the secret.
 *
 * These types are the SDK's own rather than imported from `@strongroom/protocol`: the SDK's
 * declaration files must resolve for an application that installs only `@strongroom/sdk`. A type
 * test checks that the server's schemas stay assignable to them.
 */

/** A string union that still accepts values a newer server may add. */
type Open<T extends string> = T | (string & Record<never, never>)

export type AuthenticationTokenType = Open<'jwt' | 'oauth_access_token'>
export type ConsumerType = Open<'application' | 'custom'>

/** "Token T": a record of a token a credential provider minted. */
export interface AuthenticationToken {
  /** `atntkn_…` (IDaaS) or `at_…` (strongroom). */
  readonly authenticationTokenId: string
  readonly authenticationTokenType: AuthenticationTokenType
  readonly consumerId: string
  readonly consumerType: ConsumerType
  readonly creatorId: string
  readonly creatorType: Open<'application'>
  readonly credentialProviderId: string
  readonly instanceId: string
  readonly revoked: boolean
  /** Epoch milliseconds. */
  readonly createTime: number
  /** Epoch milliseconds. */
  readonly updateTime: number
  /** Epoch milliseconds. */
  readonly expirationTime: number
}

/** GenerateJwt, ObtainJwt and ObtainJwtByDerivedShortToken: the record and the JWT. */
export interface JwtAuthenticationToken extends AuthenticationToken {
  readonly jwtContent: JwtContent
}

/** Present when a user must authorize first (three-legged providers; strongroom has none yet). */
export interface OAuthAuthorizationSession {
  readonly authorizationUrl: string | undefined
  readonly sessionId: string | undefined
  readonly sessionStatus: string | undefined
  readonly sessionUri: string | undefined
}

/** FetchOAuthAuthenticationToken: the record and the upstream access token. */
export interface OAuthAuthenticationToken extends AuthenticationToken {
  /** Absent only while a user must still authorize (then `oauthAuthorizationSession` is set). */
  readonly oauthAccessTokenContent: OAuthAccessTokenContent | undefined
  readonly oauthAuthorizationSession: OAuthAuthorizationSession | undefined
}

/** One page of ListAuthenticationTokens. */
export interface AuthenticationTokenPage {
  readonly entities: readonly AuthenticationToken[]
  /** How many tokens match the filters, over all pages. */
  readonly totalCount: number
  /** Pass it back to get the next page; `null` on the last page. */
  readonly nextToken: string | null
  readonly maxResults: number
}

/** `credentialContent`: the member matching `credentialType` is set. */
export interface CredentialContent {
  readonly apiKeyContent: ApiKeyContent | undefined
  readonly oauthClientContent: OAuthClientContent | undefined
  /** strongroom extension. */
  readonly passwordContent: PasswordContent | undefined
  /** strongroom extension. */
  readonly sshKeyContent: SshKeyContent | undefined
}

/** ObtainCredential: the credential's metadata and its current value. */
export interface ObtainedCredential {
  readonly credentialId: string
  readonly credentialIdentifier: string
  readonly credentialName: string
  readonly credentialType: Open<'api_key' | 'oauth_client'>
  readonly status: Open<'enabled' | 'disabled'>
  readonly description: string | undefined
  readonly instanceId: string
  /** Epoch milliseconds. */
  readonly createTime: number
  /** Epoch milliseconds. */
  readonly updateTime: number
  readonly credentialContent: CredentialContent
  readonly credentialCreationType: string | undefined
  readonly credentialExternalId: string | undefined
  readonly credentialScenarioLabel: string | undefined
  readonly credentialSharingScope: string | undefined
  readonly credentialSubjectId: string | undefined
  readonly credentialSubjectType: string | undefined
  readonly exclusiveUserId: string | undefined
}
