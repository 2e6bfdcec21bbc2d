import type { Generated } from 'kysely'

/** Row shapes of every table. Times are epoch milliseconds (bigint in PostgreSQL, read as numbers). */
export interface Database {
  meta: MetaTable
  instances: InstanceTable
  instance_keys: InstanceKeyTable
  admin_tokens: AdminTokenTable
  applications: ApplicationTable
  client_secrets: ClientSecretTable
  credentials: CredentialTable
  credential_versions: CredentialVersionTable
  grants: GrantTable
  audit_events: AuditEventTable
  audit_heads: AuditHeadTable
  audit_anchors: AuditAnchorTable
  audit_key_blocks: AuditKeyBlockTable
  audit_key_marks: AuditKeyMarkTable
  signing_keys: SigningKeyTable
  revoked_access_tokens: RevokedAccessTokenTable
  client_secret_tokens: ClientSecretTokenTable
  application_keys: ApplicationKeyTable
  used_client_assertions: UsedClientAssertionTable
  federated_credentials: FederatedCredentialTable
  credential_providers: CredentialProviderTable
  authentication_tokens: AuthenticationTokenTable
  authentication_token_counts: AuthenticationTokenCountTable
  accounts: AccountTable
  account_versions: AccountVersionTable
  token_sessions: TokenSessionTable
  used_proof_jtis: UsedProofJtiTable
  cloud_accounts: CloudAccountTable
  cloud_account_keys: CloudAccountKeyTable
  cloud_account_roles: CloudAccountRoleTable
  used_oci_signatures: UsedOciSignatureTable
  changes: ChangeTable
  change_head: ChangeHeadTable
  auth_failures: AuthFailureTable
  upstream_tokens: UpstreamTokenTable
  console_sessions: ConsoleSessionTable
}

export interface MetaTable {
  key: string
  value: string
}

export interface InstanceTable {
  id: string
  name: string
  description: string
  created_at: number
  updated_at: number
}

/** Per-instance data keys, each wrapped (AES-256-GCM) by the root key. The root key is never stored. */
export interface InstanceKeyTable {
  instance_id: string
  version: number
  wrapped: Buffer
  created_at: number
}

export interface AdminTokenTable {
  id: string
  instance_id: string | null
  name: string
  token_hash: string
  hint: string
  created_at: number
  expires_at: number | null
  revoked_at: number | null
  last_used_at: number | null
}

export interface ApplicationTable {
  id: string
  instance_id: string
  client_id: string
  name: string
  description: string
  status: 'enabled' | 'disabled'
  created_at: number
  updated_at: number
  /** Space-separated IDaaS scope strings (`audience|value`) the application may be granted. */
  allowed_scopes: string
  /** Seconds an access token issued to the application lives. */
  access_token_lifetime: number
}

export interface ClientSecretTable {
  id: string
  instance_id: string
  application_id: string
  secret_hash: string
  /** The secret sealed under the instance's data key, for client_secret_jwt; null for older secrets. */
  secret_ciphertext: Buffer | null
  key_version: number | null
  hint: string
  created_at: number
  expires_at: number | null
  revoked_at: number | null
  last_used_at: number | null
}

export interface CredentialTable {
  id: string
  instance_id: string
  identifier: string
  name: string
  type: string
  status: 'enabled' | 'disabled'
  description: string
  current_version: number
  created_at: number
  updated_at: number
}

export interface CredentialVersionTable {
  credential_id: string
  version: number
  instance_id: string
  key_version: number
  ciphertext: Buffer
  created_at: number
  created_by: string
}

export interface GrantTable {
  id: string
  instance_id: string
  application_id: string
  resource_type: string
  resource_match: 'exact' | 'prefix'
  resource: string
  /** Comma-separated, sorted: `manage,obtain`. */
  actions: string
  created_at: number
}

export interface AuditEventTable {
  instance_id: string
  seq: number
  time: number
  actor_type: string
  actor_id: string
  action: string
  resource_type: string | null
  resource_id: string | null
  outcome: string
  reason: string | null
  request_id: string | null
  source_ip: string | null
  user_agent: string | null
  /** Canonical JSON of a flat object of non-secret details. */
  details: string
  prev_hash: string
  hash: string
}

/** The last link of each instance's chain: lets `verify` notice a deleted tail, and is the row PostgreSQL locks. */
export interface AuditHeadTable {
  instance_id: string
  seq: number
  hash: string
}

/**
 * What audit events are found by (audit/key-index.ts): for one key (the actor's id, `kind`
 * 'actor', or the resource's, 'resource') the seqs of its events within one stretch of the chain
 * (`first_seq`..`last_seq`), as a posting block (`encodeSeqs`). A key's blocks do not overlap.
 */
export interface AuditKeyBlockTable {
  instance_id: string
  kind: 'actor' | 'resource'
  key: string
  first_seq: number
  last_seq: number
  seqs: Buffer
}

