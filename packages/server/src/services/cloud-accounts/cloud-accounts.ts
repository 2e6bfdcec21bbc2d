import type {
  CloudAccount,
  CloudAccountListQuery,
  CreateCloudAccountBody,
  RotateCloudAccountKeyBody,
  Status,
  UpdateCloudAccountBody,
} from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { Conflict } from '../../errors.js'
import { newId } from '../../ids.js'
import type { Caller, Services } from '../../services.js'
import { type Page, pageById } from '../../store/pagination.js'
import type { CloudAccountTable, Database } from '../../store/schema.js'
import { startsWith } from '../../store/starts-with.js'
import { isUniqueViolation, type UniqueIndex } from '../../store/unique-violation.js'
import { requireInstance } from '../instances/instances.js'
import { changeStatus } from '../status.js'
import {
  accessKeyHint,
  type CloudAccessKey,
  checkStsEndpoint,
  checkVendorAccountId,
  cloudAccountNotFound,
  cloudKeyBinding,
  findCloudAccount,
  toCloudAccount,
} from './cloud-account-record.js'

const CLOUD_ACCOUNTS_NAME: UniqueIndex = {
  name: 'cloud_accounts_name',
  table: 'cloud_accounts',
  columns: ['instance_id', 'name'],
}

const nameTaken = (name: string) =>
  new Conflict('CloudAccountNameExists', `a cloud account named ${name} already exists`, 'name')

/** Seals `key` as `version` of the cloud account's key pair, in the caller's transaction. */
async function insertKeyVersion(
  s: Pick<Services, 'keyring'>,
  trx: Kysely<Database>,
  row: Pick<CloudAccountTable, 'instance_id' | 'id'>,
  version: number,
  key: CloudAccessKey,
  createdBy: string,
  now: number,
): Promise<void> {
  const sealed = await s.keyring.encrypt(
    trx,
    cloudKeyBinding(row, version),
    Buffer.from(
      JSON.stringify({ accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret }),
      'utf8',
    ),
  )
  await trx
    .insertInto('cloud_account_keys')
    .values({
      cloud_account_id: row.id,
      version,
      instance_id: row.instance_id,
      access_key_hint: accessKeyHint(key.accessKeyId),
      key_version: sealed.keyVersion,
      ciphertext: sealed.ciphertext,
      created_at: now,
      created_by: createdBy,
    })
    .execute()
}

/** Creates a cloud account with its key pair as version 1. The secret is never answered again. */
export async function createCloudAccount(
  s: Services,
  caller: Caller,
  instanceId: string,
  body: CreateCloudAccountBody,
): Promise<CloudAccount> {
  checkVendorAccountId(body.vendorType, body.vendorAccountId)
  const stsEndpoint = body.stsEndpoint === undefined ? null : checkStsEndpoint(body.stsEndpoint)
  return s.committer.run(async ({ trx, audit }) => {
    await requireInstance(trx, caller, instanceId)
    if (await findCloudAccount(trx, instanceId, body.name)) throw nameTaken(body.name)
    const now = s.now()
    const row: CloudAccountTable = {
      id: newId('ca', now),
      instance_id: instanceId,
      name: body.name,
      description: body.description ?? '',
      vendor: body.vendorType,
      vendor_account_id: body.vendorAccountId,
      access_key_hint: accessKeyHint(body.accessKeyId),
      sts_endpoint: stsEndpoint,
      region: body.region ?? null,
      status: 'enabled',
      current_version: 1,
      created_at: now,
      updated_at: now,
    }
    try {
      await trx.insertInto('cloud_accounts').values(row).execute()
    } catch (error) {
      // Another node inserted the name after the check above (PostgreSQL).
      if (isUniqueViolation(error, CLOUD_ACCOUNTS_NAME)) throw nameTaken(body.name)
      throw error
    }
    await insertKeyVersion(s, trx, row, 1, body, caller.actor.id, now)
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'cloud_account.create',
      resource: { type: 'cloud_account', id: row.id },
      outcome: 'success',
      details: {
        name: row.name,
        vendorType: row.vendor,
        vendorAccountId: row.vendor_account_id,
        accessKeyIdHint: row.access_key_hint,
        keyVersion: 1,
        ...(row.sts_endpoint === null ? {} : { stsEndpoint: row.sts_endpoint }),
      },
      request: caller.request,
    })
    return toCloudAccount(row)
  })
}

