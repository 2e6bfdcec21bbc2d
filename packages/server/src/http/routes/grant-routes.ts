import { Type } from '@sinclair/typebox'
import { CreateGrantBody, Grant, GrantId, GrantListQuery, GrantPage, InstanceId } from '@strongroom/protocol'
import * as grants from '../../services/grants/grants.js'
import type { Services } from '../../services.js'
import { defineRoute, type RouteSpec } from '../route-table.js'

const closed = { additionalProperties: false } as const
const G = '/admin/v1/instances/:instanceId/grants'
const instanceParams = Type.Object({ instanceId: InstanceId }, closed)

/** Administrators grant applications actions on resources: `/admin/v1/instances/{i}/grants`. */
export function grantRoutes(s: Services): RouteSpec[] {
  const admin = { auth: 'admin', tag: 'grants' } as const
  return [
    defineRoute({
      ...admin,
      method: 'POST',
      url: G,
      operationId: 'createGrant',
      summary: 'Grant an application actions on resources',
      params: instanceParams,
      body: CreateGrantBody,
      success: { status: 201, schema: Grant },
      handler: ({ caller, params, body }) => grants.createGrant(s, caller, params.instanceId, body),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: G,
      operationId: 'listGrants',
      summary: 'List grants',
      params: instanceParams,
      querystring: GrantListQuery,
      success: { status: 200, schema: GrantPage },
      handler: ({ caller, params, query }) => grants.listGrants(s, caller, params.instanceId, query),
    }),
    defineRoute({
      ...admin,
      method: 'DELETE',
      url: `${G}/:grantId`,
      operationId: 'deleteGrant',
      summary: 'Delete a grant',
      params: Type.Object({ instanceId: InstanceId, grantId: GrantId }, closed),
      success: { status: 204, schema: null },
      handler: ({ caller, params }) => grants.deleteGrant(s, caller, params.instanceId, params.grantId),
    }),
  ]
}
