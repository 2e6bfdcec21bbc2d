import { type Static, Type } from '@sinclair/typebox'
import { idOrIdentifier } from './identifiers.js'

// The authentication-token operations of the developer API (docs/wire-contract.md, "Developer-API
// operations"): tokens a workload has a credential provider mint (an upstream OAuth access token,
// or a JWT), and reads, validation, revocation and reinstatement of those recorded.

/** The official clients may add fields a version does not know: ignored, not refused. */
const open = { additionalProperties: true } as const
const ProviderRef = idOrIdentifier('atp', 'credential provider id (atp_…) or identifier')
const ConsumerId = Type.String({ minLength: 1, maxLength: 128 })
const TokenValue = Type.String({ minLength: 1, maxLength: 16_384 })
const TokenTypeHint = Type.String({ maxLength: 64 })

/** Token T: top level in the token responses and each item of a list; times in epoch milliseconds. */
export const AuthenticationToken = Type.Object({
  authenticationTokenId: Type.String(),
  authenticationTokenType: Type.Union([Type.Literal('jwt'), Type.Literal('oauth_access_token')]),
  consumerId: Type.String(),
  consumerType: Type.Union([Type.Literal('application'), Type.Literal('custom')]),
  creatorId: Type.String(),
  creatorType: Type.Literal('application'),
  credentialProviderId: Type.String(),
  instanceId: Type.String(),
  revoked: Type.Boolean(),
  createTime: Type.Integer(),
  updateTime: Type.Integer(),
  expirationTime: Type.Integer(),
})
export type AuthenticationToken = Static<typeof AuthenticationToken>

export const FetchOAuthTokenBody = Type.Object(
  {
    credentialProviderIdentifier: ProviderRef,
    scope: Type.Optional(Type.String({ maxLength: 256, pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E ]*$' })),
    customParameters: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.String({ maxLength: 1024 }), {
        maxProperties: 16,
      }),
    ),
    forceAuthentication: Type.Optional(Type.Boolean()),
  },
  open,
)
export type FetchOAuthTokenBody = Static<typeof FetchOAuthTokenBody>
export const OAuthTokenResult = Type.Composite([
  AuthenticationToken,
  Type.Object({
    oauthAccessTokenContent: Type.Object({
      accessTokenValue: Type.String(),
      scope: Type.String(),
      tokenType: Type.String(),
    }),
  }),
])
export type OAuthTokenResult = Static<typeof OAuthTokenResult>

export const GenerateJwtBody = Type.Object(
  {
    credentialProviderIdentifier: ProviderRef,
    subject: Type.String({ minLength: 1, maxLength: 256 }),
    audiences: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), {
      minItems: 1,
      maxItems: 16,
      uniqueItems: true,
    }),
    issuer: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    customClaims: Type.Optional(Type.Object({}, { additionalProperties: true, maxProperties: 64 })),
    /** A duration in seconds (docs/wire-contract.md), not a time. */
    expiration: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_592_000 })),
    includeDerivedShortToken: Type.Optional(Type.Boolean()),
  },
  open,
)
export type GenerateJwtBody = Static<typeof GenerateJwtBody>
export const JwtTokenResult = Type.Composite([
  AuthenticationToken,
  Type.Object({
    jwtContent: Type.Object({ jwtValue: Type.String(), derivedShortToken: Type.Optional(Type.String()) }),
  }),
])
export type JwtTokenResult = Static<typeof JwtTokenResult>

export const ObtainJwtBody = Type.Object(
  { consumerId: ConsumerId, authenticationTokenId: Type.String({ minLength: 1, maxLength: 64 }) },
  open,
)
export type ObtainJwtBody = Static<typeof ObtainJwtBody>
export const ObtainJwtByDerivedShortTokenBody = Type.Object(
  { derivedShortToken: Type.String({ minLength: 1, maxLength: 256 }) },
  open,
)
export type ObtainJwtByDerivedShortTokenBody = Static<typeof ObtainJwtByDerivedShortTokenBody>

export const ListAuthenticationTokensQuery = Type.Object(
  {
    consumerId: ConsumerId,
    credentialProviderIdentifier: ProviderRef,
    nextToken: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    revoked: Type.Optional(Type.Boolean()),
    expired: Type.Optional(Type.Boolean()),
  },
  open,
)
export type ListAuthenticationTokensQuery = Static<typeof ListAuthenticationTokensQuery>
export const AuthenticationTokenPage = Type.Object({
  entities: Type.Array(AuthenticationToken),
  totalCount: Type.Integer(),
  nextToken: Type.Union([Type.String(), Type.Null()]),
  maxResults: Type.Integer(),
})
export type AuthenticationTokenPage = Static<typeof AuthenticationTokenPage>

/** Validate, revoke and reinstate name a JWT or its derived short token. */
export const TokenActionBody = Type.Object(
  { token: TokenValue, token_type_hint: Type.Optional(TokenTypeHint) },
  open,
)
export type TokenActionBody = Static<typeof TokenActionBody>
export const ValidateResult = Type.Object({ active: Type.Boolean() })
export type ValidateResult = Static<typeof ValidateResult>
export const ConsumerActionBody = Type.Object(
  { consumerId: ConsumerId, credentialProviderIdentifier: ProviderRef },
  open,
)
export type ConsumerActionBody = Static<typeof ConsumerActionBody>
