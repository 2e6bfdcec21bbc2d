import type { BindingKey } from '@strongroom/protocol'
import { confirmationFor } from '../../oauth/proof-of-possession/confirmation-for.js'
import { formatScope, type ScopeSet } from '../../oauth/scopes.js'
import type { Caller, Services, Workload } from '../../services.js'
import { refuseAudited } from './audited-refusal.js'
import { scopeForCaller } from './caller-scope.js'
import { requestedScope } from './narrow-scope.js'

/** What both issuances start from: the key's confirmation, the scope granted, the audit event. */
export interface BindingRequest {
  cnf: { jkt: string }
  scope: ScopeSet
  event: { instanceId: string; action: string; details: { requestedScope: string; jkt: string } }
}

/**
 * The common start of issuing a scoped or a session token: the public key checked and turned into
 * its thumbprint (400 naming `publicKey…` for a key that cannot be bound), the scope asked for
 * narrowed to what the caller may have, and a refusal of that scope recorded under `action`
 * before it is thrown.
 */
export async function bindingRequest(
  s: Services,
  caller: Caller & { workload: Workload },
  instanceId: string,
  action: string,
  body: { scope: string; publicKey: BindingKey },
): Promise<BindingRequest> {
  const { cnf } = confirmationFor(body.publicKey as { jwk: Record<string, unknown> } | { pem: string })
  const asked = requestedScope(body.scope)
  const event = { instanceId, action, details: { requestedScope: formatScope(asked), jkt: cnf.jkt } }
  const scope = await scopeForCaller(s, instanceId, caller.workload, asked).catch((err: unknown) =>
    refuseAudited(s, caller, event, err),
  )
  return { cnf, scope, event }
}
