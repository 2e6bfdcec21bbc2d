import { PamError } from '../../errors.js'
import type { ScopeSet } from '../../oauth/scopes.js'
import type { Services, Workload } from '../context.js'
import { allowedValues, isPamAudience, narrowScope } from './narrow-scope.js'

/**
 * The scope a workload may put in a token bound to a key, for what it asked. For strongroom's own
 * API (the PAM audience) that is what its calling token carries: a derived token never holds more
 * than the one it came from. For another audience it is what the application is allowed there —
 * but only when the caller presents the application's own (unbound) token: a key-bound token is
 * already narrowed, and must not be a way to reach audiences its own scope never named.
 */
export async function scopeForCaller(
  s: Pick<Services, 'store'>,
  instanceId: string,
  workload: Workload,
  asked: ScopeSet,
): Promise<ScopeSet> {
  if (isPamAudience(asked)) return narrowScope(asked, workload.scopes, 'the calling access token')
  if (workload.claims.cnf !== undefined) {
    throw new PamError(
      'InsufficientScope',
      403,
      `a key-bound token can only be narrowed within its own audience; ask for ${asked.audience} with the application's own access token`,
    )
  }
  const application = await s.store.db
    .selectFrom('applications')
    .select('allowed_scopes')
    .where('id', '=', workload.applicationId)
    .where('instance_id', '=', instanceId)
    .executeTakeFirst()
  const allowed = allowedValues(application?.allowed_scopes ?? '', asked.audience)
  return narrowScope(asked, allowed, 'this application')
}
