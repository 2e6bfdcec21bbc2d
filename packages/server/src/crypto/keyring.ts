import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import type { Kysely } from 'kysely'
import { ConfigError, IntegrityError, ServiceUnavailable } from '../errors.js'
import { CacheStats } from '../metrics/cache-stats.js'
import type { Dialect } from '../store/connect.js'
import type { Database } from '../store/schema.js'
import { AeadError, bindingAad, open, seal } from './aead.js'
import { rootKeyId } from './root-key.js'

const DATA_KEY_BYTES = 32

/** Where an encrypted value lives. The ciphertext is bound to all of it (AES-GCM associated data). */
export interface Binding {
  instanceId: string
  table: string
  recordId: string
  field: string
  version: number
}

export interface Sealed {
  ciphertext: Buffer
  keyVersion: number
}

/**
 * The key hierarchy: root key (never stored) → per-instance data keys (stored wrapped) →
 * values. Unwrapped data keys are cached in memory; values are not.
 */
export class Keyring {
  private readonly dataKeys = new Map<string, { version: number; key: Buffer }>()
  /** Lookups of the current data key: a miss reads and unwraps it. */
  readonly dataKeyCache = new CacheStats()

  constructor(
    private rootKey: Buffer,
    /** The HMAC key for minted-secret hashes; stored wrapped by the root key, like data keys. */
    readonly hashKey: Buffer,
  ) {}

  /** Keys never print: not in logs, not in a debugger's `inspect`, not through JSON. */
  [inspect.custom](): string {
    return `Keyring { instances: ${this.dataKeys.size}, keys: [REDACTED] }`
  }

  toJSON(): string {
    return '[REDACTED]'
  }

  /**
   * Opens the keyring of a database: checks that `rootKey` is the key the database was created
   * with, and creates the hashing key on first use. Runs inside the start-up transaction.
   */
  static async open(trx: Kysely<Database>, rootKey: Buffer, now: number): Promise<Keyring> {
    const meta = await trx.selectFrom('meta').select(['key', 'value']).execute()
    const get = (k: string) => meta.find((m) => m.key === k)?.value
    const storedId = get('root_key_id')
    const wrappedHashKey = get('hash_key')
    if (storedId === undefined || wrappedHashKey === undefined) {
      const hashKey = randomBytes(DATA_KEY_BYTES)
      await trx
        .insertInto('meta')
        .values([
          { key: 'root_key_id', value: rootKeyId(rootKey) },
          { key: 'hash_key', value: wrapKey(rootKey, hashKey, 'hash_key').toString('base64') },
          { key: 'created_at', value: String(now) },
        ])
        .execute()
      return new Keyring(rootKey, hashKey)
    }
    if (storedId !== rootKeyId(rootKey)) {
      throw new ConfigError(
        'the root key does not match this database (it was created with another key); check STRONGROOM_ROOT_KEY or --root-key-file',
      )
    }
    return new Keyring(rootKey, unwrapKey(rootKey, Buffer.from(wrappedHashKey, 'base64'), 'hash_key'))
  }

  /**
   * Creates the first data key of a new instance, in the caller's transaction, wrapped under this
   * process's root key, which must still be the database's: `admin rotate-root-key` run while this
   * server ran (other PostgreSQL nodes) has re-wrapped every key under a new one, and a key
   * wrapped under the old one now would open with no key the operator holds. On PostgreSQL the
   * fingerprint is read with a share lock, which a rotation's update of it waits for (and this
   * for a rotation under way), so the two cannot interleave.
   */
  async createInstanceKey(
    trx: Kysely<Database>,
    dialect: Dialect,
    instanceId: string,
    now: number,
  ): Promise<void> {
    const query = trx.selectFrom('meta').select('value').where('key', '=', 'root_key_id')
    const stored = await (dialect === 'postgres' ? query.forShare() : query).executeTakeFirst()
    if (stored?.value !== rootKeyId(this.rootKey)) {
      throw new ServiceUnavailable(
        'the root key was rotated while this server ran: restart it with the new root key',
      )
    }
    const key = randomBytes(DATA_KEY_BYTES)
    await trx
      .insertInto('instance_keys')
      .values({
        instance_id: instanceId,
        version: 1,
        wrapped: wrapKey(this.rootKey, key, `instance:${instanceId}:1`),
        created_at: now,
      })
      .execute()
    this.dataKeys.set(instanceId, { version: 1, key })
  }

  async encrypt(db: Kysely<Database>, binding: Binding, plaintext: Buffer): Promise<Sealed> {
    const { version, key } = await this.currentDataKey(db, binding.instanceId)
    return { ciphertext: seal(key, plaintext, aadFor(binding, version)), keyVersion: version }
  }

  async decrypt(db: Kysely<Database>, binding: Binding, sealed: Sealed): Promise<Buffer> {
    const current = await this.currentDataKey(db, binding.instanceId)
    const key =
      current.version === sealed.keyVersion
        ? current.key
        : await this.loadDataKey(db, binding.instanceId, sealed.keyVersion)
    try {
      return open(key, sealed.ciphertext, aadFor(binding, sealed.keyVersion))
    } catch (err) {
      if (err instanceof AeadError) {
        throw new IntegrityError(
          `${binding.table} ${binding.recordId} version ${binding.version} failed its integrity check: the stored ciphertext was altered or does not belong to this record`,
          err,
        )
      }
      throw err
    }
  }

