import type { CreateInstanceBody, Instance, ListQuery } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { GENESIS_HASH } from '../../audit/chain.js'
import { Forbidden, NotFound } from '../../errors.js'
import { newId } from '../../ids.js'
import { type Caller, type Services, SYSTEM_CHAIN } from '../../services.js'
import type { Dialect } from '../../store/connect.js'
import { type Page, pageById } from '../../store/pagination.js'
import type { Database, InstanceTable } from '../../store/schema.js'

export function toInstance(row: InstanceTable): Instance {
  return {
    instanceId: row.id,
    name: row.name,
    description: row.description,
    createTime: Number(row.created_at),
    updateTime: Number(row.updated_at),
  }
}

/** Inserts an instance with its data key and an empty audit chain, in the caller's transaction. */
export async function insertInstance(
  s: Pick<Services, 'keyring'>,
  dialect: Dialect,
  trx: Kysely<Database>,
  body: CreateInstanceBody,
  now: number,
): Promise<InstanceTable> {
  const row: InstanceTable = {
    id: newId('idaas', now),
    name: body.name,
    description: body.description ?? '',
    created_at: now,
    updated_at: now,
  }
  await trx.insertInto('instances').values(row).execute()
  await s.keyring.createInstanceKey(trx, dialect, row.id, now)
  await trx.insertInto('audit_heads').values({ instance_id: row.id, seq: 0, hash: GENESIS_HASH }).execute()
  return row
}

export async function createInstance(
  s: Services,
  caller: Caller,
  body: CreateInstanceBody,
): Promise<Instance> {
  if (caller.instanceScope !== null)
    throw new Forbidden('an admin token limited to one instance cannot create instances')
  return s.committer.run(async ({ trx, audit }) => {
    const row = await insertInstance(s, s.store.dialect, trx, body, s.now())
    await audit.append({
      instanceId: SYSTEM_CHAIN,
      actor: caller.actor,
      action: 'instance.create',
      resource: { type: 'instance', id: row.id },
      outcome: 'success',
      request: caller.request,
    })
    await audit.append({
      instanceId: row.id,
      actor: caller.actor,
      action: 'instance.create',
      resource: { type: 'instance', id: row.id },
      outcome: 'success',
      request: caller.request,
    })
    return toInstance(row)
  })
}

export async function listInstances(s: Services, caller: Caller, query: ListQuery): Promise<Page<Instance>> {
  const scope = caller.instanceScope
  return pageById(
    query,
    (after, rows) =>
      s.store.db
        .selectFrom('instances')
        .selectAll()
        .$if(scope !== null, (q) => q.where('id', '=', scope!))
        .$if(after !== undefined, (q) => q.where('id', '>', after!))
        .orderBy('id')
        .limit(rows)
        .execute(),
    toInstance,
  )
}

/** Resolves an instance the caller may administer, or throws 403/404. */
export async function requireInstance(
  db: Kysely<Database>,
  caller: Caller,
  instanceId: string,
): Promise<InstanceTable> {
  if (caller.instanceScope !== null && caller.instanceScope !== instanceId) {
    throw new Forbidden(`this admin token is limited to instance ${caller.instanceScope}`)
  }
  const row = await db.selectFrom('instances').selectAll().where('id', '=', instanceId).executeTakeFirst()
  if (!row) throw new NotFound('InstanceNotFound', `instance ${instanceId} does not exist`)
  return row
}

export async function getInstance(s: Services, caller: Caller, instanceId: string): Promise<Instance> {
  return toInstance(await requireInstance(s.store.db, caller, instanceId))
}
