import { PamError } from '../../errors.js'
import type { Caller, Services } from '../context.js'
import { auditedOperation } from '../pam/audited-operation.js'

/**
 * Records a refused scope (a 403) as the operation's `denied` event, then throws it, so every
 * issuance asked for is in the audit log whatever its outcome; any other error passes unchanged.
 */
export async function refuseAudited(
  s: Services,
  caller: Caller,
  event: Parameters<typeof auditedOperation>[2],
  err: unknown,
): Promise<never> {
  if (err instanceof PamError && err.status === 403)
    return auditedOperation<never>(s, caller, event, (unit) => unit.refuse(err, 'insufficient_scope'))
  throw err
}
