import { type Static, Type } from '@sinclair/typebox'
import { Description, EpochMillis, Name, PageQuery, page, Reason, resourceId, Status } from './common.js'
import { Identifier, IdentifierPrefix } from './identifiers.js'
import { InstanceId } from './instances.js'

const closed = { additionalProperties: false } as const

export const CredentialId = resourceId('cred')

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

// ---- ObtainCredential, for workloads (`/v2/{instanceId}/credentials`) --------------------------

/** ObtainCredential's query (docs/wire-contract.md, "Developer-API operations"). */
export const ObtainCredentialQuery = Type.Object(
  { credentialIdentifier: Identifier },
  // The official clients may add fields this version does not know; they are ignored, not refused.
  { additionalProperties: true },
)
export type ObtainCredentialQuery = Static<typeof ObtainCredentialQuery>

/** The credential of ObtainCredential: metadata in epoch milliseconds, and the current value. */
export const ObtainedCredential = Type.Object({
  credentialId: Type.String(),
  credentialIdentifier: Type.String(),
  credentialName: Type.String(),
  credentialType: Type.String(),
  status: Type.String(),
  description: Type.String(),
  instanceId: Type.String(),
  createTime: Type.Integer(),
  updateTime: Type.Integer(),
  credentialCreationType: Type.String(),
  credentialContent: Type.Object({
    apiKeyContent: Type.Optional(Type.Object({ apiKey: Type.String() })),
    oauthClientContent: Type.Optional(Type.Object({ clientId: Type.String(), clientSecret: Type.String() })),
    /** strongroom extensions: the official clients drop fields they do not know. */
    passwordContent: Type.Optional(
      Type.Object({ password: Type.String(), username: Type.Optional(Type.String()) }),
    ),
    sshKeyContent: Type.Optional(
      Type.Object({
        privateKey: Type.String(),
        passphrase: Type.Optional(Type.String()),
        publicKey: Type.Optional(Type.String()),
      }),
    ),
  }),
})
export type ObtainedCredential = Static<typeof ObtainedCredential>
