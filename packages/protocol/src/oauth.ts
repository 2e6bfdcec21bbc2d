import { type Static, Type } from '@sinclair/typebox'

/** The audience of the PAM developer API (docs/wire-contract.md, "Token endpoint"). */
export const PAM_AUDIENCE = 'urn:cloud:idaas:pam'

/** The scopes of the PAM developer API; `.all` stands for all of them. */
export const PAM_SCOPES = [
  'credential:obtain',
  'authentication_token:obtain',
  'authentication_token:read',
  'authentication_token:manage',
  'cloud_account_role:obtain_access_credential',
  /** strongroom's own: retrieve account passwords and SSH keys, and list accounts. */
  'account:obtain',
  'account:read',
] as const
export type PamScope = (typeof PAM_SCOPES)[number]

/** The default authorization server of an instance. */
export const DEFAULT_AUTHORIZATION_SERVER = 'iauths_system'

/** RFC 6749 §5.1 plus `expires_at` (epoch seconds), which the IDaaS SDKs rely on. */
export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  expires_at: Type.Integer({ description: 'epoch seconds' }),
  scope: Type.String(),
  /** RFC 8693, for token exchange only. */
  issued_token_type: Type.Optional(Type.String()),
})
export type TokenResponse = Static<typeof TokenResponse>

/** RFC 8414 authorization server metadata, as much as strongroom serves. */
export const AuthorizationServerMetadata = Type.Object({
  issuer: Type.String(),
  token_endpoint: Type.String(),
  jwks_uri: Type.String(),
  introspection_endpoint: Type.String(),
  revocation_endpoint: Type.String(),
  introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
  revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
  grant_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
})
export type AuthorizationServerMetadata = Static<typeof AuthorizationServerMetadata>
