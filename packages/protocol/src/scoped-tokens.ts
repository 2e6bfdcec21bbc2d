import { type Static, Type } from '@sinclair/typebox'
import { EpochMillis } from './common.js'

// Proof-of-possession tokens: strongroom's own API (docs/wire-contract.md, "What strongroom adds or does differently"). A
// workload sends a scope and a public key; it gets a JWT access token of its instance's
// authorization server bound to that key (`cnf.jkt`, RFC 7800 §3.1 / RFC 9449 §6.1), whose scope is
// what it asked for narrowed to what it may have. The token is presented as
// `Authorization: DPoP <token>` with a `DPoP` proof signed by the private key (RFC 9449 §4.3).

/**
 * The public key to bind the token to: exactly one of a public JWK or a PEM (SPKI or certificate).
 * RSA of at least 2048 bits, EC P-256 or Ed25519; never a private or symmetric key.
 */
export const BindingKey = Type.Object(
  {
    jwk: Type.Optional(Type.Object({}, { additionalProperties: true, maxProperties: 16 })),
    pem: Type.Optional(Type.String({ minLength: 1, maxLength: 16_384 })),
  },
  { additionalProperties: false, minProperties: 1, maxProperties: 1 },
)
export type BindingKey = Static<typeof BindingKey>

/**
 * The scope asked for: space-separated `audience|value` tokens, or bare values after the first
 * (`urn:cloud:idaas:pam|credential:obtain account:obtain`), one audience (docs/wire-contract.md, token endpoint).
 */
export const RequestedScope = Type.String({
  minLength: 3,
  maxLength: 1024,
  pattern: '^[\\x21-\\x7e]+( [\\x21-\\x7e]+)*$',
})

/** Seconds a scoped token lives: one minute to one hour (default 900). */
export const ScopedTokenExpiration = Type.Integer({ minimum: 60, maximum: 3600, description: 'seconds' })

/** `POST /v2/{i}/scopedTokens/_/actions/issue`. */
export const IssueScopedTokenBody = Type.Object(
  {
    /** `audience|value …`, one audience (docs/wire-contract.md). The token carries the part the caller may have. */
    scope: RequestedScope,
    publicKey: BindingKey,
    expiration: Type.Optional(ScopedTokenExpiration),
  },
  { additionalProperties: false },
)
export type IssueScopedTokenBody = Static<typeof IssueScopedTokenBody>

/** `POST /v2/{i}/sessionTokens/_/actions/issue`. */
export const IssueSessionTokenBody = Type.Object(
  {
    scope: RequestedScope,
    publicKey: BindingKey,
    /** How long the session lasts: 5 to 60 minutes. Its tokens are refreshable until then. */
    sessionExpirationInMinutes: Type.Integer({ minimum: 5, maximum: 60 }),
  },
  { additionalProperties: false },
)
export type IssueSessionTokenBody = Static<typeof IssueSessionTokenBody>

/** A bound access token. */
export const ScopedToken = Type.Object({
  accessToken: Type.String(),
  /** Present it as `Authorization: DPoP <accessToken>`, with a `DPoP` proof. */
  tokenType: Type.Literal('DPoP'),
  /** The scope granted, `audience|value …`: what was asked for, narrowed to what the caller may have. */
  scope: Type.String(),
  /** Seconds until the token expires. */
  expiresIn: Type.Integer({ minimum: 0 }),
  expirationTime: EpochMillis,
  /** The RFC 7638 thumbprint of the bound key (the token's `cnf.jkt`). */
  jkt: Type.String(),
  /** The token's `jti`. */
  tokenId: Type.String(),
})
export type ScopedToken = Static<typeof ScopedToken>

/** A session token: a bound token that `refresh` renews until the session ends. */
export const SessionToken = Type.Composite([
  ScopedToken,
  Type.Object({ sessionId: Type.String(), sessionExpirationTime: EpochMillis }),
])
export type SessionToken = Static<typeof SessionToken>
