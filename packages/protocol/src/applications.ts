import { type Static, Type } from '@sinclair/typebox'
import { Description, EpochMillis, ExpiresIn, Name, page, resourceId, Status } from './common.js'
import { InstanceId } from './instances.js'

const closed = { additionalProperties: false } as const

export const ApplicationId = resourceId('app')
export const ClientSecretId = resourceId('cs')

/** An IDaaS scope string, `audience|value` (e.g. `urn:cloud:idaas:pam|credential:obtain`). */
export const ScopeString = Type.String({
  minLength: 3,
  maxLength: 256,
  pattern: '^[\\x21-\\x7b\\x7d\\x7e]+\\|[\\x21-\\x7b\\x7d\\x7e]+$',
})
/** Seconds an access token lives: one minute to one day. */
export const AccessTokenLifetime = Type.Integer({ minimum: 60, maximum: 86_400, description: 'seconds' })

export const Application = Type.Object({
  applicationId: ApplicationId,
  clientId: Type.String(),
  instanceId: InstanceId,
  name: Name,
  description: Description,
  status: Status,
  /** What the application may ask the token endpoint for. Empty: nothing (deny by default). */
  allowedScopes: Type.Array(ScopeString),
  accessTokenLifetime: AccessTokenLifetime,
  createTime: EpochMillis,
  updateTime: EpochMillis,
})
export type Application = Static<typeof Application>
const AllowedScopes = Type.Array(ScopeString, { maxItems: 64, uniqueItems: true })
export const CreateApplicationBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    allowedScopes: Type.Optional(AllowedScopes),
    accessTokenLifetime: Type.Optional(AccessTokenLifetime),
  },
  closed,
)
export type CreateApplicationBody = Static<typeof CreateApplicationBody>
export const UpdateApplicationBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    allowedScopes: Type.Optional(AllowedScopes),
    accessTokenLifetime: Type.Optional(AccessTokenLifetime),
  },
  { ...closed, minProperties: 1 },
)
export type UpdateApplicationBody = Static<typeof UpdateApplicationBody>
export const ApplicationPage = page(Application)
export type ApplicationPage = Static<typeof ApplicationPage>

export const ClientSecret = Type.Object({
  clientSecretId: ClientSecretId,
  applicationId: ApplicationId,
  hint: Type.String(),
  revoked: Type.Boolean(),
  createTime: EpochMillis,
  expirationTime: Type.Union([EpochMillis, Type.Null()]),
  lastUsedTime: Type.Union([EpochMillis, Type.Null()]),
})
export type ClientSecret = Static<typeof ClientSecret>
export const CreateClientSecretBody = Type.Object({ expiresInSeconds: Type.Optional(ExpiresIn) }, closed)
export type CreateClientSecretBody = Static<typeof CreateClientSecretBody>
export const CreatedClientSecret = Type.Composite([
  ClientSecret,
  Type.Object({ clientSecret: Type.String() }),
])
export type CreatedClientSecret = Static<typeof CreatedClientSecret>
export const RevokeClientSecretBody = Type.Object(
  {
    revokeTokens: Type.Optional(
      Type.Boolean({
        description:
          'also revoke the access tokens issued with this secret; without it they stay valid until they expire',
      }),
    ),
  },
  closed,
)
export type RevokeClientSecretBody = Static<typeof RevokeClientSecretBody>
export const RevokedClientSecret = Type.Composite([
  ClientSecret,
  Type.Object({
    tokensRevoked: Type.Integer({
      minimum: 0,
      description: 'access tokens issued with the secret that this call revoked (0 without revokeTokens)',
    }),
  }),
])
export type RevokedClientSecret = Static<typeof RevokedClientSecret>
export const ClientSecretPage = page(ClientSecret)
export type ClientSecretPage = Static<typeof ClientSecretPage>

// ---- application keys (private_key_jwt) -----------------------------------------------------

export const ApplicationKeyId = resourceId('apk')
export const ApplicationKey = Type.Object({
  applicationKeyId: ApplicationKeyId,
  applicationId: ApplicationId,
  kid: Type.String(),
  kty: Type.String(),
  crv: Type.Union([Type.String(), Type.Null()]),
  alg: Type.Union([Type.String(), Type.Null()]),
  createTime: EpochMillis,
  /** RSA keys only: the OCI API key fingerprint (MD5 of the DER SubjectPublicKeyInfo, `aa:bb:…`). */
  ociFingerprint: Type.Optional(Type.String()),
})
export type ApplicationKey = Static<typeof ApplicationKey>
const AnyJwk = Type.Object(
  { kty: Type.String({ maxLength: 8 }) },
  { additionalProperties: true, maxProperties: 16 },
)
/** Exactly one of: a JWK, a JWKS, or a PEM public key or certificate. Public keys only. */
export const AddApplicationKeysBody = Type.Object(
  {
    jwk: Type.Optional(AnyJwk),
    jwks: Type.Optional(Type.Object({ keys: Type.Array(AnyJwk, { minItems: 1, maxItems: 10 }) }, closed)),
    pem: Type.Optional(Type.String({ minLength: 1, maxLength: 16_384 })),
  },
  { ...closed, minProperties: 1, maxProperties: 1 },
)
export type AddApplicationKeysBody = Static<typeof AddApplicationKeysBody>
export const ApplicationKeyList = Type.Object({ entities: Type.Array(ApplicationKey) })
export type ApplicationKeyList = Static<typeof ApplicationKeyList>

// ---- federated credentials (external OIDC issuers) ------------------------------------------

export const FederatedCredentialId = resourceId('fc')
const HttpUrl = Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://' })
export const FederatedCredential = Type.Object({
  federatedCredentialId: FederatedCredentialId,
  applicationId: ApplicationId,
  /** What the workload sends as `application_federated_credential_name`. */
  name: Type.String(),
  issuer: Type.String(),
  subject: Type.String(),
  audiences: Type.Array(Type.String()),
  jwksUri: Type.Union([Type.String(), Type.Null()]),
  staticJwks: Type.Boolean(),
  createTime: EpochMillis,
})
export type FederatedCredential = Static<typeof FederatedCredential>
export const CreateFederatedCredentialBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
    /** The token's `iss`, exactly (e.g. `https://kubernetes.default.svc`). */
    issuer: Type.String({ minLength: 1, maxLength: 1024 }),
    /** The token's `sub`, exactly (e.g. `system:serviceaccount:payments:worker`). */
    subject: Type.String({ minLength: 1, maxLength: 1024 }),
    /** The token's `aud` must contain one of these. */
    audiences: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), {
      minItems: 1,
      maxItems: 10,
      uniqueItems: true,
    }),
    /** Where the issuer publishes its keys; fetched and cached. Or give `jwks`. */
    jwksUri: Type.Optional(HttpUrl),
    jwks: Type.Optional(
      Type.Object(
        {
          keys: Type.Array(Type.Object({ kty: Type.String() }, { additionalProperties: true }), {
            minItems: 1,
            maxItems: 20,
          }),
        },
        closed,
      ),
    ),
  },
  closed,
)
export type CreateFederatedCredentialBody = Static<typeof CreateFederatedCredentialBody>
export const FederatedCredentialList = Type.Object({ entities: Type.Array(FederatedCredential) })
export type FederatedCredentialList = Static<typeof FederatedCredentialList>
