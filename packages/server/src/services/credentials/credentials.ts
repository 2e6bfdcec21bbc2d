import type {
  CreateCredentialBody,
  Credential,
  CredentialListQuery,
  CredentialType,
  CredentialValue,
  CredentialVersion,
  ListQuery,
  PutCredentialVersionBody,
  RevealedCredential,
  SshKeyValue,
  Status,
  UpdateCredentialBody,
} from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import type { Binding } from '../../crypto/keyring.js'
import { Conflict, IntegrityError, NotFound } from '../../errors.js'
import { newId } from '../../ids.js'
import type { Caller, Services } from '../../services.js'
import { decodeCursor, type Page, pageById, toPage } from '../../store/pagination.js'
import { prepare } from '../../store/prepared.js'
import type { CredentialTable, Database } from '../../store/schema.js'
import { startsWith } from '../../store/starts-with.js'
import { isUniqueViolation, type UniqueIndex } from '../../store/unique-violation.js'
import { checkSshKey } from '../accounts/ssh-key-check.js'
import { requireInstance } from '../instances/instances.js'
import { changeStatus } from '../status.js'
import { checkCredentialValue } from './credential-value.js'

/**
 * The shape check, and for an `ssh_key` the key check accounts make: a private key the server
 * reads, its passphrase right. Outside any transaction: a passphrase costs KDF work (on a worker).
 */
async function checkedValue(type: CredentialType, value: unknown): Promise<CredentialValue> {
  const checked = checkCredentialValue(type, value)
  if (type === 'ssh_key') {
    const { privateKey, passphrase } = checked as SshKeyValue
    await checkSshKey(
      { key: privateKey, ...(passphrase === undefined ? {} : { passphrase }) },
      { key: 'value.privateKey', passphrase: 'value.passphrase' },
    )
  }
  return checked
}

export function toCredential(row: CredentialTable): Credential {
  return {
    credentialId: row.id,
    credentialIdentifier: row.identifier,
    credentialName: row.name,
    credentialType: row.type as CredentialType,
    status: row.status,
    description: row.description,
    instanceId: row.instance_id,
    currentVersion: row.current_version,
    createTime: Number(row.created_at),
    updateTime: Number(row.updated_at),
  }
}

const binding = (row: Pick<CredentialTable, 'instance_id' | 'id'>, version: number): Binding => ({
  instanceId: row.instance_id,
  table: 'credential_versions',
  recordId: row.id,
  field: 'value',
  version,
})

/** Encrypts and stores `value` as `version` of the credential, in the caller's transaction. */
export async function insertVersion(
  s: Pick<Services, 'keyring' | 'store'>,
  trx: Kysely<Database>,
  row: CredentialTable,
  version: number,
  value: CredentialValue,
  createdBy: string,
  now: number,
) {
  const sealed = await s.keyring.encrypt(
    trx,
    binding(row, version),
    Buffer.from(JSON.stringify(value), 'utf8'),
  )
  await insertVersionRow.all(s.store, trx, {
    credentialId: row.id,
    version,
    instanceId: row.instance_id,
    keyVersion: sealed.keyVersion,
    ciphertext: sealed.ciphertext,
    createdAt: now,
    createdBy,
  })
}

// The statements of a credential write, prepared: through Kysely's builder each cost a few µs of
// compiling per request (npm run bench: credential create and rotate).
const insertVersionRow = prepare(
  ['credentialId', 'version', 'instanceId', 'keyVersion', 'ciphertext', 'createdAt', 'createdBy'],
  (db, p) =>
    db.insertInto('credential_versions').values({
      credential_id: p.credentialId,
      version: p.version,
      instance_id: p.instanceId,
      key_version: p.keyVersion,
      ciphertext: p.ciphertext,
      created_at: p.createdAt,
      created_by: p.createdBy,
    }),
)

const identifierTaken = prepare(['instanceId', 'identifier'], (db, p) =>
  db
    .selectFrom('credentials')
    .select('id')
    .where('instance_id', '=', p.instanceId)
    .where('identifier', '=', p.identifier),
)

const insertCredential = prepare(
  [
    'id',
    'instanceId',
    'identifier',
    'name',
    'type',
    'status',
    'description',
    'currentVersion',
    'createdAt',
    'updatedAt',
  ],
  (db, p) =>
    db.insertInto('credentials').values({
      id: p.id,
      instance_id: p.instanceId,
      identifier: p.identifier,
      name: p.name,
      type: p.type,
      status: p.status,
      description: p.description,
      current_version: p.currentVersion,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
    }),
)

/** Makes `version` current if `current` still is: no row back means a concurrent rotation won. */
const advanceVersion = prepare(['id', 'version', 'current', 'now'], (db, p) =>
  db
    .updateTable('credentials')
    .set({ current_version: p.version, updated_at: p.now })
    .where('id', '=', p.id)
    .where('current_version', '=', p.current)
    .returning('id'),
)

