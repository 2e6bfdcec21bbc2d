import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import type { RotateSigningKeyBody, SigningKey } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { jwkThumbprint } from '../crypto/jwk.js'
import type { Binding } from '../crypto/keyring.js'
import { IntegrityError } from '../errors.js'
import { CacheStats } from '../metrics/cache-stats.js'
import type { Caller, Services } from '../services.js'
import type { Unit } from '../store/committer.js'
import type { Database, SigningKeyTable } from '../store/schema.js'

export type SigningAlg = SigningKeyTable['alg']

/** The longest an access token lives; a superseded key stays published this long after it stops signing. */
export const MAX_TOKEN_LIFETIME_MS = 86_400_000
const DEFAULT_ACTIVATE_AFTER_S = 600
/**
 * How long a node trusts its copy of an instance's keys without hearing of a change: a backstop
 * only, for keys added by a server that records no change (an older version, during an upgrade).
 * A key added through any node of this version reaches the others through the change sequence.
 */
const CACHE_MS = 60_000
/**
 * Instances whose keys are kept at most. Any well-formed instance id reaches `published` from an
 * unauthenticated request (its answer, that it has no key, is kept like any other): made-up ids
 * grew the map by ~380 bytes a request, without end. Past this, the oldest entry goes.
 */
const MAX_CACHED_INSTANCES = 10_000
/** A kid unknown even after catching up is looked for in the table again at most this often. */
const UNKNOWN_KID_REREAD_MS = 1_000

export interface LoadedKey {
  kid: string
  alg: SigningAlg
  createdAt: number
  activateAt: number
  publicJwk: Record<string, string>
  publicKey: KeyObject
  /** Decrypted on first use only. */
  privateKey: () => Promise<KeyObject>
}

interface InstanceKeys {
  loadedAt: number
  /** Ascending by activation. */
  keys: LoadedKey[]
}

/**
 * Per-instance signing keys for access tokens. A key's state follows from its activation time:
 * the active key is the one activated last; keys activating in the future are published early
 * (so relying parties that cache the JWKS learn them first); a key superseded by a newer active
 * key stays published for one maximum token lifetime, then leaves the JWKS. No node ever has to
 * promote or retire a key by writing: every node reaches the same answer from the same rows.
 *
 * Several nodes: a key is never changed or deleted once written, so a key found in this node's
 * copy is right. What the copy may lack is a key another node added: adding one records a change
 * (store/changes.ts), and this node catches up with the change sequence before it answers "no such
 * key", before it picks the key to sign with, and before it serves the JWKS.
 */
export class SigningKeys {
  private readonly cache = new Map<string, InstanceKeys>()
  /** Bumped for an instance by each change to its keys: a read that started before it is not kept. */
  private readonly generations = new Map<string, number>()
  private epoch = 0
  /** Reads of an instance's keys: a miss (or a forced fresh read) goes to the database. */
  readonly cacheStats = new CacheStats()
  private readonly privateKeys = new Map<string, Promise<KeyObject>>()

  constructor(private readonly s: Pick<Services, 'store' | 'keyring' | 'now' | 'committer' | 'changes'>) {
    s.changes.on('signing_keys', {
      evict: (change) => this.forget(change.instanceId),
      evictAll: () => {
        this.epoch++
        this.cache.clear()
      },
    })
  }

  /** The key to sign with now, creating the instance's first key when it has none. */
  async active(instanceId: string): Promise<LoadedKey> {
    // A key another node activated a moment ago signs here too, from the next token on.
    await this.s.changes.sync()
    const now = this.s.now()
    let key = activeAt(await this.keys(instanceId), now)
    if (!key) {
      await this.s.committer.run((unit) =>
        this.insertKey(unit, { type: 'system', id: 'signing-keys' }, instanceId, 'EdDSA', now, null),
      )
      key = activeAt(await this.keys(instanceId, true), now)
    }
    if (!key) throw new Error(`instance ${instanceId} has no active signing key`)
    return key
  }

