import {
  type AddCloudAccountRoleBody,
  type CloudAccountRole,
  type CloudAccountRoleListQuery,
  DEFAULT_STS_DURATION_SECONDS,
  type Status,
  type UpdateCloudAccountRoleBody,
} from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { Conflict, InvalidParameter } from '../../errors.js'
import { newId } from '../../ids.js'
import type { Caller, Services } from '../../services.js'
import { type Page, pageById } from '../../store/pagination.js'
import type { CloudAccountRoleTable, CloudAccountTable, Database } from '../../store/schema.js'
import { isUniqueViolation, type UniqueIndex } from '../../store/unique-violation.js'
import { changeStatus } from '../status.js'
import {
  CLOUD_ACCOUNT_ROLE_ID,
  cloudAccountRoleNotFound,
  roleNameInArn,
  toCloudAccountRole,
} from './cloud-account-record.js'
import { requireCloudAccount } from './cloud-accounts.js'

const ROLES_ARN: UniqueIndex = {
  name: 'cloud_account_roles_arn',
  table: 'cloud_account_roles',
  columns: ['instance_id', 'role_arn'],
}
const ROLES_NAME: UniqueIndex = {
  name: 'cloud_account_roles_name',
  table: 'cloud_account_roles',
  columns: ['cloud_account_id', 'name'],
}

const arnTaken = (arn: string) =>
  new Conflict('CloudAccountRoleExists', `role ${arn} is already added in this instance`, 'roleExternalId')
const nameTaken = (name: string) =>
  new Conflict('CloudAccountRoleExists', `the cloud account already has a role named ${name}`, 'name')

/** The default must not exceed the maximum: a workload asking nothing would be refused. */
function checkDurations(
  defaultSeconds: number,
  maxSeconds: number,
  field: 'defaultDurationSeconds' | 'maxDurationSeconds',
): void {
  if (defaultSeconds <= maxSeconds) return
  throw field === 'defaultDurationSeconds'
    ? new InvalidParameter(field, `must be at most maxDurationSeconds (${maxSeconds})`)
    : new InvalidParameter(field, `must be at least defaultDurationSeconds (${defaultSeconds})`)
}

/** The `ExternalId` condition is AWS's: Alibaba Cloud's AssumeRole has no such parameter in its trust checks. */
function checkExternalId(account: CloudAccountTable, externalId: string | null | undefined): void {
  if (account.vendor !== 'aws' && externalId !== undefined && externalId !== null)
    throw new InvalidParameter('externalId', 'is an AWS role condition; this is an Alibaba Cloud account')
}

/** A session policy is a JSON policy document: refused here rather than by STS on every call. */
function checkPolicy(policy: string | null | undefined): void {
  if (policy === undefined || policy === null) return
  let parsed: unknown
  try {
    parsed = JSON.parse(policy)
  } catch {
    throw new InvalidParameter('sessionPolicy', 'must be a JSON policy document')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidParameter('sessionPolicy', 'must be a JSON object (a policy document)')
}

/** Adds a role of a cloud account: what grants name and workloads ask credentials for. */
export async function addCloudAccountRole(
  s: Services,
  caller: Caller,
  instanceId: string,
  accountRef: string,
  body: AddCloudAccountRoleBody,
): Promise<CloudAccountRole> {
  checkPolicy(body.sessionPolicy)
  const defaultSeconds = body.defaultDurationSeconds ?? DEFAULT_STS_DURATION_SECONDS
  const maxSeconds = body.maxDurationSeconds ?? Math.max(DEFAULT_STS_DURATION_SECONDS, defaultSeconds)
  checkDurations(defaultSeconds, maxSeconds, 'defaultDurationSeconds')
  return s.committer.run(async ({ trx, audit }) => {
    const account = await requireCloudAccount(trx, caller, instanceId, accountRef)
    const arnName = roleNameInArn(account, body.roleExternalId)
    checkExternalId(account, body.externalId)
    const now = s.now()
    const row: CloudAccountRoleTable = {
      id: newId('car', now),
      instance_id: instanceId,
      cloud_account_id: account.id,
      role_arn: body.roleExternalId,
      name: body.name ?? arnName,
      description: body.description ?? '',
      status: 'enabled',
      default_duration: defaultSeconds,
      max_duration: maxSeconds,
      session_policy: body.sessionPolicy ?? null,
      aws_external_id: body.externalId ?? null,
      created_at: now,
      updated_at: now,
    }
    if (await findRoleBy(trx, 'role_arn', instanceId, row.role_arn)) throw arnTaken(row.role_arn)
    if (await findRoleIn(trx, account.id, row.name)) throw nameTaken(row.name)
    try {
      await trx.insertInto('cloud_account_roles').values(row).execute()
    } catch (error) {
      if (isUniqueViolation(error, ROLES_ARN)) throw arnTaken(row.role_arn)
      if (isUniqueViolation(error, ROLES_NAME)) throw nameTaken(row.name)
      throw error
    }
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'cloud_account_role.add',
      resource: { type: 'cloud_account_role', id: row.id },
      outcome: 'success',
      details: {
        cloudAccountId: account.id,
        roleExternalId: row.role_arn,
        name: row.name,
        defaultDurationSeconds: row.default_duration,
        maxDurationSeconds: row.max_duration,
        hasSessionPolicy: row.session_policy !== null,
        hasExternalId: row.aws_external_id !== null,
      },
      request: caller.request,
    })
    return toCloudAccountRole(row)
  })
}

