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

/**
 * Seals one process makes under one data key version before it starts the next version. Values
 * are AES-GCM with a random 96-bit nonce: NIST SP 800-38D (§8.3) allows 2^32 seals per key that
 * way, keeping the chance that two seals share a nonce below 2^-32 (it is about n²/2^97 after n
 * seals). Every process (each node, each worker of `serve --workers`) counts its own seals, in
 * memory: 2^28 each lets 16 processes seal a whole allowance under one version before they reach
 * 2^32 together, and one process alone stays near 2^-41. In practice the others move on within
 * DATA_KEY_REFRESH_MS of the first one making the new version. At 2,000 seals a second a process
 * reaches 2^28 in about 37 hours.
 */
export const SEALS_PER_VERSION = 2 ** 28

/**
 * A version older than this is replaced at its next seal. The count above starts again at 0 in
 * every new process (a restart, a new worker), so a process restarted before it reaches the count
 * would otherwise seal under one version without end; this bounds it: to reach 2^32 seals within
 * 7 days an instance must average about 7,100 seals a second (2^32 / 604,800 s). Costs one
 * comparison per seal.
 */
export const MAX_VERSION_AGE_MS = 7 * 86_400_000

/**
 * How long this process seals under the version it holds before it reads the instance's newest
 * version again, to use one that another node or process made. Sealing under an older version is
 * never wrong (a value carries its version); this is what keeps the nodes on the newest one, and
 * how a node still running with a rotated root key finds out (see `rewrapAll`).
 */
export const DATA_KEY_REFRESH_MS = 60_000

/** After a failed attempt to make a version, how long before the next attempt. */
const RETRY_MS = 1_000

const ROTATED = 'the root key was rotated while this server ran: restart it with the new root key'

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

export interface KeyringOptions {
  /**
   * Writes a new data key version in a unit of its own and resolves once it has committed (the
   * server gives its committer). Without it the keyring makes no version by use: it seals under
   * the newest one it finds (offline tools, tests).
   */
  readonly writer?: {
    readonly dialect: Dialect
    run<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T>
  }
  /** The clock of the version ages and of DATA_KEY_REFRESH_MS (the services' clock). */
  readonly now?: () => number
  /** SEALS_PER_VERSION; lower in tests. */
  readonly sealsPerVersion?: number
  /** MAX_VERSION_AGE_MS; changed in tests. */
  readonly maxVersionAgeMs?: number
}

/** The version new values of an instance are sealed under, as this process holds it. */
interface CurrentKey {
  readonly version: number
  readonly key: Buffer
  readonly createdAt: number
  /** Seals this process made under it. */
  seals: number
  /** When the instance's newest version was last read. */
  checkedAt: number
}

interface InstanceKeys {
  current: CurrentKey | null
  /** Every version this process has unwrapped: a data key never changes once it exists. */
  readonly versions: Map<number, Buffer>
  /** A new version being written in a unit of its own, not yet committed. */
  making: Promise<void> | null
  /** After a failed attempt: no new one before this time. */
  retryAt: number
}

interface KeyRow {
  version: number
  wrapped: Buffer
  created_at: number | string
}

/**
 * The key hierarchy: root key (never stored) → per-instance data keys (stored wrapped, in
 * versions) → values. New values are sealed under the newest version this process holds; a value
 * names its version, and opens with that one for good. Unwrapped data keys are cached in memory;
 * values are not.
 *
 * A new version is made when this process has sealed SEALS_PER_VERSION values under the current
 * one, or when the current one is older than MAX_VERSION_AGE_MS: in a unit of its own (the
 * writer), committed before anything is sealed under it, so a crash or a rolled-back batch never
 * leaves a value whose key is not stored. Until that unit has committed, seals go on under the
 * version before. Two processes making the same version: the primary key (instance_id, version)
 * keeps one row; the other writes nothing and uses that row's key.
 */
export class Keyring {
  private readonly instances = new Map<string, InstanceKeys>()
  /** Set once this process knows the database has a newer root key than the one it holds. */
  private refusal: string | null = null
  private readonly now: () => number
  private readonly writer: KeyringOptions['writer']
  private readonly sealsPerVersion: number
  private readonly maxVersionAgeMs: number
  /** Lookups of data keys (the current one when sealing, a value's one when opening): a miss reads and unwraps it. */
  readonly dataKeyCache = new CacheStats()

  constructor(
    private rootKey: Buffer,
    /** The HMAC key for minted-secret hashes; stored wrapped by the root key, like data keys. */
    readonly hashKey: Buffer,
    options: KeyringOptions = {},
  ) {
    this.now = options.now ?? Date.now
    this.writer = options.writer
    this.sealsPerVersion = options.sealsPerVersion ?? SEALS_PER_VERSION
    this.maxVersionAgeMs = options.maxVersionAgeMs ?? MAX_VERSION_AGE_MS
  }

