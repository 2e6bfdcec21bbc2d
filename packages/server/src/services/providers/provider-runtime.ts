import { createPublicKey, type KeyObject } from 'node:crypto'
import { inspect } from 'node:util'
import type { Kysely } from 'kysely'
import type { Keyring } from '../../crypto/keyring.js'
import { CacheStats } from '../../metrics/cache-stats.js'
import type { Committer } from '../../store/committer.js'
import type { Store } from '../../store/connect.js'
import type { CredentialProviderTable, Database } from '../../store/schema.js'
import { privateKeyFromDer } from './provider-keys.js'
import { providerSecretBinding } from './providers.js'
import { SharedUpstreamTokens } from './shared-upstream-tokens.js'
import { UpstreamTokens } from './upstream-tokens.js'

/**
 * What a node keeps in memory for credential providers: upstream tokens (shared per provider and
 * scope) and the decrypted signing keys of jwt providers, as `node:crypto` key objects (like the
 * authorization server's own keys). Neither ever prints.
 */
export class ProviderRuntime {
  readonly upstream: UpstreamTokens
  private readonly privateKeys = new Map<string, Promise<KeyObject>>()
  private readonly publicKeys = new Map<string, KeyObject>()
  /** Lookups of a jwt provider's decrypted signing key: a miss decrypts it. */
  readonly signingKeyCache = new CacheStats()

  constructor(
    private readonly keyring: Keyring,
    now: () => number,
    /** `store`: upstream tokens are shared with the other nodes through it, written through `committer`. */
    options: { fetchFn?: typeof fetch; store?: Store; committer?: Committer } = {},
  ) {
    const shared =
      options.store && options.committer
        ? new SharedUpstreamTokens(options.store, options.committer, keyring, now)
        : undefined
    this.upstream = new UpstreamTokens(now, options.fetchFn, shared)
  }

  [inspect.custom](): string {
    return 'ProviderRuntime { [REDACTED] }'
  }

  /** The provider's sealed secret, opened: the upstream client secret or the signing key's PKCS#8. */
  secret(db: Kysely<Database>, row: CredentialProviderTable): Promise<Buffer> {
    return this.keyring.decrypt(db, providerSecretBinding(row), {
      ciphertext: row.secret_ciphertext,
      keyVersion: row.key_version,
    })
  }

  signingKey(db: Kysely<Database>, row: CredentialProviderTable): Promise<KeyObject> {
    const cacheKey = `${row.id}:${row.key_version}`
    let key = this.privateKeys.get(cacheKey)
    if (key) this.signingKeyCache.hits++
    else {
      this.signingKeyCache.misses++
      key = this.secret(db, row).then(privateKeyFromDer)
      // A failed decryption (tampering) must not stick: the next call reads again.
      key.catch(() => this.privateKeys.delete(cacheKey))
      this.privateKeys.set(cacheKey, key)
    }
    return key
  }

  verificationKey(row: CredentialProviderTable): KeyObject {
    let key = this.publicKeys.get(row.id)
    if (!key) {
      key = createPublicKey({ key: JSON.parse(row.public_jwk ?? '{}') as never, format: 'jwk' })
      this.publicKeys.set(row.id, key)
    }
    return key
  }
}
