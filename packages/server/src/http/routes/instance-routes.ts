import { Type } from '@sinclair/typebox'
import { CreateInstanceBody, Instance, InstanceId, InstancePage, ListQuery } from '@strongroom/protocol'
import * as instances from '../../services/instances/instances.js'
import type { Services } from '../../services.js'
import { defineRoute, type RouteSpec } from '../route-table.js'

const instanceParams = Type.Object({ instanceId: InstanceId }, { additionalProperties: false })

/** Administrators manage instances (tenants): `/admin/v1/instances`. */
export function instanceRoutes(s: Services): RouteSpec[] {
  const admin = { auth: 'admin', tag: 'instances' } as const
  return [
    defineRoute({
      ...admin,
      method: 'POST',
      url: '/admin/v1/instances',
      operationId: 'createInstance',
      summary: 'Create an instance (tenant)',
      body: CreateInstanceBody,
      success: { status: 201, schema: Instance },
      handler: ({ caller, body }) => instances.createInstance(s, caller, body),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: '/admin/v1/instances',
      operationId: 'listInstances',
      summary: 'List instances',
      querystring: ListQuery,
      success: { status: 200, schema: InstancePage },
      handler: ({ caller, query }) => instances.listInstances(s, caller, query),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: '/admin/v1/instances/:instanceId',
      operationId: 'getInstance',
      summary: 'Show an instance',
      params: instanceParams,
      success: { status: 200, schema: Instance },
      handler: ({ caller, params }) => instances.getInstance(s, caller, params.instanceId),
    }),
  ]
}
