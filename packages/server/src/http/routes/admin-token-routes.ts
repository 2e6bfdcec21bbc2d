import { Type } from '@sinclair/typebox'
import {
  AdminToken,
  AdminTokenId,
  AdminTokenPage,
  CreateAdminTokenBody,
  CreatedAdminToken,
  ListQuery,
  WhoAmI,
} from '@strongroom/protocol'
import * as adminTokens from '../../services/admin-tokens/admin-tokens.js'
import type { Services } from '../../services.js'
import { defineRoute, type RouteSpec } from '../route-table.js'

/** Admin tokens: the one in use (`/admin/v1/whoami`), and creating, listing and revoking them. */
export function adminTokenRoutes(s: Services): RouteSpec[] {
  const admin = { auth: 'admin', tag: 'admin-tokens' } as const
  return [
    defineRoute({
      ...admin,
      method: 'GET',
      url: '/admin/v1/whoami',
      operationId: 'whoAmI',
      summary: 'The admin token in use and the default instance',
      tag: 'admin',
      success: { status: 200, schema: WhoAmI },
      handler: async ({ caller, request }) => ({
        adminTokenId: caller.actor.id,
        name: request.adminTokenName ?? '',
        instanceId: caller.instanceScope,
        defaultInstanceId: caller.instanceScope ?? s.defaultInstanceId,
      }),
    }),
    defineRoute({
      ...admin,
      method: 'POST',
      url: '/admin/v1/admin-tokens',
      operationId: 'createAdminToken',
      summary: 'Create an admin token (returned once)',
      body: CreateAdminTokenBody,
      success: { status: 201, schema: CreatedAdminToken },
      handler: ({ caller, body }) => adminTokens.createAdminToken(s, caller, body),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: '/admin/v1/admin-tokens',
      operationId: 'listAdminTokens',
      summary: 'List admin tokens',
      querystring: ListQuery,
      success: { status: 200, schema: AdminTokenPage },
      handler: ({ caller, query }) => adminTokens.listAdminTokens(s, caller, query),
    }),
    defineRoute({
      ...admin,
      method: 'POST',
      url: '/admin/v1/admin-tokens/:adminTokenId/revoke',
      operationId: 'revokeAdminToken',
      summary: 'Revoke an admin token',
      params: Type.Object({ adminTokenId: AdminTokenId }, { additionalProperties: false }),
      success: { status: 200, schema: AdminToken },
      handler: ({ caller, params }) => adminTokens.revokeAdminToken(s, caller, params.adminTokenId),
    }),
  ]
}
