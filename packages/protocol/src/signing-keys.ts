import { type Static, Type } from '@sinclair/typebox'

// The signing keys of an instance's authorization server, for administrators
// (`/admin/v1/instances/{instanceId}/signing-keys`).

export const SigningKey = Type.Object({
  kid: Type.String(),
  alg: Type.Union([Type.Literal('EdDSA'), Type.Literal('ES256')]),
  /** `next`: published, not signing yet; `active`: signing; `retired`: published until its tokens expire. */
  status: Type.Union([Type.Literal('next'), Type.Literal('active'), Type.Literal('retired')]),
  createTime: Type.Integer(),
  activateTime: Type.Integer(),
  retireTime: Type.Union([Type.Integer(), Type.Null()]),
  unpublishTime: Type.Union([Type.Integer(), Type.Null()]),
})
export type SigningKey = Static<typeof SigningKey>

export const RotateSigningKeyBody = Type.Object(
  {
    alg: Type.Optional(SigningKey.properties.alg),
    /**
     * Seconds the new key is published before it signs, so relying parties that cache the JWKS
     * learn it first; 0 for an emergency rotation after a compromise. Default 600.
     */
    activateAfterSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
  },
  { additionalProperties: false },
)
export type RotateSigningKeyBody = Static<typeof RotateSigningKeyBody>
