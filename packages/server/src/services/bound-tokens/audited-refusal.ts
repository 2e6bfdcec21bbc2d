import { isPermissionRefusal } from '../../errors.js'
import type { Caller, Services } from '../../services.js'
import { auditedOperation } from '../audited-operation.js'

/**
 * Records a refusal of permission (`isPermissionRefusal`: a refused scope by default, or `why`) as
 * the operation's `denied` event, then throws it, so every issuance asked for is in the audit log
 * whatever its outcome; any other error passes unchanged.
 */
export async function refuseAudited(
  s: Services,
  caller: Caller,
  event: Parameters<typeof auditedOperation>[2],
  err: unknown,
  why = 'insufficient_scope',
): Promise<never> {
  if (isPermissionRefusal(err))
    return auditedOperation<never>(s, caller, event, (unit) => unit.refuse(err, why))
  throw err
}
