import { Type } from '@sinclair/typebox'
import { AuditEventPage, AuditQuery, AuditVerifyResult, InstanceId } from '@strongroom/protocol'
import { queryAuditEvents } from '../../audit/query.js'
import { verifyChainOnce } from '../../audit/verify.js'
import { Forbidden } from '../../errors.js'
import { requireInstance } from '../../services/instances/instances.js'
import { type Caller, type Services, SYSTEM_CHAIN } from '../../services.js'
import { defineRoute, type RouteSpec } from '../route-table.js'

const E = '/admin/v1/instances/:instanceId/audit'
/** The audit endpoints also serve the `system` chain, to operator tokens only. */
const chainParams = Type.Object(
  { instanceId: Type.Union([InstanceId, Type.Literal(SYSTEM_CHAIN)]) },
  { additionalProperties: false },
)

async function requireChain(s: Services, caller: Caller, chain: string): Promise<string> {
  if (chain === SYSTEM_CHAIN) {
    if (caller.instanceScope !== null)
      throw new Forbidden('the system audit chain is for operator tokens only')
  } else {
    await requireInstance(s.store.db, caller, chain)
  }
  return chain
}

/** Administrators read and verify an instance's audit chain (`audit/`): `/admin/v1/instances/{i}/audit`. */
export function auditRoutes(s: Services): RouteSpec[] {
  const admin = { auth: 'admin', tag: 'audit' } as const
  return [
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${E}/events`,
      operationId: 'queryAuditEvents',
      summary: 'Query audit events (keyset pagination on seq)',
      params: chainParams,
      querystring: AuditQuery,
      success: { status: 200, schema: AuditEventPage },
      handler: async ({ caller, params, query }) =>
        queryAuditEvents(s.store.db, await requireChain(s, caller, params.instanceId), query),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${E}/verify`,
      operationId: 'verifyAuditChain',
      summary: "Recompute the instance's hash chain and name the first broken link",
      params: chainParams,
      success: { status: 200, schema: AuditVerifyResult },
      handler: async ({ caller, params }) =>
        verifyChainOnce(s.store.db, await requireChain(s, caller, params.instanceId)),
    }),
  ]
}