  /**
   * A published key by kid, for verification. A kid this node does not know may be a key another
   * node just added: it catches up with the change sequence first (one indexed read, shared by
   * concurrent callers), and only then answers that there is no such key.
   */
  async published(instanceId: string, kid: string): Promise<LoadedKey | undefined> {
    const now = this.s.now()
    const find = (keys: LoadedKey[]) => publishedAt(keys, now).find((k) => k.kid === kid)
    const hit = find(await this.keys(instanceId))
    if (hit) return hit
    await this.s.changes.sync()
    const cached = this.cache.get(instanceId)
    const found = find(await this.keys(instanceId))
    if (found || (cached && now - cached.loadedAt < UNKNOWN_KID_REREAD_MS)) return found
    return find(await this.keys(instanceId, true))
  }

  /** The JWKS (RFC 7517) of the instance: every key that is or will be in use, or signed tokens still valid. */
  async jwks(instanceId: string): Promise<{ keys: Record<string, string>[] }> {
    await this.s.changes.sync()
    return { keys: publishedAt(await this.keys(instanceId), this.s.now()).map((k) => k.publicJwk) }
  }

  /** How many instances' keys this node keeps now. */
  get cachedInstances(): number {
    return this.cache.size
  }

  async list(instanceId: string): Promise<SigningKey[]> {
    const keys = await this.keys(instanceId, true)
    const now = this.s.now()
    return keys
      .map((k, i) => describe(k, keys[i + 1], now))
      .filter((k) => k.unpublishTime === null || k.unpublishTime > now)
  }

  /** Adds a key that starts signing after `activateAfterSeconds` (published from now on); audited. */
  async rotate(caller: Caller, instanceId: string, body: RotateSigningKeyBody): Promise<SigningKey> {
    const now = this.s.now()
    const activateAt = now + (body.activateAfterSeconds ?? DEFAULT_ACTIVATE_AFTER_S) * 1000
    const kid = await this.s.committer.run((unit) =>
      this.insertKey(unit, caller.actor, instanceId, body.alg ?? 'EdDSA', activateAt, caller),
    )
    const keys = await this.keys(instanceId, true)
    const index = keys.findIndex((k) => k.kid === kid)
    return describe(keys[index]!, keys[index + 1], now)
  }

  private async insertKey(
    unit: Unit,
    actor: Caller['actor'],
    instanceId: string,
    alg: SigningAlg,
    activateAt: number,
    caller: Caller | null,
  ): Promise<string> {
    const { trx, audit } = unit
    const { publicKey, privateKey } =
      alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>
    const kid = jwkThumbprint(jwk)
    const sealed = await this.s.keyring.encrypt(
      trx,
      binding(instanceId, kid),
      privateKey.export({ format: 'der', type: 'pkcs8' }),
    )
    const now = this.s.now()
    await trx
      .insertInto('signing_keys')
      .values({
        kid,
        instance_id: instanceId,
        alg,
        public_jwk: JSON.stringify({ ...jwk, kid, alg, use: 'sig' }),
        private_key: sealed.ciphertext,
        key_version: sealed.keyVersion,
        created_at: now,
        activate_at: activateAt,
      })
      .execute()
    // Every other node forgets its copy of this instance's keys once this commits.
    unit.changes.record({ kind: 'signing_keys', instanceId, key: instanceId })
    await audit.append({
      instanceId,
      actor,
      action: 'signing_key.create',
      resource: { type: 'signing_key', id: kid },
      outcome: 'success',
      details: { alg, activateAt },
      ...(caller ? { request: caller.request } : {}),
    })
    return kid
  }

