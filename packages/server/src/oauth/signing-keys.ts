import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import type { RevokeSigningKeyBody, RotateSigningKeyBody, SigningKey } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { jwkThumbprint } from '../crypto/jwk.js'
import type { Binding } from '../crypto/keyring.js'
import { Conflict, IntegrityError, NotFound } from '../errors.js'
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
/**
 * Several nodes: the longest this node trusts its copy of an instance's keys to verify a token.
 * A key revoked through another node is refused here as soon as this node reads the change
 * (before it signs, serves the JWKS, meets an unknown kid, or answers /readyz), and at the latest
 * when its copy is this old: verifying then reads the instance's keys again (one indexed read per
 * instance and second at most while its tokens are verified). Not the change sequence: a read of
 * it queues behind the one in flight, and /readyz's would wait behind the requests' while the
 * database hangs.
 */
const REVOCATION_FOLLOW_MS = 1_000

export interface LoadedKey {
  kid: string
  alg: SigningAlg
  createdAt: number
  activateAt: number
  publicJwk: Record<string, string>
  publicKey: KeyObject
  /** Decrypted on first use only. */
  privateKey: () => Promise<KeyObject>
  revokedAt: null
}

/**
 * A key an administrator revoked: unpublished, signing nothing and verifying nothing, whatever its
 * times say. Only its times are kept (for the list, and the order of the others); its sealed
 * private key is not even opened.
 */
interface RevokedKey {
  kid: string
  alg: SigningAlg
  createdAt: number
  activateAt: number
  revokedAt: number
  revokedReason: string | null
}

type KeyRecord = LoadedKey | RevokedKey

interface InstanceKeys {
  loadedAt: number
  /** Ascending by activation. */
  keys: KeyRecord[]
}

/**
 * Per-instance signing keys for access tokens. A key's state follows from its activation time:
 * the active key is the one activated last; keys activating in the future are published early
 * (so relying parties that cache the JWKS learn them first); a key superseded by a newer active
 * key stays published for one maximum token lifetime, then leaves the JWKS. No node ever has to
 * promote or retire a key by writing: every node reaches the same answer from the same rows.
 *
 * A key that leaked is revoked (`revoke`): it leaves the JWKS at once and no token it signed is
 * accepted any more, whatever its times say. Its row gets `revoked_at` once; nothing else of a key
 * ever changes, and no key is deleted. The key that signs now cannot be revoked (a newer key must
 * be active first), so revoking never brings an older key back to signing.
 *
 * Several nodes: what a node's copy may lack is a key another node added or revoked: both record a
 * change (store/changes.ts), and this node catches up with the change sequence before it answers
 * "no such key", before it picks the key to sign with, and before it serves the JWKS; and it reads
 * an instance's keys again before it verifies a token with a copy older than a second
 * (`REVOCATION_FOLLOW_MS`), so a revocation is followed within a second even by a node that only
 * verifies.
 */
export class SigningKeys {
  private readonly cache = new Map<string, InstanceKeys>()
  /** The read of an instance's keys under way, which callers finding the copy too old join. */
  private readonly reading = new Map<string, { read: Promise<KeyRecord[]>; startedAt: number }>()
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
        this.reading.clear()
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
    const find = (keys: KeyRecord[]) => publishedAt(keys, now).find((k) => k.kid === kid)
    // A key of this node's copy may have been revoked through another node since: a copy older
    // than a second is read again before it vouches for a token. The only writer of its database
    // (solitary) made every change itself, and forgot its copy as each committed.
    const maxAge = this.s.changes.solitary ? CACHE_MS : REVOCATION_FOLLOW_MS
    const hit = find(await this.keys(instanceId, false, maxAge))
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

  /** The published keys, and those revoked within the last maximum token lifetime. */
  async list(instanceId: string): Promise<SigningKey[]> {
    const keys = await this.keys(instanceId, true)
    const now = this.s.now()
    return keys
      .map((_k, i) => describe(keys, i, now))
      .filter((k) =>
        k.revokedTime !== null
          ? k.revokedTime + MAX_TOKEN_LIFETIME_MS > now
          : k.unpublishTime === null || k.unpublishTime > now,
      )
  }

