import { type Static, Type } from '@sinclair/typebox'
import { Description, EpochMillis, Name, PageQuery, page, resourceId } from './common.js'
import { Identifier, IdentifierPrefix } from './identifiers.js'

const closed = { additionalProperties: false } as const

export const InstanceId = resourceId('idaas')
export const ApplicationId = resourceId('app')
export const CredentialId = resourceId('cred')
export const GrantId = resourceId('grant')
export const AdminTokenId = resourceId('atk')
export const ClientSecretId = resourceId('cs')

/** How long a minted secret lives, in seconds: at most ten years. */
const ExpiresIn = Type.Integer({ minimum: 60, maximum: 315_360_000, description: 'seconds' })
/** A retrieval reason: what the operator or workload says it needs the secret for. */
export const Reason = Type.String({ minLength: 1, maxLength: 512 })

// ---- who am I ----------------------------------------------------------------------------------

/** `GET /admin/v1/whoami`: the admin token in use and the instance commands default to. */
export const WhoAmI = Type.Object({
  adminTokenId: AdminTokenId,
  name: Type.String(),
  /** The only instance the token may administer; null for an operator token. */
  instanceId: Type.Union([InstanceId, Type.Null()]),
  defaultInstanceId: InstanceId,
})
export type WhoAmI = Static<typeof WhoAmI>

// ---- instances -------------------------------------------------------------------------------

export const Instance = Type.Object({
  instanceId: InstanceId,
  name: Name,
  description: Description,
  createTime: EpochMillis,
  updateTime: EpochMillis,
})
export type Instance = Static<typeof Instance>
export const CreateInstanceBody = Type.Object({ name: Name, description: Type.Optional(Description) }, closed)
export type CreateInstanceBody = Static<typeof CreateInstanceBody>
export const InstancePage = page(Instance)
export type InstancePage = Static<typeof InstancePage>
export const ListQuery = Type.Object({ ...PageQuery }, closed)
export type ListQuery = Static<typeof ListQuery>

// ---- admin tokens ----------------------------------------------------------------------------

export const AdminToken = Type.Object({
  adminTokenId: AdminTokenId,
  name: Name,
  /** The only instance the token may administer; null for an operator token over all instances. */
  instanceId: Type.Union([InstanceId, Type.Null()]),
  hint: Type.String({ description: 'the last four characters, to tell tokens apart' }),
  revoked: Type.Boolean(),
  createTime: EpochMillis,
  expirationTime: Type.Union([EpochMillis, Type.Null()]),
  lastUsedTime: Type.Union([EpochMillis, Type.Null()]),
})
export type AdminToken = Static<typeof AdminToken>
export const CreateAdminTokenBody = Type.Object(
  { name: Name, instanceId: Type.Optional(InstanceId), expiresInSeconds: Type.Optional(ExpiresIn) },
  closed,
)
export type CreateAdminTokenBody = Static<typeof CreateAdminTokenBody>
export const CreatedAdminToken = Type.Composite([AdminToken, Type.Object({ token: Type.String() })])
export type CreatedAdminToken = Static<typeof CreatedAdminToken>
export const AdminTokenPage = page(AdminToken)
export type AdminTokenPage = Static<typeof AdminTokenPage>

// ---- applications ----------------------------------------------------------------------------

export const Status = Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])
export type Status = Static<typeof Status>

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

// ---- credentials -----------------------------------------------------------------------------

export const CREDENTIAL_TYPES = ['api_key', 'oauth_client', 'password', 'ssh_key'] as const
export const CredentialType = Type.Union(CREDENTIAL_TYPES.map((t) => Type.Literal(t)))
export type CredentialType = (typeof CREDENTIAL_TYPES)[number]

/** Slash-separated segments of letters, digits and `._:-`; no empty, `.` or `..` segment (identifiers.ts). */
export const CredentialIdentifier = Identifier

const Secret = (maxLength: number) => Type.String({ minLength: 1, maxLength })

