import type {
  Account,
  AccountVersion,
  AdminToken,
  Application,
  ApplicationKey,
  AuditEvent,
  AuthenticationToken,
  ClientSecret,
  CloudAccount,
  CloudAccountRole,
  Credential,
  CredentialProvider,
  CredentialVersion,
  FederatedCredential,
  Grant,
  Instance,
  RevokedClientSecret,
  SigningKey,
} from '@strongroom/protocol'
import type { Colors } from './colors.js'
import { type Column, when } from './table.js'

// The columns each entity is shown with: `…Columns` for lists, `…Fields` for `show`.

const status = (row: { status: string }, colors: Colors) =>
  row.status === 'enabled' ? colors.green : colors.red
const revoked = (row: { revoked: boolean }, colors: Colors) => (row.revoked ? colors.red : undefined)

export const instanceColumns: Column<Instance>[] = [
  { header: 'INSTANCE ID', value: (i) => i.instanceId },
  { header: 'NAME', value: (i) => i.name },
  { header: 'CREATED', value: (i) => when(i.createTime) },
  { header: 'DESCRIPTION', value: (i) => i.description || null },
]

export const instanceFields: Column<Instance>[] = [
  { header: 'Instance ID', value: (i) => i.instanceId },
  { header: 'Name', value: (i) => i.name },
  { header: 'Description', value: (i) => i.description || null },
  { header: 'Created', value: (i) => when(i.createTime) },
  { header: 'Updated', value: (i) => when(i.updateTime) },
]

export const adminTokenColumns: Column<AdminToken>[] = [
  { header: 'ADMIN TOKEN ID', value: (t) => t.adminTokenId },
  { header: 'NAME', value: (t) => t.name },
  { header: 'INSTANCE', value: (t) => t.instanceId },
  { header: 'HINT', value: (t) => t.hint },
  { header: 'REVOKED', value: (t) => t.revoked, paint: revoked },
  { header: 'CREATED', value: (t) => when(t.createTime) },
  { header: 'EXPIRES', value: (t) => when(t.expirationTime) },
  { header: 'LAST USED', value: (t) => when(t.lastUsedTime) },
]

export const adminTokenFields: Column<AdminToken>[] = [
  { header: 'Admin token ID', value: (t) => t.adminTokenId },
  { header: 'Name', value: (t) => t.name },
  { header: 'Instance', value: (t) => t.instanceId ?? 'all instances' },
  { header: 'Hint', value: (t) => t.hint },
  { header: 'Revoked', value: (t) => t.revoked, paint: revoked },
  { header: 'Created', value: (t) => when(t.createTime) },
  { header: 'Expires', value: (t) => when(t.expirationTime) },
  { header: 'Last used', value: (t) => when(t.lastUsedTime) },
]

export const applicationColumns: Column<Application>[] = [
  { header: 'APPLICATION ID', value: (a) => a.applicationId },
  { header: 'CLIENT ID', value: (a) => a.clientId },
  { header: 'NAME', value: (a) => a.name },
  { header: 'STATUS', value: (a) => a.status, paint: status },
  { header: 'CREATED', value: (a) => when(a.createTime) },
]

export const applicationFields: Column<Application>[] = [
  { header: 'Application ID', value: (a) => a.applicationId },
  { header: 'Client ID', value: (a) => a.clientId },
  { header: 'Name', value: (a) => a.name },
  { header: 'Description', value: (a) => a.description || null },
  { header: 'Status', value: (a) => a.status, paint: status },
  { header: 'Allowed scopes', value: (a) => a.allowedScopes.join(' ') || null },
  { header: 'Token lifetime', value: (a) => `${a.accessTokenLifetime} s` },
  { header: 'Instance', value: (a) => a.instanceId },
  { header: 'Created', value: (a) => when(a.createTime) },
  { header: 'Updated', value: (a) => when(a.updateTime) },
]