  /** Adds a key that starts signing after `activateAfterSeconds` (published from now on); audited. */
  async rotate(caller: Caller, instanceId: string, body: RotateSigningKeyBody): Promise<SigningKey> {
    const now = this.s.now()
    const activateAt = now + (body.activateAfterSeconds ?? DEFAULT_ACTIVATE_AFTER_S) * 1000
    const kid = await this.s.committer.run((unit) =>
      this.insertKey(unit, caller.actor, instanceId, body.alg ?? 'EdDSA', activateAt, caller),
    )
    return this.describeFresh(instanceId, kid, now)
  }

  /**
   * Revokes a key (after it leaked): it leaves the JWKS and verifies no token from the commit on,
   * on this node at once and on the others once they read the change, within a second. Audited.
   * Revoking a revoked key again changes nothing and writes no event. The key that signs now is
   * refused (409): rotate with `activateAfterSeconds: 0` first, so another key signs, then revoke.
   */
  async revoke(
    caller: Caller,
    instanceId: string,
    kid: string,
    body: RevokeSigningKeyBody,
  ): Promise<SigningKey> {
    const now = this.s.now()
    await this.s.committer.run(async (unit) => {
      const trx = unit.trx
      const rows = await trx
        .selectFrom('signing_keys')
        .select(['kid', 'alg', 'activate_at', 'revoked_at'])
        .where('instance_id', '=', instanceId)
        .orderBy('activate_at')
        .orderBy('kid')
        .execute()
      const row = rows.find((r) => r.kid === kid)
      if (!row) throw new NotFound('NotFound', `signing key ${kid} does not exist in instance ${instanceId}`)
      if (row.revoked_at !== null) return
      let active: string | undefined
      for (const r of rows) if (Number(r.activate_at) <= now && r.revoked_at === null) active = r.kid
      if (active === kid) {
        throw new Conflict(
          'Conflict',
          `signing key ${kid} is the instance's active key, and no other key signs yet: rotate first ` +
            '(`strongroom signing-key rotate --activate-after 0`, or activateAfterSeconds 0), then revoke it',
          'kid',
        )
      }
      const updated = await trx
        .updateTable('signing_keys')
        .set({ revoked_at: now, revoked_reason: body.reason })
        .where('instance_id', '=', instanceId)
        .where('kid', '=', kid)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      // Revoked by another node a moment ago: its event is the one.
      if (Number(updated.numUpdatedRows) !== 1) return
      // Every node forgets its copy of this instance's keys once this commits.
      unit.changes.record({ kind: 'signing_keys', instanceId, key: instanceId })
      await unit.audit.append({
        instanceId,
        actor: caller.actor,
        action: 'signing_key.revoke',
        resource: { type: 'signing_key', id: kid },
        outcome: 'success',
        reason: body.reason,
        details: { alg: row.alg, activateAt: Number(row.activate_at) },
        request: caller.request,
      })
    })
    return this.describeFresh(instanceId, kid, this.s.now())
  }