/** The value of each credential type. The server checks `value` against the one its type names. */
export const CredentialValues = {
  api_key: Type.Object({ apiKey: Secret(8192) }, closed),
  oauth_client: Type.Object(
    { clientId: Type.String({ minLength: 1, maxLength: 1024 }), clientSecret: Secret(8192) },
    closed,
  ),
  password: Type.Object(
    { password: Secret(8192), username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) },
    closed,
  ),
  ssh_key: Type.Object(
    {
      privateKey: Secret(65_536),
      passphrase: Type.Optional(Secret(1024)),
      publicKey: Type.Optional(Type.String({ minLength: 1, maxLength: 16_384 })),
    },
    closed,
  ),
} as const
export type ApiKeyValue = Static<typeof CredentialValues.api_key>
export type OAuthClientValue = Static<typeof CredentialValues.oauth_client>
export type PasswordValue = Static<typeof CredentialValues.password>
export type SshKeyValue = Static<typeof CredentialValues.ssh_key>
export type CredentialValue = ApiKeyValue | OAuthClientValue | PasswordValue | SshKeyValue

/** On the wire `value` is any object; its shape is checked against `credentialType` by the server. */
const AnyValue = Type.Object({}, { additionalProperties: true, maxProperties: 8 })

export const Credential = Type.Object({
  credentialId: CredentialId,
  credentialIdentifier: CredentialIdentifier,
  credentialName: Name,
  credentialType: CredentialType,
  status: Status,
  description: Description,
  instanceId: InstanceId,
  currentVersion: Type.Integer({ minimum: 1 }),
  createTime: EpochMillis,
  updateTime: EpochMillis,
})
export type Credential = Static<typeof Credential>
export const CreateCredentialBody = Type.Object(
  {
    credentialIdentifier: CredentialIdentifier,
    credentialName: Type.Optional(Name),
    credentialType: CredentialType,
    description: Type.Optional(Description),
    value: AnyValue,
  },
  closed,
)
export type CreateCredentialBody = Static<typeof CreateCredentialBody>
export const UpdateCredentialBody = Type.Object(
  { credentialName: Type.Optional(Name), description: Type.Optional(Description) },
  { ...closed, minProperties: 1 },
)
export type UpdateCredentialBody = Static<typeof UpdateCredentialBody>
export const PutCredentialVersionBody = Type.Object({ value: AnyValue }, closed)
export type PutCredentialVersionBody = Static<typeof PutCredentialVersionBody>
export const CredentialVersion = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  current: Type.Boolean(),
  createTime: EpochMillis,
  createdBy: Type.String(),
})
export type CredentialVersion = Static<typeof CredentialVersion>
export const CredentialVersionPage = page(CredentialVersion)
export type CredentialVersionPage = Static<typeof CredentialVersionPage>
export const CredentialPage = page(Credential)
export type CredentialPage = Static<typeof CredentialPage>
export const CredentialListQuery = Type.Object(
  {
    ...PageQuery,
    credentialType: Type.Optional(CredentialType),
    identifierPrefix: Type.Optional(IdentifierPrefix),
  },
  closed,
)
export type CredentialListQuery = Static<typeof CredentialListQuery>
export const RevealCredentialBody = Type.Object({ reason: Type.Optional(Reason) }, closed)
export type RevealCredentialBody = Static<typeof RevealCredentialBody>
export const RevealedCredential = Type.Composite([
  Credential,
  Type.Object({ version: Type.Integer({ minimum: 1 }), value: AnyValue }),
])
export type RevealedCredential = Static<typeof RevealedCredential>

// ---- grants ----------------------------------------------------------------------------------

export const GRANT_RESOURCE_TYPES = [
  'credential',
  'account',
  'credential_provider',
  'cloud_account_role',
] as const
export type GrantResourceType = (typeof GRANT_RESOURCE_TYPES)[number]
export const GRANT_ACTIONS = ['obtain', 'use', 'read', 'manage'] as const
export type GrantAction = (typeof GRANT_ACTIONS)[number]