  private async currentDataKey(db: Kysely<Database>, instanceId: string) {
    const cached = this.dataKeys.get(instanceId)
    if (cached) {
      this.dataKeyCache.hits++
      return cached
    }
    this.dataKeyCache.misses++
    const row = await db
      .selectFrom('instance_keys')
      .select(['version', 'wrapped'])
      .where('instance_id', '=', instanceId)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst()
    if (!row) throw new IntegrityError(`instance ${instanceId} has no data key`)
    const entry = { version: row.version, key: this.unwrapInstanceKey(instanceId, row.version, row.wrapped) }
    this.dataKeys.set(instanceId, entry)
    return entry
  }

  private async loadDataKey(db: Kysely<Database>, instanceId: string, version: number) {
    const row = await db
      .selectFrom('instance_keys')
      .select(['wrapped'])
      .where('instance_id', '=', instanceId)
      .where('version', '=', version)
      .executeTakeFirst()
    if (!row) throw new IntegrityError(`instance ${instanceId} has no data key version ${version}`)
    return this.unwrapInstanceKey(instanceId, version, row.wrapped)
  }

  private unwrapInstanceKey(instanceId: string, version: number, wrapped: Buffer): Buffer {
    return unwrapKey(this.rootKey, wrapped, `instance:${instanceId}:${version}`)
  }
}

/**
 * Re-wraps every data key and the hashing key under `newRootKey`, in the caller's transaction.
 * Values are untouched: they are encrypted under data keys, which do not change.
 */
export async function rewrapAll(
  trx: Kysely<Database>,
  dialect: Dialect,
  oldRootKey: Buffer,
  newRootKey: Buffer,
): Promise<number> {
  // PostgreSQL: an instance created meanwhile (its key wrapped under the old root key) either
  // committed before this lock, and is re-wrapped below, or waits and is refused (createInstanceKey).
  if (dialect === 'postgres') {
    await trx.selectFrom('meta').select('value').where('key', '=', 'root_key_id').forUpdate().execute()
  }
  const meta = await trx.selectFrom('meta').select(['key', 'value']).execute()
  const storedId = meta.find((m) => m.key === 'root_key_id')?.value
  const wrappedHash = meta.find((m) => m.key === 'hash_key')?.value
  if (storedId !== rootKeyId(oldRootKey) || wrappedHash === undefined) {
    throw new ConfigError('the current root key does not match this database; nothing was changed')
  }
  const hashKey = unwrapKey(oldRootKey, Buffer.from(wrappedHash, 'base64'), 'hash_key')
  await trx
    .updateTable('meta')
    .set({ value: wrapKey(newRootKey, hashKey, 'hash_key').toString('base64') })
    .where('key', '=', 'hash_key')
    .execute()
  const keys = await trx.selectFrom('instance_keys').select(['instance_id', 'version', 'wrapped']).execute()
  for (const k of keys) {
    const label = `instance:${k.instance_id}:${k.version}`
    const dataKey = unwrapKey(oldRootKey, k.wrapped, label)
    await trx
      .updateTable('instance_keys')
      .set({ wrapped: wrapKey(newRootKey, dataKey, label) })
      .where('instance_id', '=', k.instance_id)
      .where('version', '=', k.version)
      .execute()
  }
  await trx
    .updateTable('meta')
    .set({ value: rootKeyId(newRootKey) })
    .where('key', '=', 'root_key_id')
    .execute()
  return keys.length + 1
}

/**
 * Checks, without changing anything, that `rootKey` opens this database: its fingerprint is the
 * stored one and it unwraps the hashing key and every data key. Returns how many keys it opened.
 * Catches a backup put back beside the wrong key before a server is started on it.
 */
export async function checkRootKey(db: Kysely<Database>, rootKey: Buffer): Promise<number> {
  const meta = await db.selectFrom('meta').select(['key', 'value']).execute()
  const storedId = meta.find((m) => m.key === 'root_key_id')?.value
  const wrappedHash = meta.find((m) => m.key === 'hash_key')?.value
  if (storedId === undefined || wrappedHash === undefined) return 0
  if (storedId !== rootKeyId(rootKey)) {
    throw new ConfigError(
      'the root key does not match this database (it was created with another key); use the root key kept with this database',
    )
  }
  unwrapKey(rootKey, Buffer.from(wrappedHash, 'base64'), 'hash_key')
  const keys = await db.selectFrom('instance_keys').select(['instance_id', 'version', 'wrapped']).execute()
  for (const k of keys) unwrapKey(rootKey, k.wrapped, `instance:${k.instance_id}:${k.version}`)
  return keys.length + 1
}

function aadFor(b: Binding, keyVersion: number): Buffer {
  return bindingAad('value', b.instanceId, b.table, b.recordId, b.field, b.version, keyVersion)
}

function wrapKey(rootKey: Buffer, key: Buffer, label: string): Buffer {
  return seal(rootKey, key, bindingAad('wrap', label))
}

function unwrapKey(rootKey: Buffer, wrapped: Buffer, label: string): Buffer {
  try {
    return open(rootKey, wrapped, bindingAad('wrap', label))
  } catch (cause) {
    throw new IntegrityError(`the wrapped key ${label} does not open with the root key`, cause)
  }
}
