import { Type } from '@sinclair/typebox'
import {
  InstanceId,
  RevokeSigningKeyBody,
  RotateSigningKeyBody,
  SigningKey,
  SigningKeyId,
} from '@strongroom/protocol'
import { requireInstance } from '../../services/instances/instances.js'
import type { Services } from '../../services.js'
import { defineRoute, type RouteSpec } from '../route-table.js'

const K = '/admin/v1/instances/:instanceId/signing-keys'
const instanceParams = Type.Object({ instanceId: InstanceId }, { additionalProperties: false })
const keyParams = Type.Object({ instanceId: InstanceId, kid: SigningKeyId }, { additionalProperties: false })

/** Administrators list, rotate and revoke the signing keys of an instance's authorization server (`oauth/signing-keys.ts`). */
export function signingKeyRoutes(s: Services): RouteSpec[] {
  const admin = { auth: 'admin', tag: 'authorization-server' } as const
  return [
    defineRoute({
      ...admin,
      method: 'GET',
      url: K,
      operationId: 'listSigningKeys',
      summary: 'List the published signing keys of the instance (next, active, retired)',
      params: instanceParams,
      success: { status: 200, schema: Type.Object({ entities: Type.Array(SigningKey) }) },
      handler: async ({ caller, params }) => {
        await requireInstance(s.store.db, caller, params.instanceId)
        return { entities: await s.signingKeys.list(params.instanceId) }
      },
    }),
    defineRoute({
      ...admin,
      method: 'POST',
      url: `${K}/rotate`,
      operationId: 'rotateSigningKey',
      summary: 'Add a signing key: published now, signing after activateAfterSeconds (default 600)',
      params: instanceParams,
      body: RotateSigningKeyBody,
      success: { status: 201, schema: SigningKey },
      handler: async ({ caller, params, body }) => {
        await requireInstance(s.store.db, caller, params.instanceId)
        return s.signingKeys.rotate(caller, params.instanceId, body)
      },
    }),
    defineRoute({
      ...admin,
      method: 'POST',
      url: `${K}/:kid/revoke`,
      operationId: 'revokeSigningKey',
      summary:
        'Revoke a signing key that leaked: unpublished at once, every token it signed refused. Not the active key (409: rotate first); again: 200, unchanged',
      params: keyParams,
      body: RevokeSigningKeyBody,
      success: { status: 200, schema: SigningKey },
      handler: async ({ caller, params, body }) => {
        await requireInstance(s.store.db, caller, params.instanceId)
        return s.signingKeys.revoke(caller, params.instanceId, params.kid, body)
      },
    }),
  ]
}
