import { type Static, Type } from '@sinclair/typebox'
import { Description, EpochMillis, Name, PageQuery, page, resourceId, Status } from './common.js'
import { CredentialIdentifier } from './credentials.js'
import { InstanceId } from './instances.js'

const closed = { additionalProperties: false } as const

/** Credential providers: `atp_…` (docs/wire-contract.md, token T's `credentialProviderId`). */
export const CredentialProviderId = resourceId('atp')
/** Unique per instance; the developer API names a provider by it (or by its id). */
export const CredentialProviderIdentifier = CredentialIdentifier

export const PROVIDER_TYPES = ['oauth', 'jwt'] as const
export type ProviderType = (typeof PROVIDER_TYPES)[number]
export const PROVIDER_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const
export type ProviderAlgorithm = (typeof PROVIDER_ALGORITHMS)[number]
export const OAUTH_AUTH_METHODS = ['client_secret_post', 'client_secret_basic'] as const
export type OAuthAuthMethod = (typeof OAUTH_AUTH_METHODS)[number]

/** Audiences starting with it belong to IDaaS itself: a provider never mints tokens for them. */
export const RESERVED_AUDIENCE_PREFIX = 'urn:cloud:idaas'
/** Seconds: the longest a provider may let a JWT live (30 days). */
export const MAX_JWT_EXPIRATION_S = 2_592_000

const Seconds = Type.Integer({ minimum: 1, maximum: MAX_JWT_EXPIRATION_S, description: 'seconds' })
const Url = Type.String({ minLength: 1, maxLength: 2048 })
/** An upstream OAuth scope value list: space-separated, at most 256 characters (docs/wire-contract.md). */
export const OAuthScope = Type.String({ maxLength: 256, pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E ]*$' })
const Issuer = Type.String({ minLength: 1, maxLength: 1024 })
/** An audience, or a prefix pattern ending in `*` (`https://api.example.com/*`). */
const AudienceRule = Type.String({ minLength: 1, maxLength: 1024 })

const OAuthSettings = {
  /** The upstream token endpoint: https, or http on a loopback address. */
  tokenEndpoint: Url,
  clientId: Type.String({ minLength: 1, maxLength: 1024 }),
  authMethod: Type.Union(OAUTH_AUTH_METHODS.map((m) => Type.Literal(m))),
  /** Sent upstream when the caller names no scope. */
  defaultScope: OAuthScope,
}
const JwtSettings = {
  /** The `iss` of tokens that name none: the provider's own URL unless set. */
  issuer: Issuer,
  /** Issuers a caller may ask for besides the default; any other is refused. */
  allowedIssuers: Type.Array(Issuer, { maxItems: 32, uniqueItems: true }),
  /** When not empty, every requested audience must match one rule (exact, or prefix with a trailing `*`). */
  allowedAudiences: Type.Array(AudienceRule, { maxItems: 64, uniqueItems: true }),
  defaultExpiration: Seconds,
  maxExpiration: Seconds,
  /** Whether callers may ask for a derived short token (`sk-…`) with each JWT. */
  allowDerivedShortToken: Type.Boolean(),
}

export const CredentialProvider = Type.Object({
  credentialProviderId: CredentialProviderId,
  credentialProviderIdentifier: CredentialProviderIdentifier,
  credentialProviderName: Name,
  credentialProviderType: Type.Union(PROVIDER_TYPES.map((t) => Type.Literal(t))),
  status: Status,
  description: Description,
  instanceId: InstanceId,
  createTime: EpochMillis,
  updateTime: EpochMillis,
  /** oauth providers: the upstream settings; the client secret is never shown. */
  oauth: Type.Optional(Type.Object(OAuthSettings)),
  /** jwt providers: the signing key's public half is at `jwksUri`. */
  jwt: Type.Optional(
    Type.Object({
      ...JwtSettings,
      algorithm: Type.Union(PROVIDER_ALGORITHMS.map((a) => Type.Literal(a))),
      keyId: Type.String(),
      jwksUri: Type.String(),
    }),
  ),
})
export type CredentialProvider = Static<typeof CredentialProvider>

export const CreateCredentialProviderBody = Type.Object(
  {
    credentialProviderIdentifier: CredentialProviderIdentifier,
    credentialProviderName: Type.Optional(Name),
    credentialProviderType: CredentialProvider.properties.credentialProviderType,
    description: Type.Optional(Description),
    oauth: Type.Optional(
      Type.Object(
        {
          tokenEndpoint: OAuthSettings.tokenEndpoint,
          clientId: OAuthSettings.clientId,
          clientSecret: Type.String({ minLength: 1, maxLength: 8192 }),
          authMethod: Type.Optional(OAuthSettings.authMethod),
          defaultScope: Type.Optional(OAuthSettings.defaultScope),
        },
        closed,
      ),
    ),
    jwt: Type.Optional(
      Type.Object(
        {
          algorithm: Type.Optional(CredentialProvider.properties.jwt.properties.algorithm),
          issuer: Type.Optional(JwtSettings.issuer),
          allowedIssuers: Type.Optional(JwtSettings.allowedIssuers),
          allowedAudiences: Type.Optional(JwtSettings.allowedAudiences),
          defaultExpiration: Type.Optional(JwtSettings.defaultExpiration),
          maxExpiration: Type.Optional(JwtSettings.maxExpiration),
          allowDerivedShortToken: Type.Optional(JwtSettings.allowDerivedShortToken),
        },
        closed,
      ),
    ),
  },
  closed,
)
export type CreateCredentialProviderBody = Static<typeof CreateCredentialProviderBody>

export const UpdateCredentialProviderBody = Type.Object(
  {
    credentialProviderName: Type.Optional(Name),
    description: Type.Optional(Description),
    oauth: Type.Optional(
      Type.Object(
        {
          tokenEndpoint: Type.Optional(OAuthSettings.tokenEndpoint),
          clientId: Type.Optional(OAuthSettings.clientId),
          /** Required when `tokenEndpoint` moves to another origin: the kept secret never follows it. */
          clientSecret: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 8192,
              description:
                'replaces the client secret; required when tokenEndpoint moves to another origin (scheme, host or port)',
            }),
          ),
          authMethod: Type.Optional(OAuthSettings.authMethod),
          defaultScope: Type.Optional(OAuthSettings.defaultScope),
        },
        { ...closed, minProperties: 1 },
      ),
    ),
    jwt: Type.Optional(
      Type.Object(
        {
          /** null: back to the provider's own URL. */
          issuer: Type.Optional(Type.Union([JwtSettings.issuer, Type.Null()])),
          allowedIssuers: Type.Optional(JwtSettings.allowedIssuers),
          allowedAudiences: Type.Optional(JwtSettings.allowedAudiences),
          defaultExpiration: Type.Optional(JwtSettings.defaultExpiration),
          maxExpiration: Type.Optional(JwtSettings.maxExpiration),
          allowDerivedShortToken: Type.Optional(JwtSettings.allowDerivedShortToken),
        },
        { ...closed, minProperties: 1 },
      ),
    ),
  },
  { ...closed, minProperties: 1 },
)
export type UpdateCredentialProviderBody = Static<typeof UpdateCredentialProviderBody>