export async function listCloudAccounts(
  s: Services,
  caller: Caller,
  instanceId: string,
  query: CloudAccountListQuery,
): Promise<Page<CloudAccount>> {
  await requireInstance(s.store.db, caller, instanceId)
  const prefix = query.namePrefix
  return pageById(
    query,
    (after, rows) =>
      s.store.db
        .selectFrom('cloud_accounts')
        .selectAll()
        .where('instance_id', '=', instanceId)
        .$if(prefix !== undefined, (q) => q.where(startsWith('name', prefix!)))
        .$if(after !== undefined, (q) => q.where('id', '>', after!))
        .orderBy('id')
        .limit(rows)
        .execute(),
    toCloudAccount,
  )
}

/** A cloud account by id (`ca_…`) or name within an instance the caller may administer. */
export async function requireCloudAccount(
  db: Kysely<Database>,
  caller: Caller,
  instanceId: string,
  ref: string,
): Promise<CloudAccountTable> {
  await requireInstance(db, caller, instanceId)
  const row = await findCloudAccount(db, instanceId, ref)
  if (!row) throw cloudAccountNotFound(ref)
  return row
}

export async function getCloudAccount(s: Services, caller: Caller, instanceId: string, ref: string) {
  return toCloudAccount(await requireCloudAccount(s.store.db, caller, instanceId, ref))
}

/** Changes the description, the STS endpoint or the region (`null`: the vendor's default). */
export async function updateCloudAccount(
  s: Services,
  caller: Caller,
  instanceId: string,
  ref: string,
  body: UpdateCloudAccountBody,
): Promise<CloudAccount> {
  const endpoint =
    body.stsEndpoint === undefined || body.stsEndpoint === null
      ? body.stsEndpoint
      : checkStsEndpoint(body.stsEndpoint)
  return s.committer.run(async ({ trx, audit }) => {
    const row = await requireCloudAccount(trx, caller, instanceId, ref)
    if (body.description !== undefined) row.description = body.description
    if (endpoint !== undefined) row.sts_endpoint = endpoint
    if (body.region !== undefined) row.region = body.region
    row.updated_at = s.now()
    await trx
      .updateTable('cloud_accounts')
      .set({
        description: row.description,
        sts_endpoint: row.sts_endpoint,
        region: row.region,
        updated_at: row.updated_at,
      })
      .where('id', '=', row.id)
      .execute()
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'cloud_account.update',
      resource: { type: 'cloud_account', id: row.id },
      outcome: 'success',
      details: { fields: Object.keys(body).sort().join(',') },
      request: caller.request,
    })
    return toCloudAccount(row)
  })
}

export async function setCloudAccountStatus(
  s: Services,
  caller: Caller,
  instanceId: string,
  ref: string,
  status: Status,
): Promise<CloudAccount> {
  return s.committer.run(async (unit) => {
    const row = await requireCloudAccount(unit.trx, caller, instanceId, ref)
    await changeStatus(
      unit,
      caller,
      { table: 'cloud_accounts', resourceType: 'cloud_account', row },
      status,
      s.now(),
    )
    return toCloudAccount(row)
  })
}

/**
 * Rotation: a new key pair becomes current. STS credentials this node holds from the old key stay
 * valid in the cloud until they expire, but are no longer handed out: the cache is keyed by version.
 */
export async function rotateCloudAccountKey(
  s: Services,
  caller: Caller,
  instanceId: string,
  ref: string,
  body: RotateCloudAccountKeyBody,
): Promise<CloudAccount> {
  return s.committer.run(async ({ trx, audit }) => {
    const row = await requireCloudAccount(trx, caller, instanceId, ref)
    const now = s.now()
    const version = Number(row.current_version) + 1
    const hint = accessKeyHint(body.accessKeyId)
    // The version guard turns a concurrent rotation into a retryable conflict.
    const updated = await trx
      .updateTable('cloud_accounts')
      .set({ current_version: version, access_key_hint: hint, updated_at: now })
      .where('id', '=', row.id)
      .where('current_version', '=', row.current_version)
      .executeTakeFirst()
    if (Number(updated.numUpdatedRows) !== 1)
      throw new Conflict('Conflict', 'the cloud account was rotated concurrently; retry')
    await insertKeyVersion(s, trx, row, version, body, caller.actor.id, now)
    Object.assign(row, { current_version: version, access_key_hint: hint, updated_at: now })
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'cloud_account.rotate_key',
      resource: { type: 'cloud_account', id: row.id },
      outcome: 'success',
      details: { keyVersion: version, accessKeyIdHint: hint },
      request: caller.request,
    })
    return toCloudAccount(row)
  })
}