export const clientSecretColumns: Column<ClientSecret>[] = [
  { header: 'CLIENT SECRET ID', value: (s) => s.clientSecretId },
  { header: 'HINT', value: (s) => s.hint },
  { header: 'REVOKED', value: (s) => s.revoked, paint: revoked },
  { header: 'CREATED', value: (s) => when(s.createTime) },
  { header: 'EXPIRES', value: (s) => when(s.expirationTime) },
  { header: 'LAST USED', value: (s) => when(s.lastUsedTime) },
]

export const clientSecretFields: Column<ClientSecret>[] = [
  { header: 'Client secret ID', value: (s) => s.clientSecretId },
  { header: 'Application', value: (s) => s.applicationId },
  { header: 'Hint', value: (s) => s.hint },
  { header: 'Revoked', value: (s) => s.revoked, paint: revoked },
  { header: 'Created', value: (s) => when(s.createTime) },
  { header: 'Expires', value: (s) => when(s.expirationTime) },
  { header: 'Last used', value: (s) => when(s.lastUsedTime) },
]

export const revokedClientSecretFields: Column<RevokedClientSecret>[] = [
  ...clientSecretFields,
  { header: 'Tokens revoked', value: (s) => s.tokensRevoked },
]

export const credentialColumns: Column<Credential>[] = [
  { header: 'CREDENTIAL ID', value: (c) => c.credentialId },
  { header: 'IDENTIFIER', value: (c) => c.credentialIdentifier },
  { header: 'TYPE', value: (c) => c.credentialType },
  { header: 'STATUS', value: (c) => c.status, paint: status },
  { header: 'VERSION', value: (c) => c.currentVersion, right: true },
  { header: 'UPDATED', value: (c) => when(c.updateTime) },
  { header: 'NAME', value: (c) => c.credentialName },
]

export const credentialFields: Column<Credential>[] = [
  { header: 'Credential ID', value: (c) => c.credentialId },
  { header: 'Identifier', value: (c) => c.credentialIdentifier },
  { header: 'Name', value: (c) => c.credentialName },
  { header: 'Type', value: (c) => c.credentialType },
  { header: 'Status', value: (c) => c.status, paint: status },
  { header: 'Description', value: (c) => c.description || null },
  { header: 'Current version', value: (c) => c.currentVersion },
  { header: 'Instance', value: (c) => c.instanceId },
  { header: 'Created', value: (c) => when(c.createTime) },
  { header: 'Updated', value: (c) => when(c.updateTime) },
]

export const credentialVersionColumns: Column<CredentialVersion>[] = [
  { header: 'VERSION', value: (v) => v.version, right: true },
  { header: 'CURRENT', value: (v) => v.current },
  { header: 'CREATED', value: (v) => when(v.createTime) },
  { header: 'CREATED BY', value: (v) => v.createdBy },
]

export const credentialProviderColumns: Column<CredentialProvider>[] = [
  { header: 'PROVIDER ID', value: (p) => p.credentialProviderId },
  { header: 'IDENTIFIER', value: (p) => p.credentialProviderIdentifier },
  { header: 'TYPE', value: (p) => p.credentialProviderType },
  { header: 'STATUS', value: (p) => p.status, paint: status },
  { header: 'UPDATED', value: (p) => when(p.updateTime) },
  { header: 'NAME', value: (p) => p.credentialProviderName },
]

export const authenticationTokenColumns: Column<AuthenticationToken>[] = [
  { header: 'TOKEN ID', value: (t) => t.authenticationTokenId },
  { header: 'TYPE', value: (t) => t.authenticationTokenType },
  { header: 'CONSUMER', value: (t) => t.consumerId },
  { header: 'REVOKED', value: (t) => t.revoked, paint: revoked },
  { header: 'CREATED', value: (t) => when(t.createTime) },
  { header: 'EXPIRES', value: (t) => when(t.expirationTime) },
]