  private async describeFresh(instanceId: string, kid: string, now: number): Promise<SigningKey> {
    const keys = await this.keys(instanceId, true)
    const index = keys.findIndex((k) => k.kid === kid)
    if (index < 0) throw new Error(`signing key ${kid} of ${instanceId} vanished`)
    return describe(keys, index, now)
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

  private async keys(instanceId: string, fresh = false, maxAgeMs = CACHE_MS): Promise<KeyRecord[]> {
    const cached = this.cache.get(instanceId)
    const now = this.s.now()
    // Not a copy from "the future": a clock stepped back would otherwise make it young for as long
    // as the step, and a revocation would go unfollowed that long.
    if (!fresh && cached && now - cached.loadedAt < maxAgeMs && now >= cached.loadedAt) {
      this.cacheStats.hits++
      return cached.keys
    }
    // Requests that find the copy too old together share one read: at each expiry of the
    // one-second copy, every verification in flight read the table itself. Only a read started
    // within the age asked for, though: one still unanswered from longer ago (a stalled link to
    // the database) would hand a request arriving now what was committed before a revocation
    // acknowledged since (found by a review holding PostgreSQL's replies back).
    const pending = fresh ? undefined : this.reading.get(instanceId)
    if (pending && now - pending.startedAt < maxAgeMs && now >= pending.startedAt) return pending.read
    const read = this.read(instanceId, now)
    if (!fresh) {
      const entry = { read, startedAt: now }
      this.reading.set(instanceId, entry)
      read
        .finally(() => {
          if (this.reading.get(instanceId) === entry) this.reading.delete(instanceId)
        })
        .catch(() => {})
    }
    return read
  }

  private async read(instanceId: string, now: number): Promise<KeyRecord[]> {
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
    // A read under way may predate the change: later callers do not join it.
    this.reading.delete(instanceId)
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
  private async load(db: Kysely<Database>, row: SigningKeyTable): Promise<KeyRecord> {
    if (row.revoked_at !== null) {
      // Never used again: no key material is kept, and the row's plain columns vouch for nothing.
      this.privateKeys.delete(row.kid)
      return {
        kid: row.kid,
        alg: row.alg,
        createdAt: Number(row.created_at),
        activateAt: Number(row.activate_at),
        revokedAt: Number(row.revoked_at),
        revokedReason: row.revoked_reason,
      }
    }
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
      revokedAt: null,
    }
  }
}

function binding(instanceId: string, kid: string): Binding {
  return { instanceId, table: 'signing_keys', recordId: kid, field: 'private_key', version: 1 }
}

/**
 * Whether the key signs, signed or will sign: not revoked before its activation. A key revoked
 * while it was still to come never signed, so it supersedes no other key.
 */
function signs(k: KeyRecord): boolean {
  return k.revokedAt === null || k.revokedAt > k.activateAt
}

/** The key activated last among those already activated and not revoked. */
function activeAt(keys: KeyRecord[], now: number): LoadedKey | undefined {
  let active: LoadedKey | undefined
  for (const k of keys) if (k.activateAt <= now && k.revokedAt === null) active = k
  return active
}

/** The key that took over from `keys[index]`, or will: the next one that signs. */
function successorOf(keys: KeyRecord[], index: number): KeyRecord | undefined {
  return keys.slice(index + 1).find(signs)
}

/**
 * Keys in the JWKS at `now`: the active one, future ones, and superseded ones whose tokens may
 * still be valid; never a revoked one.
 */
function publishedAt(keys: KeyRecord[], now: number): LoadedKey[] {
  const active = activeAt(keys, now)
  return keys.filter((k, i): k is LoadedKey => {
    if (k.revokedAt !== null) return false
    if (k === active || k.activateAt > now) return true
    const successor = successorOf(keys, i)
    return (
      successor !== undefined &&
      successor.activateAt <= now &&
      successor.activateAt + MAX_TOKEN_LIFETIME_MS > now
    )
  })
}

function describe(keys: KeyRecord[], index: number, now: number): SigningKey {
  const k = keys[index]!
  const next = signs(k) ? successorOf(keys, index) : undefined
  const retireTime = next ? next.activateAt : null
  const revoked = k.revokedAt !== null
  return {
    kid: k.kid,
    alg: k.alg,
    status: revoked
      ? 'revoked'
      : k.activateAt > now
        ? 'next'
        : retireTime !== null && retireTime <= now
          ? 'retired'
          : 'active',
    createTime: k.createdAt,
    activateTime: k.activateAt,
    retireTime,
    unpublishTime: revoked ? k.revokedAt : retireTime === null ? null : retireTime + MAX_TOKEN_LIFETIME_MS,
    revokedTime: k.revokedAt,
    revokedReason: k.revokedAt === null ? null : k.revokedReason,
  }
}