/** The unique index a concurrent create of the same identifier runs into. */
const CREDENTIALS_IDENTIFIER: UniqueIndex = {
  name: 'credentials_identifier',
  table: 'credentials',
  columns: ['instance_id', 'identifier'],
}

export async function createCredential(
  s: Services,
  caller: Caller,
  instanceId: string,
  body: CreateCredentialBody,
): Promise<Credential> {
  // The key check costs KDF work: only for a caller allowed to create here.
  if (body.credentialType === 'ssh_key') await requireInstance(s.store.db, caller, instanceId)
  const value = await checkedValue(body.credentialType, body.value)
  return s.committer.run(async ({ trx, audit }) => {
    await requireInstance(trx, caller, instanceId)
    const taken = await identifierTaken.first(s.store, trx, {
      instanceId,
      identifier: body.credentialIdentifier,
    })
    const identifierExists = () =>
      new Conflict(
        'CredentialIdentifierExists',
        `a credential with identifier ${body.credentialIdentifier} already exists`,
        'credentialIdentifier',
      )
    if (taken) throw identifierExists()
    const now = s.now()
    const row: CredentialTable = {
      id: newId('cred', now),
      instance_id: instanceId,
      identifier: body.credentialIdentifier,
      name: body.credentialName ?? body.credentialIdentifier,
      type: body.credentialType,
      status: 'enabled',
      description: body.description ?? '',
      current_version: 1,
      created_at: now,
      updated_at: now,
    }
    try {
      await insertCredential.all(s.store, trx, {
        id: row.id,
        instanceId: row.instance_id,
        identifier: row.identifier,
        name: row.name,
        type: row.type,
        status: row.status,
        description: row.description,
        currentVersion: row.current_version,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      })
    } catch (error) {
      // Another node inserted the identifier after the check above (PostgreSQL; one SQLite node
      // serialises its units): the same answer as if the check had seen it.
      if (isUniqueViolation(error, CREDENTIALS_IDENTIFIER)) throw identifierExists()
      throw error
    }
    await insertVersion(s, trx, row, 1, value, caller.actor.id, now)
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'credential.create',
      resource: { type: 'credential', id: row.id },
      outcome: 'success',
      details: { identifier: row.identifier, credentialType: row.type, version: 1 },
      request: caller.request,
    })
    return toCredential(row)
  })
}

export async function listCredentials(
  s: Services,
  caller: Caller,
  instanceId: string,
  query: CredentialListQuery,
): Promise<Page<Credential>> {
  await requireInstance(s.store.db, caller, instanceId)
  const { credentialType: type, identifierPrefix: prefix } = query
  return pageById(
    query,
    (after, rows) =>
      s.store.db
        .selectFrom('credentials')
        .selectAll()
        .where('instance_id', '=', instanceId)
        .$if(type !== undefined, (q) => q.where('type', '=', type!))
        .$if(prefix !== undefined, (q) => q.where(startsWith('identifier', prefix!)))
        .$if(after !== undefined, (q) => q.where('id', '>', after!))
        .orderBy('id')
        .limit(rows)
        .execute(),
    toCredential,
  )
}

/** Finds a credential by id (`cred_…`) or identifier within an instance the caller may administer. */
export async function requireCredential(
  db: Kysely<Database>,
  caller: Caller,
  instanceId: string,
  idOrIdentifier: string,
): Promise<CredentialTable> {
  await requireInstance(db, caller, instanceId)
  const column = /^cred_[0-9a-z]{26}$/.test(idOrIdentifier) ? 'id' : 'identifier'
  const row = await db
    .selectFrom('credentials')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .where(column, '=', idOrIdentifier)
    .executeTakeFirst()
  if (!row)
    throw new NotFound(
      'CredentialNotFound',
      `credential ${idOrIdentifier} does not exist in instance ${instanceId}`,
    )
  return row
}

export async function getCredential(s: Services, caller: Caller, instanceId: string, credential: string) {
  return toCredential(await requireCredential(s.store.db, caller, instanceId, credential))
}

export async function updateCredential(
  s: Services,
  caller: Caller,
  instanceId: string,
  credential: string,
  body: UpdateCredentialBody,
): Promise<Credential> {
  return s.committer.run(async ({ trx, audit }) => {
    const row = await requireCredential(trx, caller, instanceId, credential)
    const changed = Object.keys(body).sort()
    row.name = body.credentialName ?? row.name
    row.description = body.description ?? row.description
    row.updated_at = s.now()
    await trx
      .updateTable('credentials')
      .set({ name: row.name, description: row.description, updated_at: row.updated_at })
      .where('id', '=', row.id)
      .execute()
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'credential.update',
      resource: { type: 'credential', id: row.id },
      outcome: 'success',
      details: { fields: changed.join(',') },
      request: caller.request,
    })
    return toCredential(row)
  })
}