export const CredentialProviderListQuery = Type.Object(
  {
    ...PageQuery,
    credentialProviderType: Type.Optional(CredentialProvider.properties.credentialProviderType),
  },
  closed,
)
export type CredentialProviderListQuery = Static<typeof CredentialProviderListQuery>
export const CredentialProviderPage = page(CredentialProvider)
export type CredentialProviderPage = Static<typeof CredentialProviderPage>

// ---- a provider's authentication tokens, for administrators --------------------------------

export const ProviderTokenListQuery = Type.Object(
  {
    ...PageQuery,
    consumerId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    revoked: Type.Optional(Type.Boolean()),
    expired: Type.Optional(Type.Boolean()),
  },
  closed,
)
export type ProviderTokenListQuery = Static<typeof ProviderTokenListQuery>
/** Which of a provider's tokens to revoke or reinstate: one token, one consumer's, or (empty) all. */
export const ProviderTokensSelection = Type.Object(
  {
    consumerId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    authenticationTokenId: Type.Optional(Type.String({ pattern: '^atntkn_[0-9a-z]{26}$', maxLength: 33 })),
  },
  closed,
)
export type ProviderTokensSelection = Static<typeof ProviderTokensSelection>
export const ProviderTokensChanged = Type.Object({ changed: Type.Integer({ minimum: 0 }) })
export type ProviderTokensChanged = Static<typeof ProviderTokensChanged>
