import {
  type GrantAction,
  MAX_READER_GRANTS,
  type Reader,
  type Readers,
  type Status,
} from '@strongroom/protocol'
import type { Services } from '../../services.js'
import { grantsAllow } from './grants.js'

/**
 * The applications whose grants let them obtain one resource (a credential by its id and
 * identifier, an account by its id and name), each with those grants: "who can read this?".
 * The caller has checked that it may administer the instance and that the resource exists.
 */
export async function grantReaders(
  s: Services,
  instanceId: string,
  resourceType: 'credential' | 'account',
  resource: { id: string; identifier: string },
): Promise<Readers> {
  // The database narrows to grants that could match: exact ones naming the id or the identifier,
  // prefix ones naming a start of the identifier, with `obtain` among their actions. Which of them
  // do match is decided by `grantsAllow`, the rule every retrieval is authorized by.
  const starts = Array.from({ length: resource.identifier.length }, (_, i) =>
    resource.identifier.slice(0, i + 1),
  )
  const rows = await s.store.db
    .selectFrom('grants as g')
    .innerJoin('applications as a', 'a.id', 'g.application_id')
    .select([
      'g.id',
      'g.application_id',
      'g.resource_match',
      'g.resource',
      'g.actions',
      'a.name as application_name',
      'a.client_id',
      'a.status as application_status',
    ])
    .where('g.instance_id', '=', instanceId)
    .where('g.resource_type', '=', resourceType)
    .where('g.resource', 'in', [resource.id, ...starts])
    .where('g.actions', 'like', '%obtain%')
    .orderBy('g.id')
    .limit(MAX_READER_GRANTS + 1)
    .execute()
  const truncated = rows.length > MAX_READER_GRANTS
  const byApplication = new Map<string, Reader>()
  for (const g of rows.slice(0, MAX_READER_GRANTS)) {
    if (!grantsAllow([g], resource, 'obtain')) continue
    let reader = byApplication.get(g.application_id)
    if (!reader) {
      reader = {
        applicationId: g.application_id,
        applicationName: g.application_name,
        clientId: g.client_id,
        applicationStatus: g.application_status as Status,
        grants: [],
      }
      byApplication.set(g.application_id, reader)
    }
    reader.grants.push({
      grantId: g.id,
      resourceMatch: g.resource_match,
      resource: g.resource,
      actions: g.actions.split(',') as GrantAction[],
    })
  }
  const readers = [...byApplication.values()].sort(
    (a, b) =>
      a.applicationName.localeCompare(b.applicationName) || a.applicationId.localeCompare(b.applicationId),
  )
  return { resourceType, resourceId: resource.id, resourceName: resource.identifier, readers, truncated }
}