  private async keys(instanceId: string, fresh = false): Promise<LoadedKey[]> {
    const cached = this.cache.get(instanceId)
    const now = this.s.now()
    if (!fresh && cached && now - cached.loadedAt < CACHE_MS) {
      this.cacheStats.hits++
      return cached.keys
    }
    this.cacheStats.misses++
    const generation = this.generationOf(instanceId)
    const rows = await this.s.store.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .orderBy('activate_at')
      .orderBy('kid')
      .execute()
    const keys = await Promise.all(rows.map((row) => this.load(this.s.store.db, row)))
    // A change heard of while this read was under way may be newer than what it read: not kept.
    if (this.generationOf(instanceId) === generation) {
      this.cache.delete(instanceId)
      this.cache.set(instanceId, { loadedAt: now, keys })
      if (this.cache.size > MAX_CACHED_INSTANCES) this.cache.delete(this.cache.keys().next().value!)
    }
    return keys
  }

  private generationOf(instanceId: string): string {
    return `${this.epoch}.${this.generations.get(instanceId) ?? 0}`
  }

  /** Another node changed this instance's keys: the next use reads them again. */
  private forget(instanceId: string): void {
    this.cache.delete(instanceId)
    this.generations.set(instanceId, (this.generations.get(instanceId) ?? 0) + 1)
  }

  /**
   * A key as its row holds it, trusted only as far as its sealed private key: the public key that
   * verifies tokens is derived from it, and the stored public JWK (what the JWKS publishes) must
   * be that key. The row's other columns are plain: whoever can write the database could
   * otherwise add a key of their own (any bytes for the private part) and sign tokens any
   * workload of the instance would be taken for. The private key's seal binds it to this
   * instance and kid, so such a row fails here, and every use of the instance's keys with it.
   */
  private async load(db: Kysely<Database>, row: SigningKeyTable): Promise<LoadedKey> {
    let privateKey = this.privateKeys.get(row.kid)
    if (!privateKey) {
      privateKey = this.s.keyring
        .decrypt(db, binding(row.instance_id, row.kid), {
          ciphertext: row.private_key,
          keyVersion: row.key_version,
        })
        .then((der) => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }))
      privateKey.catch(() => this.privateKeys.delete(row.kid))
      this.privateKeys.set(row.kid, privateKey)
    }
    const publicKey = createPublicKey(await privateKey)
    const publicJwk = JSON.parse(row.public_jwk) as Record<string, string>
    const derived = publicKey.export({ format: 'jwk' }) as Record<string, string>
    for (const member of Object.keys(derived)) {
      if (publicJwk[member] !== derived[member]) {
        throw new IntegrityError(
          `signing key ${row.kid} of ${row.instance_id}: its public key is not its sealed private key's`,
        )
      }
    }
    const sealed = privateKey
    return {
      kid: row.kid,
      alg: row.alg,
      createdAt: Number(row.created_at),
      activateAt: Number(row.activate_at),
      publicJwk,
      publicKey,
      privateKey: () => sealed,
    }
  }
}

function binding(instanceId: string, kid: string): Binding {
  return { instanceId, table: 'signing_keys', recordId: kid, field: 'private_key', version: 1 }
}

/** The key activated last among those already activated. */
function activeAt(keys: LoadedKey[], now: number): LoadedKey | undefined {
  let active: LoadedKey | undefined
  for (const k of keys) if (k.activateAt <= now) active = k
  return active
}

/** Keys in the JWKS at `now`: the active one, future ones, and superseded ones whose tokens may still be valid. */
function publishedAt(keys: LoadedKey[], now: number): LoadedKey[] {
  const active = activeAt(keys, now)
  return keys.filter((k, i) => {
    if (k === active || k.activateAt > now) return true
    const successor = keys.slice(i + 1).find((n) => n.activateAt <= now)
    return successor !== undefined && successor.activateAt + MAX_TOKEN_LIFETIME_MS > now
  })
}

function describe(k: LoadedKey, next: LoadedKey | undefined, now: number): SigningKey {
  const retireTime = next ? next.activateAt : null
  return {
    kid: k.kid,
    alg: k.alg,
    status: k.activateAt > now ? 'next' : retireTime !== null && retireTime <= now ? 'retired' : 'active',
    createTime: k.createdAt,
    activateTime: k.activateAt,
    retireTime,
    unpublishTime: retireTime === null ? null : retireTime + MAX_TOKEN_LIFETIME_MS,
  }
}