export const Grant = Type.Object({
  grantId: GrantId,
  instanceId: InstanceId,
  applicationId: ApplicationId,
  resourceType: Type.Union(GRANT_RESOURCE_TYPES.map((t) => Type.Literal(t))),
  /** `exact`: `resource` is the resource's id or identifier; `prefix`: identifiers starting with it. */
  resourceMatch: Type.Union([Type.Literal('exact'), Type.Literal('prefix')]),
  resource: Type.String({ minLength: 1, maxLength: 128 }),
  actions: Type.Array(Type.Union(GRANT_ACTIONS.map((a) => Type.Literal(a))), {
    minItems: 1,
    maxItems: GRANT_ACTIONS.length,
    uniqueItems: true,
  }),
  createTime: EpochMillis,
})
export type Grant = Static<typeof Grant>
export const CreateGrantBody = Type.Object(
  {
    applicationId: ApplicationId,
    resourceType: Grant.properties.resourceType,
    resourceMatch: Type.Optional(Grant.properties.resourceMatch),
    resource: Grant.properties.resource,
    actions: Grant.properties.actions,
  },
  closed,
)
export type CreateGrantBody = Static<typeof CreateGrantBody>
export const GrantListQuery = Type.Object(
  {
    ...PageQuery,
    applicationId: Type.Optional(ApplicationId),
    resourceType: Type.Optional(Grant.properties.resourceType),
  },
  closed,
)
export type GrantListQuery = Static<typeof GrantListQuery>
export const GrantPage = page(Grant)
export type GrantPage = Static<typeof GrantPage>

// ---- audit -----------------------------------------------------------------------------------

export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number]
const Outcome = Type.Union(AUDIT_OUTCOMES.map((o) => Type.Literal(o)))
const NullableString = Type.Union([Type.String(), Type.Null()])

export const AuditEvent = Type.Object({
  instanceId: Type.String(),
  seq: Type.Integer({ minimum: 1 }),
  time: EpochMillis,
  actorType: Type.String(),
  actorId: Type.String(),
  action: Type.String(),
  resourceType: NullableString,
  resourceId: NullableString,
  outcome: Outcome,
  reason: NullableString,
  requestId: NullableString,
  sourceIp: NullableString,
  userAgent: NullableString,
  details: Type.Record(
    Type.String(),
    Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]),
  ),
  prevHash: Type.String(),
  hash: Type.String(),
})
export type AuditEvent = Static<typeof AuditEvent>

export const AuditQuery = Type.Object(
  {
    nextToken: PageQuery.nextToken,
    maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    from: Type.Optional(EpochMillis),
    to: Type.Optional(EpochMillis),
    afterSeq: Type.Optional(Type.Integer({ minimum: 0 })),
    actorId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    resourceType: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    resourceId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    outcome: Type.Optional(Outcome),
    /** `desc` serves the newest first (for `audit tail`); `asc`, the default, oldest first. */
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  },
  closed,
)
export type AuditQuery = Static<typeof AuditQuery>
export const AuditEventPage = Type.Object({
  entities: Type.Array(AuditEvent),
  nextToken: Type.Union([Type.String(), Type.Null()]),
  maxResults: Type.Integer(),
})
export type AuditEventPage = Static<typeof AuditEventPage>

export const AuditVerifyResult = Type.Object({
  instanceId: Type.String(),
  ok: Type.Boolean(),
  checked: Type.Integer({ description: 'events whose hash was recomputed' }),
  headSeq: Type.Integer(),
  headHash: Type.String(),
  firstBrokenSeq: Type.Union([Type.Integer(), Type.Null()]),
  problem: Type.Union([Type.String(), Type.Null()]),
})
export type AuditVerifyResult = Static<typeof AuditVerifyResult>

// ---- health ----------------------------------------------------------------------------------

export const Health = Type.Object({ status: Type.String() })
export type Health = Static<typeof Health>

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
