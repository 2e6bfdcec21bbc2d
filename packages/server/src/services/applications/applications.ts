import type { Application, CreateApplicationBody, ListQuery, Status } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { NotFound } from '../../errors.js'
import { newId } from '../../ids.js'
import { type Page, pageById } from '../../store/pagination.js'
import type { ApplicationTable, Database } from '../../store/schema.js'
import type { Caller, Services } from '../context.js'
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
  }
  await trx.insertInto('applications').values(row).execute()
  return row
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
