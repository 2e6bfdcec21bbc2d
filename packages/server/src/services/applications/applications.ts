import type {
  Application,
  CreateApplicationBody,
  ListQuery,
  Status,
  UpdateApplicationBody,
} from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { InvalidParameter, NotFound } from '../../errors.js'
import { newId } from '../../ids.js'
import { parseScope, ScopeError } from '../../oauth/scopes.js'
import type { Caller, Services } from '../../services.js'
import { type Page, pageById } from '../../store/pagination.js'
import type { ApplicationTable, Database } from '../../store/schema.js'
import { requireInstance } from '../instances/instances.js'
import { changeStatus } from '../status.js'

export function toApplication(row: ApplicationTable): Application {
  return {
    applicationId: row.id,
    clientId: row.client_id,
    instanceId: row.instance_id,
    name: row.name,
    description: row.description,
    status: row.status,
    allowedScopes: row.allowed_scopes.split(' ').filter((x) => x !== ''),
    accessTokenLifetime: row.access_token_lifetime,
    createTime: Number(row.created_at),
    updateTime: Number(row.updated_at),
  }
}

export async function insertApplication(
  trx: Kysely<Database>,
  instanceId: string,
  body: CreateApplicationBody,
  now: number,
): Promise<ApplicationTable> {
  const id = newId('app', now)
  // As in IDaaS, an application's OAuth client id is its application id.
  const row: ApplicationTable = {
    id,
    instance_id: instanceId,
    client_id: id,
    name: body.name,
    description: body.description ?? '',
    status: 'enabled',
    created_at: now,
    updated_at: now,
    allowed_scopes: checkAllowedScopes(body.allowedScopes ?? []),
    access_token_lifetime: body.accessTokenLifetime ?? DEFAULT_ACCESS_TOKEN_LIFETIME,
  }
  await trx.insertInto('applications').values(row).execute()
  return row
}

export const DEFAULT_ACCESS_TOKEN_LIFETIME = 3600

/** Checks each allowed scope against the IDaaS grammar and known PAM scopes; stores them space-separated. */
function checkAllowedScopes(scopes: string[]): string {
  scopes.forEach((scope, i) => {
    try {
      parseScope(scope)
    } catch (err) {
      if (err instanceof ScopeError) throw new InvalidParameter(`allowedScopes.${i}`, err.message)
      throw err
    }
  })
  return scopes.join(' ')
}

/** Changes name, description, allowed scopes or token lifetime; audited with the fields changed. */
export async function updateApplication(
  s: Services,
  caller: Caller,
  instanceId: string,
  applicationId: string,
  body: UpdateApplicationBody,
): Promise<Application> {
  const allowed = body.allowedScopes === undefined ? undefined : checkAllowedScopes(body.allowedScopes)
  return s.committer.run(async ({ trx, audit }) => {
    const row = await requireApplication(trx, caller, instanceId, applicationId)
    row.name = body.name ?? row.name
    row.description = body.description ?? row.description
    row.allowed_scopes = allowed ?? row.allowed_scopes
    row.access_token_lifetime = body.accessTokenLifetime ?? row.access_token_lifetime
    row.updated_at = s.now()
    await trx
      .updateTable('applications')
      .set({
        name: row.name,
        description: row.description,
        allowed_scopes: row.allowed_scopes,
        access_token_lifetime: row.access_token_lifetime,
        updated_at: row.updated_at,
      })
      .where('id', '=', row.id)
      .execute()
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'application.update',
      resource: { type: 'application', id: row.id },
      outcome: 'success',
      details: { fields: Object.keys(body).sort().join(','), allowedScopes: row.allowed_scopes },
      request: caller.request,
    })
    return toApplication(row)
  })
}

export async function createApplication(
  s: Services,
  caller: Caller,
  instanceId: string,
  body: CreateApplicationBody,
): Promise<Application> {
  return s.committer.run(async ({ trx, audit }) => {
    await requireInstance(trx, caller, instanceId)
    const row = await insertApplication(trx, instanceId, body, s.now())
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'application.create',
      resource: { type: 'application', id: row.id },
      outcome: 'success',
      request: caller.request,
    })
    return toApplication(row)
  })
}

export async function listApplications(
  s: Services,
  caller: Caller,
  instanceId: string,
  query: ListQuery,
): Promise<Page<Application>> {
  await requireInstance(s.store.db, caller, instanceId)
  return pageById(
    query,
    (after, rows) =>
      s.store.db
        .selectFrom('applications')
        .selectAll()
        .where('instance_id', '=', instanceId)
        .$if(after !== undefined, (q) => q.where('id', '>', after!))
        .orderBy('id')
        .limit(rows)
        .execute(),
    toApplication,
  )
}

export async function requireApplication(
  db: Kysely<Database>,
  caller: Caller,
  instanceId: string,
  applicationId: string,
): Promise<ApplicationTable> {
  await requireInstance(db, caller, instanceId)
  const row = await db
    .selectFrom('applications')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .where('id', '=', applicationId)
    .executeTakeFirst()
  if (!row)
    throw new NotFound(
      'ApplicationNotFound',
      `application ${applicationId} does not exist in instance ${instanceId}`,
    )
  return row
}

export async function getApplication(s: Services, caller: Caller, instanceId: string, applicationId: string) {
  return toApplication(await requireApplication(s.store.db, caller, instanceId, applicationId))
}

export async function setApplicationStatus(
  s: Services,
  caller: Caller,
  instanceId: string,
  applicationId: string,
  status: Status,
): Promise<Application> {
  return s.committer.run(async (unit) => {
    const row = await requireApplication(unit.trx, caller, instanceId, applicationId)
    await changeStatus(
      unit,
      caller,
      { table: 'applications', resourceType: 'application', row },
      status,
      s.now(),
    )
    return toApplication(row)
  })
}
