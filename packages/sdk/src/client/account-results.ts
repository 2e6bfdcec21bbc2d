import type { SshKeyOutputFormat } from './pam-client-params.js'
import { REDACTED, Redacted } from './redacted.js'

/**
 * What strongroom's account operations resolve with (`packages/protocol/src/accounts.ts`). Like the
 * other results, the secret parts (a password, a private key, its passphrase) are read through
 * getters and print as `[REDACTED]`; everything else is a plain property.
 */

/** A string union that still accepts values a newer server may add. */
type Open<T extends string> = T | (string & Record<never, never>)

/** An account in `getAccounts()`: what the application may ask for, never a secret. */
export interface AccountSummary {
  /** `acct_…`. */
  readonly id: string
  /** `TARGET/account` (`DB-SERVER/admin`): what `getPassword` and `getSshKey` take. */
  readonly name: string
  readonly displayName: string
  readonly status: Open<'enabled' | 'disabled'>
  /** Whether every retrieval must give a `reason`. */
  readonly requiresReason: boolean
  readonly hasPassword: boolean
  readonly hasKey: boolean
  /** Whether the server can hand the key out decrypted (`getSshKey(name, { decrypt: true })`). */
  readonly isKeySupported: boolean
}

/** `obtainPassword`: the account's current password with the version it belongs to. */
export class ObtainedPassword extends Redacted {
  readonly accountId: string
  readonly accountName: string
  /** The account's secrets version the password is from. */
  readonly version: number
  readonly #password: string

  constructor(fields: { accountId: string; accountName: string; version: number }, password: string) {
    super()
    this.accountId = fields.accountId
    this.accountName = fields.accountName
    this.version = fields.version
    this.#password = password
    Object.freeze(this)
  }

  /** The password. Secret. */
  get password(): string {
    return this.#password
  }

  toJSON(): Record<string, unknown> {
    return {
      accountId: this.accountId,
      accountName: this.accountName,
      version: this.version,
      password: REDACTED,
    }
  }
}

/** The facts about an SSH key that are not secret. */
export interface SshKeyFacts {
  readonly accountId: string
  readonly accountName: string
  readonly version: number
  /** Whether `key` is the private key decrypted, unencrypted (`decrypt: true`). */
  readonly decrypted: boolean
  /** How a decrypted `key` is encoded (`pem`: PKCS#8, `openssh`: an OpenSSH key); `null` as stored. */
  readonly format: SshKeyOutputFormat | null
  /** The file name the key is usually kept under (`id_ed25519`), when one was recorded. */
  readonly fileName: string | null
  /** `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`… */
  readonly keyType: string
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  readonly fingerprint: string
  /** The OpenSSH public key line (`ssh-ed25519 AAAA…`). */
  readonly publicKey: string
}

/** `getSshKey`: an account's SSH private key, as stored or decrypted. */
export class SshKey extends Redacted implements SshKeyFacts {
  readonly accountId: string
  readonly accountName: string
  readonly version: number
  readonly decrypted: boolean
  readonly format: SshKeyOutputFormat | null
  readonly fileName: string | null
  readonly keyType: string
  readonly fingerprint: string
  readonly publicKey: string
  readonly #key: string
  readonly #passphrase: string | null

  constructor(facts: SshKeyFacts, key: string, passphrase: string | null) {
    super()
    this.accountId = facts.accountId
    this.accountName = facts.accountName
    this.version = facts.version
    this.decrypted = facts.decrypted
    this.format = facts.format
    this.fileName = facts.fileName
    this.keyType = facts.keyType
    this.fingerprint = facts.fingerprint
    this.publicKey = facts.publicKey
    this.#key = key
    this.#passphrase = passphrase
    Object.freeze(this)
  }

  /** The private key: OpenSSH or PEM as stored, or unencrypted in `format` when `decrypted`. Secret. */
  get key(): string {
    return this.#key
  }

  /** The key's passphrase when it is stored encrypted; `null` when it has none or was decrypted. Secret. */
  get passphrase(): string | null {
    return this.#passphrase
  }

  toJSON(): Record<string, unknown> {
    return {
      accountId: this.accountId,
      accountName: this.accountName,
      version: this.version,
      decrypted: this.decrypted,
      format: this.format,
      fileName: this.fileName,
      keyType: this.keyType,
      fingerprint: this.fingerprint,
      publicKey: this.publicKey,
      key: REDACTED,
      passphrase: this.#passphrase === null ? null : REDACTED,
    }
  }
}