export async function setCredentialStatus(
  s: Services,
  caller: Caller,
  instanceId: string,
  credential: string,
  status: Status,
): Promise<Credential> {
  return s.committer.run(async (unit) => {
    const row = await requireCredential(unit.trx, caller, instanceId, credential)
    await changeStatus(
      unit,
      caller,
      { table: 'credentials', resourceType: 'credential', row },
      status,
      s.now(),
    )
    return toCredential(row)
  })
}

/** Rotation: stores a new version and makes it current. Old versions stay for the record. */
export async function putCredentialVersion(
  s: Services,
  caller: Caller,
  instanceId: string,
  credential: string,
  body: PutCredentialVersionBody,
): Promise<Credential> {
  // A value that could be an SSH key is checked outside the transaction, once the caller may see
  // the credential and its type is known; any other value, by its shape inside it (no extra read).
  if ('privateKey' in body.value) {
    const existing = await requireCredential(s.store.db, caller, instanceId, credential)
    await checkedValue(existing.type as CredentialType, body.value)
  }
  return s.committer.run(async ({ trx, audit }) => {
    const row = await requireCredential(trx, caller, instanceId, credential)
    const value = checkCredentialValue(row.type as CredentialType, body.value)
    const now = s.now()
    const version = row.current_version + 1
    // The version guard turns a concurrent rotation into a retryable conflict instead of a lost
    // update. It comes first: on PostgreSQL the other rotation's update holds the row until it
    // commits, and then this one matches nothing; inserting the version first would meet the
    // other's version row and fail as a unique violation (a 500) before the guard could answer.
    const updated = await advanceVersion.all(s.store, trx, {
      id: row.id,
      version,
      current: row.current_version,
      now,
    })
    if (updated.length !== 1) throw new Conflict('Conflict', 'the credential was rotated concurrently; retry')
    await insertVersion(s, trx, row, version, value, caller.actor.id, now)
    row.current_version = version
    row.updated_at = now
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'credential.rotate',
      resource: { type: 'credential', id: row.id },
      outcome: 'success',
      details: { version },
      request: caller.request,
    })
    return toCredential(row)
  })
}

export async function listCredentialVersions(
  s: Services,
  caller: Caller,
  instanceId: string,
  credential: string,
  query: ListQuery,
): Promise<Page<CredentialVersion>> {
  const row = await requireCredential(s.store.db, caller, instanceId, credential)
  const limit = query.maxResults ?? 20
  const after = decodeCursor(query.nextToken, 'number')
  let q = s.store.db
    .selectFrom('credential_versions')
    .select(['version', 'created_at', 'created_by'])
    .where('credential_id', '=', row.id)
    .orderBy('version', 'desc')
    .limit(limit + 1)
  if (after !== undefined) q = q.where('version', '<', after)
  return toPage(
    await q.execute(),
    limit,
    (v) => v.version,
    (v) => ({
      version: v.version,
      current: v.version === row.current_version,
      createTime: Number(v.created_at),
      createdBy: v.created_by,
    }),
  )
}

/**
 * Decrypts the current value for an administrator. Fail closed: the value is returned only once
 * its audit event is committed; an integrity failure is audited too, then reported.
 */
export async function revealCredential(
  s: Services,
  caller: Caller,
  instanceId: string,
  credential: string,
  reason: string | undefined,
): Promise<RevealedCredential> {
  const result = await s.committer.run(async ({ trx, audit }) => {
    const row = await requireCredential(trx, caller, instanceId, credential)
    const version = await trx
      .selectFrom('credential_versions')
      .select(['ciphertext', 'key_version'])
      .where('credential_id', '=', row.id)
      .where('version', '=', row.current_version)
      .executeTakeFirst()
    const event = {
      instanceId,
      actor: caller.actor,
      action: 'credential.reveal',
      resource: { type: 'credential', id: row.id },
      reason: reason ?? null,
      request: caller.request,
    }
    let plaintext: Buffer
    try {
      if (!version)
        throw new IntegrityError(`credential ${row.id} has no stored version ${row.current_version}`)
      plaintext = await s.keyring.decrypt(trx, binding(row, row.current_version), {
        ciphertext: version.ciphertext,
        keyVersion: version.key_version,
      })
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err
      await audit.append({
        ...event,
        outcome: 'failure',
        details: { version: row.current_version, why: 'integrity' },
      })
      return { error: err }
    }
    await audit.append({ ...event, outcome: 'success', details: { version: row.current_version } })
    return { row, plaintext }
  })
  if ('error' in result) throw result.error
  return {
    ...toCredential(result.row),
    version: result.row.current_version,
    value: JSON.parse(result.plaintext.toString('utf8')) as Record<string, unknown>,
  }
}