/** Every event of the chain with `seq` up to `indexed_seq` has its keys in `audit_key_blocks`. */
export interface AuditKeyMarkTable {
  instance_id: string
  indexed_seq: number
}

/**
 * Where an archived stretch of a chain ends (audit/archive.ts): `seq` and `hash` of the last event
 * removed, `first_seq` the first, `file` the archive's name. The newest is where verification starts.
 */
export interface AuditAnchorTable {
  instance_id: string
  seq: number
  hash: string
  first_seq: number
  archived_at: number
  file: string
}

export type AutoId = Generated<number>

export interface SigningKeyTable {
  kid: string
  instance_id: string
  alg: 'EdDSA' | 'ES256'
  /** The public key as a JWK (JSON), published in the JWKS. */
  public_jwk: string
  /** The private key, PKCS#8 DER, sealed under the instance's data key. */
  private_key: Buffer
  key_version: number
  created_at: number
  /** From this time on the key signs (until a later key activates); before it, it is only published. */
  activate_at: number
  /** Set once, when an administrator revokes the key: from then on it is neither published nor trusted. */
  revoked_at: number | null
  revoked_reason: string | null
}

export interface RevokedAccessTokenTable {
  jti: string
  instance_id: string
  expires_at: number
}

/** An access token issued to a client authenticated by a client secret: which secret, until when. */
export interface ClientSecretTokenTable {
  jti: string
  instance_id: string
  client_secret_id: string
  expires_at: number
}

export interface ApplicationKeyTable {
  id: string
  instance_id: string
  application_id: string
  kid: string
  /** The public key as a JWK (JSON), with its kid. */
  public_jwk: string
  created_at: number
}

export interface UsedClientAssertionTable {
  instance_id: string
  client_id: string
  jti: string
  expires_at: number
}

export interface FederatedCredentialTable {
  id: string
  instance_id: string
  application_id: string
  name: string
  issuer: string
  subject: string
  /** JSON array of accepted audiences. */
  audiences: string
  jwks_uri: string | null
  /** A static JWKS (JSON), when the issuer's keys are not fetched. */
  jwks: string | null
  created_at: number
}

export interface CredentialProviderTable {
  id: string
  instance_id: string
  identifier: string
  name: string
  description: string
  type: 'oauth' | 'jwt'
  status: 'enabled' | 'disabled'
  /** JSON of the type's non-secret settings (services/providers/settings.ts). */
  settings: string
  /** oauth: the upstream client secret; jwt: the signing key, PKCS#8 DER. Sealed under the data key. */
  secret_ciphertext: Buffer
  key_version: number
  /** jwt: the signing key's public JWK (with kid and alg), published in the provider's JWKS. */
  public_jwk: string | null
  created_at: number
  updated_at: number
}

export interface AuthenticationTokenTable {
  id: string
  instance_id: string
  provider_id: string
  type: 'jwt' | 'oauth_access_token'
  consumer_id: string
  consumer_type: 'application' | 'custom'
  creator_id: string
  creator_type: 'application'
  /** 0 or 1. */
  revoked: number
  /** Keyed hash of the token: proves a presented JWT is the one recorded. */
  value_hash: string
  /** jwt: the token sealed under the data key, for ObtainJwt. */
  value_ciphertext: Buffer | null
  key_version: number | null
  /** Keyed hash of the derived short token (`sk-…`), when one was asked for. */
  short_token_hash: string | null
  created_at: number
  updated_at: number
  expires_at: number
}

/** How many tokens there are, and expire by hour and by minute (store/token-counts-table.ts). */
export interface AuthenticationTokenCountTable {
  instance_id: string
  provider_id: string
  /** `''`: every consumer of the provider. */
  consumer_id: string
  /** 0 or 1. */
  revoked: number
  /** 0: all of them; otherwise ms per bucket of expiry. */
  width: number
  /** `expires_at` ÷ `width` (0 when `width` is 0). */
  bucket: number
  n: number
}

export interface AccountTable {
  id: string
  instance_id: string
  /** `TARGET/account`. */
  name: string
  display_name: string
  description: string
  status: 'enabled' | 'disabled'
  /** 0 or 1, as the three flags below. */
  requires_reason: number
  has_password: number
  has_key: number
  /** Whether the server can decrypt the current key (`decrypt: true` works). */
  key_supported: number
  /** The current key's public facts as JSON (protocol `SshKeyFacts`), null without a key. */
  key_facts: string | null
  current_version: number
  created_at: number
  updated_at: number
}

export interface AccountVersionTable {
  account_id: string
  version: number
  instance_id: string
  has_password: number
  has_key: number
  key_version: number
  /** `{ password?, sshKey?: { key, passphrase?, fileName? } }` sealed under the data key. */
  ciphertext: Buffer
  created_at: number
  created_by: string
}