// The upstream settings of an oauth provider; its client secret is never in the API object.
const oauthProviderFields: Column<CredentialProvider>[] = [
  { header: 'Token endpoint', value: (p) => p.oauth?.tokenEndpoint },
  { header: 'Client ID', value: (p) => p.oauth?.clientId },
  { header: 'Auth method', value: (p) => p.oauth?.authMethod },
  { header: 'Default scope', value: (p) => p.oauth?.defaultScope || null },
]

const seconds = (value: number | undefined) => (value === undefined ? null : `${value} s`)

const jwtProviderFields: Column<CredentialProvider>[] = [
  { header: 'Issuer', value: (p) => p.jwt?.issuer },
  { header: 'Algorithm', value: (p) => p.jwt?.algorithm },
  { header: 'Key ID', value: (p) => p.jwt?.keyId },
  { header: 'JWKS URI', value: (p) => p.jwt?.jwksUri },
  { header: 'Allowed issuers', value: (p) => p.jwt?.allowedIssuers.join(' ') || null },
  { header: 'Allowed audiences', value: (p) => p.jwt?.allowedAudiences.join(' ') || null },
  { header: 'Default expiration', value: (p) => seconds(p.jwt?.defaultExpiration) },
  { header: 'Max expiration', value: (p) => seconds(p.jwt?.maxExpiration) },
  { header: 'Derived short token', value: (p) => p.jwt?.allowDerivedShortToken },
]

/** The `show` view of a provider: the common fields and those of its type. */
export function credentialProviderFields(provider: CredentialProvider): Column<CredentialProvider>[] {
  return [
    { header: 'Provider ID', value: (p) => p.credentialProviderId },
    { header: 'Identifier', value: (p) => p.credentialProviderIdentifier },
    { header: 'Name', value: (p) => p.credentialProviderName },
    { header: 'Type', value: (p) => p.credentialProviderType },
    { header: 'Status', value: (p) => p.status, paint: status },
    { header: 'Description', value: (p) => p.description || null },
    ...(provider.credentialProviderType === 'oauth' ? oauthProviderFields : jwtProviderFields),
    { header: 'Instance', value: (p) => p.instanceId },
    { header: 'Created', value: (p) => when(p.createTime) },
    { header: 'Updated', value: (p) => when(p.updateTime) },
  ]
}

export const grantColumns: Column<Grant>[] = [
  { header: 'GRANT ID', value: (g) => g.grantId },
  { header: 'APPLICATION', value: (g) => g.applicationId },
  { header: 'RESOURCE TYPE', value: (g) => g.resourceType },
  { header: 'MATCH', value: (g) => g.resourceMatch },
  { header: 'RESOURCE', value: (g) => g.resource },
  { header: 'ACTIONS', value: (g) => g.actions.join(',') },
  { header: 'CREATED', value: (g) => when(g.createTime) },
]

export const grantFields: Column<Grant>[] = [
  { header: 'Grant ID', value: (g) => g.grantId },
  { header: 'Application', value: (g) => g.applicationId },
  { header: 'Resource type', value: (g) => g.resourceType },
  { header: 'Match', value: (g) => g.resourceMatch },
  { header: 'Resource', value: (g) => g.resource },
  { header: 'Actions', value: (g) => g.actions.join(',') },
  { header: 'Instance', value: (g) => g.instanceId },
  { header: 'Created', value: (g) => when(g.createTime) },
]

const outcome = (event: AuditEvent, colors: Colors) =>
  event.outcome === 'success' ? colors.green : event.outcome === 'denied' ? colors.yellow : colors.red

export const auditEventColumns: Column<AuditEvent>[] = [
  { header: 'SEQ', value: (e) => e.seq, right: true },
  { header: 'TIME', value: (e) => when(e.time) },
  { header: 'OUTCOME', value: (e) => e.outcome, paint: outcome },
  { header: 'ACTOR', value: (e) => `${e.actorType}:${e.actorId}` },
  { header: 'ACTION', value: (e) => e.action },
  {
    header: 'RESOURCE',
    value: (e) => (e.resourceId === null ? e.resourceType : `${e.resourceType ?? '?'}:${e.resourceId}`),
  },
  { header: 'REQUEST', value: (e) => e.requestId },
  { header: 'REASON', value: (e) => e.reason },
]