export async function listCloudAccountRoles(
  s: Services,
  caller: Caller,
  instanceId: string,
  accountRef: string,
  query: CloudAccountRoleListQuery,
): Promise<Page<CloudAccountRole>> {
  const account = await requireCloudAccount(s.store.db, caller, instanceId, accountRef)
  return pageById(
    query,
    (after, rows) =>
      s.store.db
        .selectFrom('cloud_account_roles')
        .selectAll()
        .where('cloud_account_id', '=', account.id)
        .$if(after !== undefined, (q) => q.where('id', '>', after!))
        .orderBy('id')
        .limit(rows)
        .execute(),
    toCloudAccountRole,
  )
}

const findRoleBy = (db: Kysely<Database>, column: 'id' | 'role_arn', instanceId: string, value: string) =>
  db
    .selectFrom('cloud_account_roles')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .where(column, '=', value)
    .executeTakeFirst()
const findRoleIn = (db: Kysely<Database>, accountId: string, name: string) =>
  db
    .selectFrom('cloud_account_roles')
    .selectAll()
    .where('cloud_account_id', '=', accountId)
    .where('name', '=', name)
    .executeTakeFirst()

/** A role of the named cloud account, by id (`car_…`), ARN or name. */
async function requireRole(
  db: Kysely<Database>,
  caller: Caller,
  instanceId: string,
  accountRef: string,
  roleRef: string,
): Promise<{ account: CloudAccountTable; role: CloudAccountRoleTable }> {
  const account = await requireCloudAccount(db, caller, instanceId, accountRef)
  const role = CLOUD_ACCOUNT_ROLE_ID.test(roleRef)
    ? await findRoleBy(db, 'id', instanceId, roleRef)
    : roleRef.includes(':')
      ? await findRoleBy(db, 'role_arn', instanceId, roleRef)
      : await findRoleIn(db, account.id, roleRef)
  if (!role || role.cloud_account_id !== account.id) throw cloudAccountRoleNotFound(roleRef)
  return { account, role }
}

export async function getCloudAccountRole(
  s: Services,
  caller: Caller,
  instanceId: string,
  accountRef: string,
  roleRef: string,
): Promise<CloudAccountRole> {
  return toCloudAccountRole((await requireRole(s.store.db, caller, instanceId, accountRef, roleRef)).role)
}

/** Changes anything but the ARN; `null` removes the session policy or the external id. */
export async function updateCloudAccountRole(
  s: Services,
  caller: Caller,
  instanceId: string,
  accountRef: string,
  roleRef: string,
  body: UpdateCloudAccountRoleBody,
): Promise<CloudAccountRole> {
  checkPolicy(body.sessionPolicy)
  return s.committer.run(async ({ trx, audit }) => {
    const { account, role } = await requireRole(trx, caller, instanceId, accountRef, roleRef)
    checkExternalId(account, body.externalId)
    const defaultSeconds = body.defaultDurationSeconds ?? Number(role.default_duration)
    const maxSeconds = body.maxDurationSeconds ?? Number(role.max_duration)
    checkDurations(
      defaultSeconds,
      maxSeconds,
      body.defaultDurationSeconds === undefined ? 'maxDurationSeconds' : 'defaultDurationSeconds',
    )
    if (body.name !== undefined && body.name !== role.name && (await findRoleIn(trx, account.id, body.name)))
      throw nameTaken(body.name)
    const columns = {
      name: body.name ?? role.name,
      description: body.description ?? role.description,
      default_duration: defaultSeconds,
      max_duration: maxSeconds,
      session_policy: body.sessionPolicy === undefined ? role.session_policy : body.sessionPolicy,
      aws_external_id: body.externalId === undefined ? role.aws_external_id : body.externalId,
      updated_at: s.now(),
    }
    try {
      await trx.updateTable('cloud_account_roles').set(columns).where('id', '=', role.id).execute()
    } catch (error) {
      if (isUniqueViolation(error, ROLES_NAME)) throw nameTaken(columns.name)
      throw error
    }
    Object.assign(role, columns)
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'cloud_account_role.update',
      resource: { type: 'cloud_account_role', id: role.id },
      outcome: 'success',
      details: { fields: Object.keys(body).sort().join(',') },
      request: caller.request,
    })
    return toCloudAccountRole(role)
  })
}

/** Removes a role: workloads can no longer ask for it; grants that named it match nothing. */
export async function removeCloudAccountRole(
  s: Services,
  caller: Caller,
  instanceId: string,
  accountRef: string,
  roleRef: string,
): Promise<void> {
  await s.committer.run(async ({ trx, audit }) => {
    const { role } = await requireRole(trx, caller, instanceId, accountRef, roleRef)
    await trx.deleteFrom('cloud_account_roles').where('id', '=', role.id).execute()
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'cloud_account_role.remove',
      resource: { type: 'cloud_account_role', id: role.id },
      outcome: 'success',
      details: { roleExternalId: role.role_arn, name: role.name },
      request: caller.request,
    })
  })
}

export async function setCloudAccountRoleStatus(
  s: Services,
  caller: Caller,
  instanceId: string,
  accountRef: string,
  roleRef: string,
  status: Status,
): Promise<CloudAccountRole> {
  return s.committer.run(async (unit) => {
    const { role } = await requireRole(unit.trx, caller, instanceId, accountRef, roleRef)
    await changeStatus(
      unit,
      caller,
      { table: 'cloud_account_roles', resourceType: 'cloud_account_role', row: role },
      status,
      s.now(),
    )
    return toCloudAccountRole(role)
  })
}
