// @ts-check
/**
 * Seeds a strongroom SQLite data dir directly, with the server stopped: building a million rows
 * through the API would take the better part of an hour. Every row is what the server itself
 * writes, made with the server's own functions (packages/server/dist): ids from `newId`, values
 * sealed by the database's `Keyring` under the binding the server opens them with, JWTs signed
 * with the provider's key (`signJwt`) and recorded by their keyed hash, audit events hashed onto
 * the instance's chain by `eventHash` over `canonicalJson`, the chain head moved with them. So
 * `audit verify` accepts the chain, the server obtains a seeded credential and validates a
 * seeded JWT (bench/scale.mjs checks one of each before it measures anything).
 *
 * Rows go in through prepared statements, many thousands per transaction; the database is
 * checkpointed (WAL truncated) at the end so its file size is what a server would find.
 */
import { randomBytes } from 'node:crypto'
import { statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { repoRoot } from './servers.mjs'

const dist = (/** @type {string} */ path) => import(join(repoRoot, 'packages/server/dist', path))
const { canonicalJson } = await dist('audit/canonical-json.js')
const { eventHash } = await dist('audit/chain.js')
const { Keyring } = await dist('crypto/keyring.js')
const { keyedHash, mintSecret, SECRET_PREFIX } = await dist('crypto/minted-secret.js')
const { loadRootKey } = await dist('crypto/root-key.js')
const { newId } = await dist('ids.js')
const { jwtBinding } = await dist('services/authentication-tokens/token-records.js')
const { privateKeyFromDer, signJwt } = await dist('services/providers/provider-keys.js')
const { jwtSettingsOf, providerSecretBinding } = await dist('services/providers/providers.js')
const { openStore } = await dist('store/connect.js')
const { recountTokens } = await dist('store/token-counts-table.js')
/** The list cursors the server issues (store/pagination.ts). */
export const { encodeCursor } = await dist('store/pagination.js')

const require = createRequire(join(repoRoot, 'packages/server/package.json'))
/** @type {typeof import('better-sqlite3')} */
const SQLite = require('better-sqlite3')

/** Rows per transaction: large enough that the commit costs nothing, small enough to keep memory flat. */
const BATCH = 20_000

/** One seeded JWT in ten was asked with a derived short token (`includeDerivedShortToken`). */
const SHORT_TOKEN_EVERY = 10

/**
 * @typedef {object} Seeder
 * @property {string} file the database file
 * @property {string} instanceId the default instance
 * @property {import('better-sqlite3').Database} sqlite
 * @property {any} keyring the database's Keyring (dist/crypto/keyring.js)
 * @property {any} store the server's store over the same file (the keyring reads its data keys there)
 * @property {() => number} checkpoint moves the WAL into the file, truncates it, and answers the file's size
 * @property {() => number} auditHead the instance chain's last sequence number
 * @property {() => Promise<void>} close checkpoints (WAL truncated) and closes
 */

/**
 * Opens a stopped server's data dir for seeding.
 * @param {string} dataDir
 * @returns {Promise<Seeder>}
 */
export async function openSeeder(dataDir) {
  const file = join(dataDir, 'strongroom.db')
  const rootKey = loadRootKey({ kind: 'file', path: join(dataDir, 'root.key'), create: false })
  const store = openStore(`sqlite:${file}`)
  const keyring = await Keyring.open(store.db, rootKey, Date.now())
  const sqlite = new SQLite(file)
  sqlite.pragma('busy_timeout = 5000')
  // The server writes with synchronous=FULL per group commit; a seed is one process that either
  // finishes or is thrown away with its folder, so it need not sync each of its big transactions.
  sqlite.pragma('synchronous = OFF')
  const instanceId = /** @type {{ value: string }} */ (
    sqlite.prepare("select value from meta where key = 'default_instance_id'").get()
  ).value
  return {
    file,
    instanceId,
    sqlite,
    keyring,
    store,
    checkpoint: () => {
      sqlite.pragma('wal_checkpoint(TRUNCATE)')
      return statSync(file).size
    },
    auditHead: () =>
      /** @type {{ seq: number }} */ (
        sqlite.prepare('select seq from audit_heads where instance_id = ?').get(instanceId)
      ).seq,
    close: async () => {
      sqlite.pragma('wal_checkpoint(TRUNCATE)')
      sqlite.close()
      await store.close()
    },
  }
}

/**
 * Makes rows 0…count-1 with `make(i)` and inserts them with `insert`, BATCH rows per transaction.
 * `make` may return a promise (sealing is async): a batch's rows are made first, then inserted
 * in one synchronous transaction.
 * @template T
 * @param {Seeder} seeder
 * @param {number} count
 * @param {(i: number) => T | Promise<T>} make
 * @param {(row: T) => void} insert
 * @param {(done: number) => void} [progress]
 */
async function inBatches(seeder, count, make, insert, progress) {
  for (let from = 0; from < count; from += BATCH) {
    const to = Math.min(count, from + BATCH)
    /** @type {T[]} */
    const rows = []
    for (let i = from; i < to; i++) rows.push(await make(i))
    seeder.sqlite.transaction(() => {
      for (const row of rows) insert(row)
    })()
    progress?.(to)
  }
}

/**
 * `count` JWTs minted by the jwt provider `providerIdentifier` for `consumerId`, as
 * GenerateJwtAuthenticationToken records them: the JWT signed with the provider's key and sealed
 * bound to its record, its keyed hash, one in `SHORT_TOKEN_EVERY` with a derived short token. Their
 * claims are those of `template` (a JWT the server minted for this consumer) with a new `jti`,
 * `iat`, `nbf` and `exp`; their times are spread from the template's to now, so ids stay in order.
 * Returns the ids, in order.
 * @param {Seeder} seeder
 * @param {{ providerIdentifier: string, consumerId: string, template: string, count: number, log?: (m: string) => void }} options
 * @returns {Promise<string[]>}
 */
export async function seedJwtTokens(seeder, options) {
  const { sqlite, keyring, store, instanceId } = seeder
  const provider = /** @type {any} */ (
    sqlite
      .prepare('select * from credential_providers where instance_id = ? and identifier = ?')
      .get(instanceId, options.providerIdentifier)
  )
  if (!provider) throw new Error(`no provider ${options.providerIdentifier}`)
  const der = await keyring.decrypt(store.db, providerSecretBinding(provider), {
    ciphertext: provider.secret_ciphertext,
    keyVersion: provider.key_version,
  })
  const key = privateKeyFromDer(der)
  const settings = jwtSettingsOf(provider)
  const [headerPart, payloadPart] = options.template.split('.')
  const header = JSON.parse(Buffer.from(headerPart ?? '', 'base64url').toString('utf8'))
  const claims = JSON.parse(Buffer.from(payloadPart ?? '', 'base64url').toString('utf8'))
  const lifetime = claims.exp - claims.iat
  const start = claims.iat * 1000
  const span = Math.max(1, Date.now() - start)
  const insert = sqlite.prepare(
    `insert into authentication_tokens (id, instance_id, provider_id, type, consumer_id, consumer_type,
       creator_id, creator_type, revoked, value_hash, value_ciphertext, key_version, short_token_hash,
       created_at, updated_at, expires_at)
     values (@id, @instance_id, @provider_id, 'jwt', @consumer_id, 'application', @consumer_id,
       'application', 0, @value_hash, @value_ciphertext, @key_version, @short_token_hash,
       @created_at, @created_at, @expires_at)`,
  )
  /** @type {string[]} */
  const ids = []
  await inBatches(
    seeder,
    options.count,
    async (i) => {
      const now = start + Math.floor(((i + 1) * span) / options.count)
      const id = newId('atntkn', now)
      ids.push(id)
      const iat = Math.floor(now / 1000)
      const exp = iat + lifetime
      const jwt = signJwt(settings.algorithm, key, header, { ...claims, iat, nbf: iat, exp, jti: id })
      const sealed = await keyring.encrypt(
        store.db,
        jwtBinding({ instance_id: instanceId, id }),
        Buffer.from(jwt, 'utf8'),
      )
      return {
        id,
        instance_id: instanceId,
        provider_id: provider.id,
        consumer_id: options.consumerId,
        value_hash: keyedHash(keyring.hashKey, jwt),
        value_ciphertext: sealed.ciphertext,
        key_version: sealed.keyVersion,
        short_token_hash:
          i % SHORT_TOKEN_EVERY === 0
            ? keyedHash(keyring.hashKey, mintSecret(SECRET_PREFIX.derivedShortToken))
            : null,
        created_at: now,
        expires_at: exp * 1000,
      }
    },
    (row) => insert.run(row),
    (done) => {
      if (done % 200_000 === 0) options.log?.(`    ${done} tokens`)
    },
  )
  // Written around the services: counted again, as the migration that made the counts does.
  await recountTokens(store.db)
  return ids
}

/**
 * One JWT of those `seedJwtTokens` recorded, opened from its record (to check that the server
 * validates it).
 * @param {Seeder} seeder
 * @param {string} id
 */
export async function openSeededJwt(seeder, id) {
  const row = /** @type {any} */ (
    seeder.sqlite.prepare('select * from authentication_tokens where id = ?').get(id)
  )
  const plaintext = await seeder.keyring.decrypt(seeder.store.db, jwtBinding(row), {
    ciphertext: row.value_ciphertext,
    keyVersion: row.key_version,
  })
  return plaintext.toString('utf8')
}

/**
 * `count` api_key credentials `team-<k>/svc-<i>` as createCredential writes them: the record and
 * version 1, its value sealed under the instance's data key bound to that version. Returns their
 * ids and identifiers.
 * @param {Seeder} seeder
 * @param {{ count: number, createdBy: string, teams: number }} options
 * @returns {Promise<{ id: string, identifier: string }[]>}
 */
export async function seedCredentials(seeder, options) {
  const { sqlite, keyring, store, instanceId } = seeder
  const insertCredential = sqlite.prepare(
    `insert into credentials (id, instance_id, identifier, name, type, status, description,
       current_version, created_at, updated_at)
     values (@id, @instance_id, @identifier, @identifier, 'api_key', 'enabled', '', 1, @now, @now)`,
  )
  const insertVersion = sqlite.prepare(
    `insert into credential_versions (credential_id, version, instance_id, key_version, ciphertext,
       created_at, created_by)
     values (@id, 1, @instance_id, @key_version, @ciphertext, @now, @created_by)`,
  )
  /** @type {{ id: string, identifier: string }[]} */
  const made = []
  await inBatches(
    seeder,
    options.count,
    async (i) => {
      const now = Date.now()
      const id = newId('cred', now)
      const identifier = `team-${i % options.teams}/svc-${i}`
      made.push({ id, identifier })
      // The binding of credentials.ts (`credential_versions`, the record, field `value`, the version).
      const sealed = await keyring.encrypt(
        store.db,
        { instanceId, table: 'credential_versions', recordId: id, field: 'value', version: 1 },
        Buffer.from(JSON.stringify({ apiKey: randomBytes(24).toString('base64url') }), 'utf8'),
      )
      return {
        id,
        instance_id: instanceId,
        identifier,
        now,
        key_version: sealed.keyVersion,
        ciphertext: sealed.ciphertext,
        created_by: options.createdBy,
      }
    },
    (row) => {
      insertCredential.run(row)
      insertVersion.run(row)
    },
  )
  return made
}

/**
 * `applications` applications, each with `grantsEach` credential grants as createGrant writes them:
 * alternately a prefix grant on a team (`team-<k>/`) and an exact grant on one identifier. Returns
 * the applications' ids.
 * @param {Seeder} seeder
 * @param {{ applications: number, grantsEach: number, teams: number, identifiers: string[] }} options
 * @returns {string[]}
 */
export function seedApplicationsAndGrants(seeder, options) {
  const { sqlite, instanceId } = seeder
  const insertApplication = sqlite.prepare(
    `insert into applications (id, instance_id, client_id, name, description, status, created_at,
       updated_at, allowed_scopes, access_token_lifetime)
     values (@id, @instance_id, @id, @name, '', 'enabled', @now, @now,
       'urn:cloud:idaas:pam|credential:obtain', 3600)`,
  )
  const insertGrant = sqlite.prepare(
    `insert into grants (id, instance_id, application_id, resource_type, resource_match, resource,
       actions, created_at)
     values (@id, @instance_id, @application_id, 'credential', @match, @resource, 'obtain', @now)`,
  )
  /** @type {string[]} */
  const ids = []
  const perBatch = Math.max(1, Math.floor(BATCH / (options.grantsEach + 1)))
  for (let from = 0; from < options.applications; from += perBatch) {
    sqlite.transaction(() => {
      for (let a = from; a < Math.min(options.applications, from + perBatch); a++) {
        const now = Date.now()
        const id = newId('app', now)
        ids.push(id)
        insertApplication.run({ id, instance_id: instanceId, name: `scale-app-${a}`, now })
        for (let g = 0; g < options.grantsEach; g++) {
          const n = a * options.grantsEach + g
          const prefix = g % 2 === 0
          insertGrant.run({
            id: newId('grant', now),
            instance_id: instanceId,
            application_id: id,
            match: prefix ? 'prefix' : 'exact',
            resource: prefix
              ? `team-${n % options.teams}/`
              : (options.identifiers[n % Math.max(1, options.identifiers.length)] ?? `team-0/svc-${n}`),
            now,
          })
        }
      }
    })()
  }
  return ids
}

/**
 * `count` events appended to the instance's chain after its head, as the server's committer
 * appends them (AuditBatch: the same fields, `canonicalJson` details, `eventHash` links), and the
 * head moved to the last one. The mix is what workloads make: 85% credential.obtain successes by
 * `actors` on `resources` (each resource about as often as the others), 5% refusals, 5%
 * ListAuthenticationTokens, 5% client_credentials tokens. Times run from the head's to now.
 * @param {Seeder} seeder
 * @param {{ count: number, actors: string[], resources: { id: string, identifier: string }[], log?: (m: string) => void }} options
 */
export async function seedAuditEvents(seeder, options) {
  const { sqlite, instanceId } = seeder
  const head = /** @type {{ seq: number, hash: string }} */ (
    sqlite.prepare('select seq, hash from audit_heads where instance_id = ?').get(instanceId)
  )
  const last = /** @type {{ time: number }} */ (
    sqlite
      .prepare('select time from audit_events where instance_id = ? and seq = ?')
      .get(instanceId, head.seq)
  )
  const insert = sqlite.prepare(
    `insert into audit_events (instance_id, seq, time, actor_type, actor_id, action, resource_type,
       resource_id, outcome, reason, request_id, source_ip, user_agent, details, prev_hash, hash)
     values (@instanceId, @seq, @time, @actorType, @actorId, @action, @resourceType, @resourceId,
       @outcome, @reason, @requestId, @sourceIp, @userAgent, @details, @prevHash, @hash)`,
  )
  const updateHead = sqlite.prepare('update audit_heads set seq = ?, hash = ? where instance_id = ?')
  const span = Math.max(1, Date.now() - last.time)
  let prevHash = head.hash
  let seq = head.seq
  // The server's forms: a token's jti is 16 random bytes, a request id 12 (base64url).
  const random = (/** @type {number} */ bytes) => randomBytes(bytes).toString('base64url')
  let accessTokenId = random(16)
  await inBatches(
    seeder,
    options.count,
    (i) => {
      // A workload's token lives an hour and serves many calls: a new one every 200 events.
      if (i % 200 === 0) accessTokenId = random(16)
      const actorId = /** @type {string} */ (options.actors[(i * 31) % options.actors.length])
      const resource = /** @type {{ id: string, identifier: string }} */ (
        options.resources[(i * 7919) % options.resources.length]
      )
      const kind = i % 20
      /** @type {{ action: string, outcome: string, resource: [string, string] | null, details: Record<string, string | number> }} */
      const what =
        kind === 0
          ? {
              action: 'credential.obtain',
              outcome: 'denied',
              resource: null,
              details: {
                accessTokenId,
                identifier: resource.identifier,
                why: 'no_grant',
                code: 'PermissionDenied',
              },
            }
          : kind === 1
            ? {
                action: 'authentication_token.list',
                outcome: 'success',
                resource: null,
                details: {
                  accessTokenId,
                  consumerId: actorId,
                  credentialProvider: 'scale-jwt',
                  returned: 20,
                },
              }
            : kind === 2
              ? {
                  action: 'oauth.token',
                  outcome: 'success',
                  resource: ['application', actorId],
                  details: {
                    clientSecretId: `cs_${actorId.slice(4)}`,
                    exp: Math.floor(last.time / 1000) + 3600,
                    grantType: 'client_credentials',
                    jti: accessTokenId,
                    method: 'client_secret_post',
                    scope: 'urn:cloud:idaas:pam|credential:obtain',
                  },
                }
              : {
                  action: 'credential.obtain',
                  outcome: 'success',
                  resource: ['credential', resource.id],
                  details: { accessTokenId, identifier: resource.identifier, version: 1 },
                }
      seq++
      const fields = {
        instanceId,
        seq,
        time: last.time + Math.floor(((i + 1) * span) / options.count),
        actorType: 'application',
        actorId,
        action: what.action,
        resourceType: what.resource?.[0] ?? null,
        resourceId: what.resource?.[1] ?? null,
        outcome: what.outcome,
        reason: null,
        requestId: `req_${random(12)}`,
        sourceIp: `10.0.${(i >> 8) & 255}.${i & 255}`,
        userAgent: 'strongroom-sdk/1.0 node/20',
        details: what.details,
      }
      const details = canonicalJson(fields.details)
      const hash = eventHash(prevHash, fields, details)
      const row = { ...fields, details, prevHash, hash }
      prevHash = hash
      return row
    },
    (row) => insert.run(row),
    (done) => {
      if (done % 200_000 === 0) options.log?.(`    ${done} audit events`)
    },
  )
  updateHead.run(seq, prevHash, instanceId)
  return { headSeq: seq }
}