export interface TokenSessionTable {
  /** The `sid` claim of the session's tokens. */
  id: string
  instance_id: string
  application_id: string
  /** The thumbprint every token of the session is bound to. */
  jkt: string
  /** The scope granted, `audience|value …`. */
  scope: string
  revoked: number
  created_at: number
  expires_at: number
  /**
   * The `jti` of the access token the session was started with: once that token is revoked the
   * session is too (`SessionRevoked`). Null only for sessions from before migration 0007.
   */
  parent_jti: string | null
}

export interface UsedProofJtiTable {
  instance_id: string
  /** SHA-256 of the proof's `jti`, base64url: bounded size whatever the client sent. */
  jti_hash: string
  expires_at: number
}

export interface CloudAccountTable {
  id: string
  instance_id: string
  name: string
  description: string
  vendor: 'alibaba_cloud' | 'aws'
  vendor_account_id: string
  /** The current access key id's first and last 4 characters. */
  access_key_hint: string
  /** Null: the vendor's public endpoint. */
  sts_endpoint: string | null
  region: string | null
  status: 'enabled' | 'disabled'
  /** The current version in cloud_account_keys. */
  current_version: number
  created_at: number
  updated_at: number
}

export interface CloudAccountKeyTable {
  cloud_account_id: string
  version: number
  instance_id: string
  access_key_hint: string
  /** The data key version the pair is sealed under. */
  key_version: number
  /** `{ accessKeyId, accessKeySecret }` sealed under the data key. */
  ciphertext: Buffer
  created_at: number
  created_by: string
}

export interface CloudAccountRoleTable {
  id: string
  instance_id: string
  cloud_account_id: string
  /** The role's ARN: its external id on the wire. */
  role_arn: string
  name: string
  description: string
  status: 'enabled' | 'disabled'
  /** Seconds. */
  default_duration: number
  max_duration: number
  session_policy: string | null
  /** AWS `ExternalId`, required by the role's trust policy. */
  aws_external_id: string | null
  created_at: number
  updated_at: number
}

/** OCI request signatures already used (services/oci/signature-replay.ts), until their date leaves the window. */
export interface UsedOciSignatureTable {
  instance_id: string
  /** SHA-256 of the signing key's id and the signing string, base64url. */
  signature_hash: string
  expires_at: number
}

/** The durable change sequence (store/changes.ts): one row per change another node must hear of. */
export interface ChangeTable {
  seq: number
  instance_id: string
  /** `ChangeKind`: which cache the change concerns. */
  kind: string
  key: string
  at: number
}

/** One row (id 1): the last number handed out, row-locked by the batch that advances it until it commits. */
export interface ChangeHeadTable {
  id: number
  seq: number
}

/** A token bucket of failed client authentications (http/shared-failure-throttle.ts), shared by the nodes. */
export interface AuthFailureTable {
  /** Which counter: `oauth_address` or `oauth_client`. */
  surface: string
  /** The source address or client id. */
  source: string
  /** Failures the source may still make now, as of `at`; refilled with time. */
  tokens: number
  at: number
}

/** An upstream OAuth token shared by the nodes (services/providers/shared-upstream-tokens.ts). */
export interface UpstreamTokenTable {
  provider_id: string
  /** SHA-256 (base64url) of the scope and custom parameters asked for. */
  variant: string
  instance_id: string
  /** The provider's `updated_at` the token was fetched under: another value makes it unusable. */
  generation: number
  /** Tokens fetched into this row so far: a caller asking for a fresh one waits for the next. */
  fetches: number
  /** The access token, sealed under the instance's data key, bound to this row. */
  token_ciphertext: Buffer | null
  key_version: number | null
  token_type: string | null
  scope: string | null
  obtained_at: number | null
  expires_at: number | null
  /** Handed out until then: shortly before it expires (upstream-tokens.ts). */
  usable_until: number | null
  /** The node fetching a new token, and until when the others wait for it. */
  lease_owner: string | null
  lease_until: number | null
  /** The last fetch that failed, and its error (code, message, field, rule) for those who waited for it. */
  failed_at: number | null
  failure: string | null
}

/** A web console session: an admin token exchanged for a cookie whose secret is stored as its keyed hash only. */
export interface ConsoleSessionTable {
  id: string
  /** HMAC-SHA256 of the cookie's secret under the hashing key, hex (crypto/minted-secret.ts). */
  secret_hash: string
  admin_token_id: string
  created_at: number
  /** The absolute end: 8 hours after sign-in, or the admin token's own expiry if sooner. */
  expires_at: number
  /** The end unless used before: pushed forward on use, at most once a minute. */
  idle_expires_at: number
  /** Set at sign-out: the session is refused from then on. */
  ended_at: number | null
}
