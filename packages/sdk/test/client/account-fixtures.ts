// Wire answers of strongroom's account operations, as the server sends them.

export const PASSWORD = 'canary-account-password-3f1a'
export const PRIVATE_KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\ncanary-ssh-key-8c2e\n-----END OPENSSH PRIVATE KEY-----\n'
export const PASSPHRASE = 'canary-ssh-passphrase-51d0'

export function accountSummary(
  name: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id: `acct_${name.replace(/\W/g, '')}`,
    name,
    displayName: name,
    status: 'enabled',
    requiresReason: false,
    hasPassword: true,
    hasKey: false,
    isKeySupported: false,
    ...overrides,
  }
}

export function obtainedPassword(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    accountId: 'acct_01',
    accountName: 'DB-SERVER/admin',
    version: 3,
    password: PASSWORD,
    ...overrides,
  }
}

export function obtainedSshKey(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    accountId: 'acct_02',
    accountName: 'web-01/deploy',
    version: 1,
    decrypted: false,
    key: PRIVATE_KEY,
    passphrase: PASSPHRASE,
    fileName: 'id_ed25519',
    keyType: 'ssh-ed25519',
    fingerprint: 'SHA256:visible-fingerprint',
    publicKey: 'ssh-ed25519 AAAAvisible deploy@web-01',
    ...overrides,
  }
}