export const signingKeyColumns: Column<SigningKey>[] = [
  { header: 'KID', value: (k) => k.kid },
  { header: 'ALG', value: (k) => k.alg },
  { header: 'STATUS', value: (k) => k.status },
  { header: 'ACTIVATES', value: (k) => when(k.activateTime) },
  { header: 'RETIRES', value: (k) => (k.retireTime === null ? null : when(k.retireTime)) },
  { header: 'UNPUBLISHED', value: (k) => (k.unpublishTime === null ? null : when(k.unpublishTime)) },
  { header: 'REVOKED', value: (k) => (k.revokedTime === null ? null : when(k.revokedTime)) },
]

export const applicationKeyColumns: Column<ApplicationKey>[] = [
  { header: 'KEY ID', value: (k) => k.applicationKeyId },
  { header: 'KID', value: (k) => k.kid },
  { header: 'TYPE', value: (k) => [k.kty, k.crv].filter(Boolean).join(' ') },
  { header: 'ALG', value: (k) => k.alg },
  { header: 'OCI FINGERPRINT', value: (k) => k.ociFingerprint ?? null },
  { header: 'CREATED', value: (k) => when(k.createTime) },
]

export const federatedCredentialColumns: Column<FederatedCredential>[] = [
  { header: 'ID', value: (f) => f.federatedCredentialId },
  { header: 'NAME', value: (f) => f.name },
  { header: 'ISSUER', value: (f) => f.issuer },
  { header: 'SUBJECT', value: (f) => f.subject },
  { header: 'AUDIENCES', value: (f) => f.audiences.join(' ') },
  { header: 'KEYS', value: (f) => f.jwksUri ?? 'static JWKS' },
]

export const accountColumns: Column<Account>[] = [
  { header: 'ACCOUNT ID', value: (a) => a.accountId },
  { header: 'NAME', value: (a) => a.accountName },
  { header: 'STATUS', value: (a) => a.status, paint: status },
  { header: 'PASSWORD', value: (a) => a.hasPassword },
  { header: 'KEY', value: (a) => (a.sshKey === null ? null : a.sshKey.keyType) },
  { header: 'REASON', value: (a) => a.requiresReason },
  { header: 'VERSION', value: (a) => a.currentVersion, right: true },
  { header: 'UPDATED', value: (a) => when(a.updateTime) },
]

/** The `show` view of an account: its key's public facts, never a secret. */
export const accountFields: Column<Account>[] = [
  { header: 'Account ID', value: (a) => a.accountId },
  { header: 'Name', value: (a) => a.accountName },
  { header: 'Display name', value: (a) => a.displayName },
  { header: 'Description', value: (a) => a.description || null },
  { header: 'Status', value: (a) => a.status, paint: status },
  { header: 'Requires reason', value: (a) => a.requiresReason },
  { header: 'Password', value: (a) => a.hasPassword },
  { header: 'SSH key', value: (a) => a.hasKey },
  { header: 'Key type', value: (a) => a.sshKey?.keyType },
  { header: 'Fingerprint', value: (a) => a.sshKey?.fingerprint },
  { header: 'Public key', value: (a) => a.sshKey?.publicKey },
  { header: 'Key file name', value: (a) => a.sshKey?.fileName },
  { header: 'Key encrypted', value: (a) => a.sshKey?.encrypted },
  { header: 'Key decryptable', value: (a) => (a.hasKey ? a.isKeySupported : null) },
  { header: 'Current version', value: (a) => a.currentVersion },
  { header: 'Instance', value: (a) => a.instanceId },
  { header: 'Created', value: (a) => when(a.createTime) },
  { header: 'Updated', value: (a) => when(a.updateTime) },
]