  /** Keys never print: not in logs, not in a debugger's `inspect`, not through JSON. */
  [inspect.custom](): string {
    return `Keyring { instances: ${this.instances.size}, keys: [REDACTED] }`
  }

  toJSON(): string {
    return '[REDACTED]'
  }

  /**
   * Opens the keyring of a database: checks that `rootKey` is the key the database was created
   * with, and creates the hashing key on first use. Runs inside the start-up transaction.
   */
  static async open(
    trx: Kysely<Database>,
    rootKey: Buffer,
    now: number,
    options: KeyringOptions = {},
  ): Promise<Keyring> {
    const meta = await trx.selectFrom('meta').select(['key', 'value']).execute()
    const get = (k: string) => meta.find((m) => m.key === k)?.value
    const storedId = get('root_key_id')
    const wrappedHashKey = get('hash_key')
    if (storedId === undefined || wrappedHashKey === undefined) {
      await refuseLostKeyRecord(trx)
      const hashKey = randomBytes(DATA_KEY_BYTES)
      await trx
        .insertInto('meta')
        .values([
          { key: 'root_key_id', value: rootKeyId(rootKey) },
          { key: 'hash_key', value: wrapKey(rootKey, hashKey, 'hash_key').toString('base64') },
          { key: 'created_at', value: String(now) },
        ])
        .execute()
      return new Keyring(rootKey, hashKey, options)
    }
    if (storedId !== rootKeyId(rootKey)) {
      throw new ConfigError(
        'the root key does not match this database (it was created with another key); check STRONGROOM_ROOT_KEY or --root-key-file',
      )
    }
    return new Keyring(
      rootKey,
      unwrapKey(rootKey, Buffer.from(wrappedHashKey, 'base64'), 'hash_key'),
      options,
    )
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
    await this.checkRootKeyUnchanged(trx, dialect === 'postgres')
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
    this.adopt(instanceId, { version: 1, key, createdAt: now })
  }

  async encrypt(db: Kysely<Database>, binding: Binding, plaintext: Buffer): Promise<Sealed> {
    const { version, key } = await this.sealingKey(db, binding.instanceId)
    return { ciphertext: seal(key, plaintext, aadFor(binding, version)), keyVersion: version }
  }

