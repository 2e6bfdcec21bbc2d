import { type Static, Type } from '@sinclair/typebox'
import { Reason } from './common.js'

// The signing keys of an instance's authorization server, for administrators
// (`/admin/v1/instances/{instanceId}/signing-keys`).

export const SigningKey = Type.Object({
  kid: Type.String(),
  alg: Type.Union([Type.Literal('EdDSA'), Type.Literal('ES256')]),
  /**
   * `next`: published, not signing yet; `active`: signing; `retired`: published until its tokens
   * expire; `revoked`: withdrawn by an administrator, unpublished and trusted for no token.
   */
  status: Type.Union([
    Type.Literal('next'),
    Type.Literal('active'),
    Type.Literal('retired'),
    Type.Literal('revoked'),
  ]),
  createTime: Type.Integer(),
  activateTime: Type.Integer(),
  retireTime: Type.Union([Type.Integer(), Type.Null()]),
  /** When it leaves the JWKS: for a revoked key, the time it was revoked. */
  unpublishTime: Type.Union([Type.Integer(), Type.Null()]),
  /** When it was revoked; null while it is not. */
  revokedTime: Type.Union([Type.Integer(), Type.Null()]),
  /** Why, as the administrator who revoked it said; null while it is not revoked. */
  revokedReason: Type.Union([Type.String(), Type.Null()]),
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

/** A signing key's `kid`: its RFC 7638 thumbprint, base64url. */
export const SigningKeyId = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9_-]+$',
  'x-rule': 'must be a key id (base64url characters)',
})

/**
 * Revokes a key after it leaked: it leaves the JWKS and every token it signed is refused, at once.
 * The key that signs now cannot be revoked: rotate with `activateAfterSeconds: 0` first.
 */
export const RevokeSigningKeyBody = Type.Object(
  {
    /** Why (1–512 characters): recorded with the key and in the audit event. */
    reason: Reason,
  },
  { additionalProperties: false },
)
export type RevokeSigningKeyBody = Static<typeof RevokeSigningKeyBody>
