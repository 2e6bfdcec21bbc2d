import {
  type CreateGrantBody,
  type Grant,
  type GrantAction,
  type GrantListQuery,
  type GrantResourceType,
  hasEmptyOrDotSegment,
  IDENTIFIER_PREFIX_RULE,
  IDENTIFIER_RULE,
  isIdentifier,
  isIdentifierPrefix,
} from '@strongroom/protocol'
import { InvalidParameter, NotFound } from '../../errors.js'
import { newId } from '../../ids.js'
import type { Caller, Services } from '../../services.js'
import { type Page, pageById } from '../../store/pagination.js'
import type { GrantTable } from '../../store/schema.js'
import { requireApplication } from '../applications/applications.js'
import { requireInstance } from '../instances/instances.js'

export function toGrant(row: GrantTable): Grant {
  return {
    grantId: row.id,
    instanceId: row.instance_id,
    applicationId: row.application_id,
    resourceType: row.resource_type as GrantResourceType,
    resourceMatch: row.resource_match,
    resource: row.resource,
    actions: row.actions.split(',') as GrantAction[],
    createTime: Number(row.created_at),
  }
}

/** The id prefix of each resource type whose grants name identifiers. */
const IDENTIFIED: Partial<Record<GrantResourceType, string>> = {
  credential: 'cred',
  credential_provider: 'atp',
}

/**
 * A grant on credentials or providers names what it covers in the identifier grammar: an exact
 * grant an id or an identifier, a prefix grant the start of an identifier. `team/../` would
 * otherwise be a prefix no identifier starts with, and a typo no one would notice.
 */
function checkGrantResource(body: CreateGrantBody): void {
  if (body.resourceType === 'cloud_account_role') {
    checkRoleGrantResource(body)
    return
  }
  const idPrefix = IDENTIFIED[body.resourceType]
  if (idPrefix === undefined) return
  const { resource } = body
  if ((body.resourceMatch ?? 'exact') === 'prefix') {
    if (!isIdentifierPrefix(resource)) throw new InvalidParameter('resource', IDENTIFIER_PREFIX_RULE)
  } else if (!new RegExp(`^${idPrefix}_[0-9a-z]{26}$`).test(resource) && !isIdentifier(resource)) {
    throw new InvalidParameter(
      'resource',
      `must be a ${body.resourceType} id (${idPrefix}_…) or an identifier that ${IDENTIFIER_RULE.replace(/^must /, '')}`,
    )
  }
}

const ROLE_ARN_START = /^(acs:ram::|arn:aws(-cn|-us-gov)?:iam::)/
const ROLE_GRANT_RULE =
  'must be a role id (car_…) or a role ARN (acs:ram::<uid>:role/<name>, arn:aws:iam::<account>:role/<name>)'

/**
 * A grant on cloud account roles names a role by id or ARN, or by prefix the start of ARNs
 * (`acs:ram::1234:role/ci-` covers every role of that account whose name starts `ci-`).
 */
function checkRoleGrantResource(body: CreateGrantBody): void {
  const { resource } = body
  if ((body.resourceMatch ?? 'exact') === 'prefix') {
    if (
      !ROLE_ARN_START.test(resource) ||
      hasEmptyOrDotSegment(resource.replace(/\/$/, '')) ||
      /\s/.test(resource)
    )
      throw new InvalidParameter('resource', 'must be the start of a role ARN (acs:ram::… or arn:aws:iam::…)')
  } else if (
    !/^car_[0-9a-z]{26}$/.test(resource) &&
    !(ROLE_ARN_START.test(resource) && /^\S+:role\/\S+$/.test(resource))
  ) {
    throw new InvalidParameter('resource', ROLE_GRANT_RULE)
  }
}

export async function createGrant(
  s: Services,
  caller: Caller,
  instanceId: string,
  body: CreateGrantBody,
): Promise<Grant> {
  checkGrantResource(body)
  return s.committer.run(async ({ trx, audit }) => {
    await requireApplication(trx, caller, instanceId, body.applicationId)
    const now = s.now()
    const row: GrantTable = {
      id: newId('grant', now),
      instance_id: instanceId,
      application_id: body.applicationId,
      resource_type: body.resourceType,
      resource_match: body.resourceMatch ?? 'exact',
      resource: body.resource,
      actions: [...body.actions].sort().join(','),
      created_at: now,
    }
    await trx.insertInto('grants').values(row).execute()
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'grant.create',
      resource: { type: 'grant', id: row.id },
      outcome: 'success',
      details: {
        applicationId: row.application_id,
        resourceType: row.resource_type,
        resourceMatch: row.resource_match,
        resource: row.resource,
        actions: row.actions,
      },
      request: caller.request,
    })
    return toGrant(row)
  })
}

export async function listGrants(
  s: Services,
  caller: Caller,
  instanceId: string,
  query: GrantListQuery,
): Promise<Page<Grant>> {
  await requireInstance(s.store.db, caller, instanceId)
  const { applicationId, resourceType } = query
  return pageById(
    query,
    (after, rows) =>
      s.store.db
        .selectFrom('grants')
        .selectAll()
        .where('instance_id', '=', instanceId)
        .$if(applicationId !== undefined, (q) => q.where('application_id', '=', applicationId!))
        .$if(resourceType !== undefined, (q) => q.where('resource_type', '=', resourceType!))
        .$if(after !== undefined, (q) => q.where('id', '>', after!))
        .orderBy('id')
        .limit(rows)
        .execute(),
    toGrant,
  )
}

export async function deleteGrant(
  s: Services,
  caller: Caller,
  instanceId: string,
  grantId: string,
): Promise<void> {
  await s.committer.run(async ({ trx, audit }) => {
    await requireInstance(trx, caller, instanceId)
    const row = await trx
      .selectFrom('grants')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('id', '=', grantId)
      .executeTakeFirst()
    if (!row) throw new NotFound('GrantNotFound', `grant ${grantId} does not exist in instance ${instanceId}`)
    await trx.deleteFrom('grants').where('id', '=', row.id).execute()
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'grant.delete',
      resource: { type: 'grant', id: row.id },
      outcome: 'success',
      details: { applicationId: row.application_id, resourceType: row.resource_type, resource: row.resource },
      request: caller.request,
    })
  })
}

/**
 * The matching rule of a grant, over the application's grants of one resource type (read by
 * `authorize`'s prepared query). A prefix
 * grant covers only identifiers in the grammar: one stored before the grammar was enforced
 * (`team/../other`) is never reached through `team/`.
 */
export function grantsAllow(
  rows: readonly Pick<GrantTable, 'resource_match' | 'resource' | 'actions'>[],
  resource: { id: string; identifier: string },
  action: GrantAction,
): boolean {
  return rows.some(
    (g) =>
      g.actions.split(',').includes(action) &&
      (g.resource_match === 'exact'
        ? g.resource === resource.id || g.resource === resource.identifier
        : resource.identifier.startsWith(g.resource) && !hasEmptyOrDotSegment(resource.identifier)),
  )
}