  async decrypt(db: Kysely<Database>, binding: Binding, sealed: Sealed): Promise<Buffer> {
    const key = await this.versionKey(db, binding.instanceId, sealed.keyVersion)
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

  /** Resolves once the versions this process is making are written (or have failed): for tests. */
  async settled(): Promise<void> {
    for (;;) {
      const making = [...this.instances.values()].flatMap((e) => (e.making ? [e.making] : []))
      if (making.length === 0) return
      await Promise.all(making)
    }
  }

  /**
   * The version to seal under, counted. In the steady state no database read: the newest version
   * is read again once every DATA_KEY_REFRESH_MS per instance, by the one caller that finds it due
   * (the others seal under what is held meanwhile).
   */
  private async sealingKey(db: Kysely<Database>, instanceId: string): Promise<CurrentKey> {
    if (this.refusal !== null) throw new ServiceUnavailable(this.refusal)
    const now = this.now()
    let entry = this.instances.get(instanceId)
    let current = entry?.current
    if (entry && current) {
      this.dataKeyCache.hits++
      // Not while this process is writing a version: read through a batch's transaction, its row
      // could be seen before it is committed.
      if (now - current.checkedAt >= DATA_KEY_REFRESH_MS && entry.making === null) {
        current = await this.refresh(db, instanceId, current, now)
      }
    } else {
      this.dataKeyCache.misses++
      const row = await newestKey(db, instanceId)
      if (!row) throw new IntegrityError(`instance ${instanceId} has no data key`)
      current = this.adopt(instanceId, {
        version: row.version,
        key: await this.unwrapNewest(db, instanceId, row),
        createdAt: Number(row.created_at),
      })
      entry = this.entry(instanceId)
    }
    if (this.refusal !== null) throw new ServiceUnavailable(this.refusal)
    current.seals++
    if (this.writer) {
      if (current.seals >= this.sealsPerVersion || now - current.createdAt >= this.maxVersionAgeMs) {
        this.makeNextVersion(instanceId, entry, current.version, now)
      }
      // Far past the bound, the next version has not been written yet (the database refuses it):
      // no more seals under this one.
      if (current.seals > 2 * this.sealsPerVersion) {
        throw new ServiceUnavailable(
          `instance ${instanceId}'s data key version ${current.version} has sealed all it may, and its next version could not be written yet; retry`,
        )
      }
    }
    return current
  }

  /** Reads the instance's newest version; one another process made replaces what is held. */
  private async refresh(
    db: Kysely<Database>,
    instanceId: string,
    current: CurrentKey,
    now: number,
  ): Promise<CurrentKey> {
    const checked = current.checkedAt
    current.checkedAt = now
    let row: KeyRow | undefined
    try {
      row = await newestKey(db, instanceId)
    } catch (err) {
      current.checkedAt = checked
      throw err
    }
    if (row && row.version > current.version) {
      return this.adopt(instanceId, {
        version: row.version,
        key: await this.unwrapNewest(db, instanceId, row),
        createdAt: Number(row.created_at),
      })
    }
    return this.instances.get(instanceId)?.current ?? current
  }

  /** Starts writing version `after + 1`, unless it is being written already or failed just now. */
  private makeNextVersion(instanceId: string, entry: InstanceKeys, after: number, now: number): void {
    const writer = this.writer
    if (!writer || entry.making !== null || now < entry.retryAt) return
    entry.making = Promise.resolve()
      .then(() => writer.run((trx) => this.writeVersion(trx, writer.dialect, instanceId, after)))
      .then(
        (made) => {
          this.adopt(instanceId, made)
        },
        () => {
          // Seals go on under the version held, up to twice the bound; tried again after RETRY_MS.
          entry.retryAt = this.now() + RETRY_MS
        },
      )
      .finally(() => {
        entry.making = null
      })
  }

  /**
   * Writes version `after + 1` of the instance's data key, in a unit of the writer's. If a newer
   * version than `after` exists already, or another process writes `after + 1` first (its row is
   * waited for on PostgreSQL, and this insert then writes nothing), that version's key is used.
   */
  private async writeVersion(
    trx: Kysely<Database>,
    dialect: Dialect,
    instanceId: string,
    after: number,
  ): Promise<{ version: number; key: Buffer; createdAt: number }> {
    await this.checkRootKeyUnchanged(trx, dialect === 'postgres')
    const newest = await newestKey(trx, instanceId)
    if (!newest) throw new IntegrityError(`instance ${instanceId} has no data key`)
    if (newest.version <= after) {
      const version = newest.version + 1
      await trx
        .insertInto('instance_keys')
        .values({
          instance_id: instanceId,
          version,
          wrapped: wrapKey(this.rootKey, randomBytes(DATA_KEY_BYTES), `instance:${instanceId}:${version}`),
          created_at: this.now(),
        })
        .onConflict((oc) => oc.columns(['instance_id', 'version']).doNothing())
        .execute()
    }
    // This process's row, or the one that was there first.
    const row = await newestKey(trx, instanceId)
    if (!row) throw new IntegrityError(`instance ${instanceId} has no data key`)
    return {
      version: row.version,
      key: this.unwrapInstanceKey(instanceId, row.version, row.wrapped),
      createdAt: Number(row.created_at),
    }
  }

  /** Makes `made` the version to seal under, unless a newer one is held already; returns the one held. */
  private adopt(instanceId: string, made: { version: number; key: Buffer; createdAt: number }): CurrentKey {
    const entry = this.entry(instanceId)
    entry.versions.set(made.version, made.key)
    if (!entry.current || made.version > entry.current.version) {
      entry.current = { ...made, seals: 0, checkedAt: this.now() }
    }
    return entry.current
  }

  private entry(instanceId: string): InstanceKeys {
    let entry = this.instances.get(instanceId)
    if (!entry) {
      entry = { current: null, versions: new Map(), making: null, retryAt: 0 }
      this.instances.set(instanceId, entry)
    }
    return entry
  }

  /** The key of one version, to open a value: cached for good once unwrapped. */
  private async versionKey(db: Kysely<Database>, instanceId: string, version: number): Promise<Buffer> {
    const known = this.instances.get(instanceId)?.versions.get(version)
    if (known) {
      this.dataKeyCache.hits++
      return known
    }
    this.dataKeyCache.misses++
    const row = await db
      .selectFrom('instance_keys')
      .select(['wrapped'])
      .where('instance_id', '=', instanceId)
      .where('version', '=', version)
      .executeTakeFirst()
    if (!row) throw new IntegrityError(`instance ${instanceId} has no data key version ${version}`)
    // As for the newest: a version that does not open because the root key was rotated under this
    // process is 503 (restart with the new key), not a sign of tampering.
    const key = await this.unwrapNewest(db, instanceId, { version, wrapped: row.wrapped, created_at: 0 })
    this.entry(instanceId).versions.set(version, key)
    return key
  }

  /**
   * Unwraps a version (the newest, to seal under, or a value's). One that does not open while the
   * database's root key is no longer this process's was added by `admin rotate-root-key`: from
   * then on this process seals nothing (what it seals would open with the old root key), and
   * answers 503 for what it cannot open.
   */
  private async unwrapNewest(db: Kysely<Database>, instanceId: string, row: KeyRow): Promise<Buffer> {
    try {
      return this.unwrapInstanceKey(instanceId, row.version, row.wrapped)
    } catch (err) {
      await this.checkRootKeyUnchanged(db, false)
      throw err
    }
  }

  /**
   * Refuses (503), now and for every later seal, when the database's root key fingerprint is no
   * longer this process's. `share`: read it with a share lock (PostgreSQL), which a rotation's
   * update of it waits for, so a key wrapped here cannot interleave with a rotation.
   */
  private async checkRootKeyUnchanged(db: Kysely<Database>, share: boolean): Promise<void> {
    const query = db.selectFrom('meta').select('value').where('key', '=', 'root_key_id')
    const stored = await (share ? query.forShare() : query).executeTakeFirst()
    if (stored?.value !== rootKeyId(this.rootKey)) {
      this.refusal = ROTATED
      throw new ServiceUnavailable(ROTATED)
    }
  }

  private unwrapInstanceKey(instanceId: string, version: number, wrapped: Buffer): Buffer {
    return unwrapKey(this.rootKey, wrapped, `instance:${instanceId}:${version}`)
  }
}

function newestKey(db: Kysely<Database>, instanceId: string): Promise<KeyRow | undefined> {
  return db
    .selectFrom('instance_keys')
    .select(['version', 'wrapped', 'created_at'])
    .where('instance_id', '=', instanceId)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst()
}

/**
 * Re-wraps every data key and the hashing key under `newRootKey`, in the caller's transaction,
 * and adds a new data key version to every instance, wrapped under `newRootKey` only: values
 * written from now on are sealed under it, so they need the new root key (the old root key with
 * a copy of the database taken before opens only versions that copy holds). Values already
 * written are untouched, under their versions. Returns how many keys were re-wrapped.
 */
export async function rewrapAll(
  trx: Kysely<Database>,
  dialect: Dialect,
  oldRootKey: Buffer,
  newRootKey: Buffer,
): Promise<number> {
  // PostgreSQL: an instance created meanwhile (its key wrapped under the old root key) either
  // committed before this lock, and is re-wrapped below, or waits and is refused (createInstanceKey).
  // The same holds for a version written by use (Keyring.writeVersion).
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
  const newest = new Map<string, number>()
  for (const k of keys) {
    const label = `instance:${k.instance_id}:${k.version}`
    const dataKey = unwrapKey(oldRootKey, k.wrapped, label)
    await trx
      .updateTable('instance_keys')
      .set({ wrapped: wrapKey(newRootKey, dataKey, label) })
      .where('instance_id', '=', k.instance_id)
      .where('version', '=', k.version)
      .execute()
    newest.set(k.instance_id, Math.max(newest.get(k.instance_id) ?? 0, k.version))
  }
  const now = Date.now()
  for (const [instanceId, version] of newest) {
    const next = version + 1
    await trx
      .insertInto('instance_keys')
      .values({
        instance_id: instanceId,
        version: next,
        wrapped: wrapKey(newRootKey, randomBytes(DATA_KEY_BYTES), `instance:${instanceId}:${next}`),
        created_at: now,
      })
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
  if (storedId === undefined || wrappedHash === undefined) {
    await refuseLostKeyRecord(db)
    return 0
  }
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

/**
 * A database without the record of its root key and hashing key (`meta`) is one that never
 * started, or one that lost them. One that holds instances or data keys has lost them: served,
 * it was taken for a first start (a new hashing key, so every admin token and client secret was
 * refused, and a second default instance was made), and a restore of it said its root key opened
 * "all 0" wrapped keys (found by a review that deleted those rows from a backup).
 */
async function refuseLostKeyRecord(db: Kysely<Database>): Promise<void> {
  const held = await db
    .selectFrom('instance_keys')
    .select('instance_id')
    .union(db.selectFrom('instances').select('id as instance_id'))
    .limit(1)
    .execute()
  if (held.length > 0) {
    throw new ConfigError(
      'this database holds instances but has lost the record of its root key and hashing key (meta: root_key_id, hash_key): it is damaged or was edited; restore another backup',
    )
  }
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