export const accountVersionColumns: Column<AccountVersion>[] = [
  { header: 'VERSION', value: (v) => v.version, right: true },
  { header: 'CURRENT', value: (v) => v.current },
  { header: 'PASSWORD', value: (v) => v.hasPassword },
  { header: 'KEY', value: (v) => v.hasKey },
  { header: 'CREATED', value: (v) => when(v.createTime) },
  { header: 'CREATED BY', value: (v) => v.createdBy },
]

export const cloudAccountColumns: Column<CloudAccount>[] = [
  { header: 'CLOUD ACCOUNT ID', value: (c) => c.cloudAccountId },
  { header: 'NAME', value: (c) => c.name },
  { header: 'VENDOR', value: (c) => c.vendorType },
  { header: 'VENDOR ACCOUNT', value: (c) => c.vendorAccountId },
  { header: 'ACCESS KEY', value: (c) => c.accessKeyIdHint },
  { header: 'KEY VERSION', value: (c) => c.keyVersion, right: true },
  { header: 'STATUS', value: (c) => c.status, paint: status },
  { header: 'UPDATED', value: (c) => when(c.updateTime) },
]

/** The `show` view of a cloud account: its access key id's hint, never its secret. */
export const cloudAccountFields: Column<CloudAccount>[] = [
  { header: 'Cloud account ID', value: (c) => c.cloudAccountId },
  { header: 'Name', value: (c) => c.name },
  { header: 'Description', value: (c) => c.description || null },
  { header: 'Vendor', value: (c) => c.vendorType },
  { header: 'Vendor account ID', value: (c) => c.vendorAccountId },
  { header: 'Access key ID', value: (c) => c.accessKeyIdHint },
  { header: 'Key version', value: (c) => c.keyVersion },
  { header: 'STS endpoint', value: (c) => c.stsEndpoint ?? "the vendor's default" },
  { header: 'Region', value: (c) => c.region },
  { header: 'Status', value: (c) => c.status, paint: status },
  { header: 'Instance', value: (c) => c.instanceId },
  { header: 'Created', value: (c) => when(c.createTime) },
  { header: 'Updated', value: (c) => when(c.updateTime) },
]

export const cloudAccountRoleColumns: Column<CloudAccountRole>[] = [
  { header: 'ROLE ID', value: (r) => r.cloudAccountRoleId },
  { header: 'NAME', value: (r) => r.name },
  { header: 'STATUS', value: (r) => r.status, paint: status },
  { header: 'DEFAULT', value: (r) => `${r.defaultDurationSeconds} s`, right: true },
  { header: 'MAX', value: (r) => `${r.maxDurationSeconds} s`, right: true },
  { header: 'POLICY', value: (r) => r.sessionPolicy !== null },
  { header: 'ARN', value: (r) => r.roleExternalId },
]

/** A session policy on one line: compact JSON when it parses, else as kept. */
function oneLinePolicy(policy: string | null): string | null {
  if (policy === null) return null
  try {
    return JSON.stringify(JSON.parse(policy))
  } catch {
    return policy
  }
}

export const cloudAccountRoleFields: Column<CloudAccountRole>[] = [
  { header: 'Role ID', value: (r) => r.cloudAccountRoleId },
  { header: 'Name', value: (r) => r.name },
  { header: 'ARN', value: (r) => r.roleExternalId },
  { header: 'Description', value: (r) => r.description || null },
  { header: 'Status', value: (r) => r.status, paint: status },
  { header: 'Default duration', value: (r) => seconds(r.defaultDurationSeconds) },
  { header: 'Max duration', value: (r) => seconds(r.maxDurationSeconds) },
  { header: 'Session policy', value: (r) => oneLinePolicy(r.sessionPolicy) },
  { header: 'External ID', value: (r) => r.externalId },
  { header: 'Cloud account', value: (r) => r.cloudAccountId },
  { header: 'Instance', value: (r) => r.instanceId },
  { header: 'Created', value: (r) => when(r.createTime) },
  { header: 'Updated', value: (r) => when(r.updateTime) },
]
