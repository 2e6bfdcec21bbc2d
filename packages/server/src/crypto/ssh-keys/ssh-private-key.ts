import type { KeyObject } from 'node:crypto'
import { inspect } from 'node:util'
import type { SshKeyFormat } from './armor.js'
import type { SshKeyType } from './key-types.js'

const REDACTED = '[REDACTED]'

/** The public facts about a key: safe to log, store and show. */
export interface SshKeyFacts {
  readonly format: SshKeyFormat
  readonly keyType: SshKeyType
  readonly bits: number
  /** Whether the key was protected by a passphrase. */
  readonly encrypted: boolean
  /** `ssh-ed25519 AAAA… comment`, ready for an authorized_keys file. */
  readonly publicKeyOpenSsh: string
  /** `SHA256:…`, as `ssh-keygen -l -E sha256` prints it. */
  readonly fingerprint: string
  /** OpenSSH keys' comment (often `user@host`); PEM keys have none. */
  readonly comment?: string
  /** Whether strongroom accepts this key (see `unsupportedReason` when it does not). */
  readonly isKeySupported: boolean
  readonly unsupportedReason?: string
}

/**
 * A decrypted SSH private key. The private parts are not enumerable and print as `[REDACTED]` in
 * `util.inspect`, `console.log` and `JSON.stringify`; `privateKeyPem` is computed on each access so
 * no copy of it stays in this object.
 */
export class SshPrivateKey implements SshKeyFacts {
  readonly format: SshKeyFormat
  readonly keyType: SshKeyType
  readonly bits: number
  readonly encrypted: boolean
  readonly publicKeyOpenSsh: string
  readonly fingerprint: string
  readonly comment?: string
  readonly isKeySupported: boolean
  readonly unsupportedReason?: string
  readonly #privateKey: KeyObject

  constructor(facts: SshKeyFacts, privateKey: KeyObject) {
    this.format = facts.format
    this.keyType = facts.keyType
    this.bits = facts.bits
    this.encrypted = facts.encrypted
    this.publicKeyOpenSsh = facts.publicKeyOpenSsh
    this.fingerprint = facts.fingerprint
    if (facts.comment !== undefined) this.comment = facts.comment
    this.isKeySupported = facts.isKeySupported
    if (facts.unsupportedReason !== undefined) this.unsupportedReason = facts.unsupportedReason
    this.#privateKey = privateKey
  }

  /** The private key for `node:crypto` (`sign`, `createPublicKey`, …). */
  get privateKey(): KeyObject {
    return this.#privateKey
  }

  /** The private key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Handle with care. */
  get privateKeyPem(): string {
    return this.#privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  }

  /** The public facts, with the private parts shown as `[REDACTED]`. */
  toJSON(): SshKeyFacts & { privateKey: string; privateKeyPem: string } {
    return { ...this.facts(), privateKey: REDACTED, privateKeyPem: REDACTED }
  }

  [inspect.custom](depth: number, options: object, inspectFn: typeof inspect): string {
    return `SshPrivateKey ${inspectFn(this.toJSON(), { ...options, depth })}`
  }

  private facts(): SshKeyFacts {
    return {
      format: this.format,
      keyType: this.keyType,
      bits: this.bits,
      encrypted: this.encrypted,
      publicKeyOpenSsh: this.publicKeyOpenSsh,
      fingerprint: this.fingerprint,
      ...(this.comment === undefined ? {} : { comment: this.comment }),
      isKeySupported: this.isKeySupported,
      ...(this.unsupportedReason === undefined ? {} : { unsupportedReason: this.unsupportedReason }),
    }
  }
}
