import { type Static, Type } from '@sinclair/typebox'

/** ObtainCredential's query (CONTRACT.md, "PAM operations"). */
export const ObtainCredentialQuery = Type.Object(
  { credentialIdentifier: Type.String({ minLength: 1, maxLength: 128 }) },
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
