import { PamError } from '../../errors.js'
import type { ScopeSet } from '../../oauth/scopes.js'
import type { Services, Workload } from '../../services.js'
import { allowedValues, isPamAudience, narrowScope } from './narrow-scope.js'

/**
 * Whether the workload called with the application's own plain access token: about itself
 * (`sub` is the application), bound to no key, and not issued by token exchange (RFC 8693: no
 * `act`, no `subject_issuer`). Only such a token speaks for everything the application is
 * allowed; any other is a narrowed grant that what is derived from it must stay within.
 */
export function isOwnPlainToken(workload: Workload): boolean {
  const { claims } = workload
  return (
    claims.sub === workload.applicationId &&
    claims.act === undefined &&
    claims.subject_issuer === undefined &&
    claims.cnf === undefined
  )
}

/**
 * The scope a workload may put in a token bound to a key, for what it asked. For strongroom's own
 * API (the PAM audience) that is what its calling token carries: a derived token never holds more
 * than the one it came from. For another audience it is what the application is allowed there —
 * but only when the caller presents the application's own plain token (`isOwnPlainToken`): a
 * key-bound token is already narrowed, and an exchanged one is about its subject, within the
 * subject token's scope (token exchange refuses anything beyond it); neither may be a way to
 * reach audiences its own scope never named.
 */
export async function scopeForCaller(
  s: Pick<Services, 'store'>,
  instanceId: string,
  workload: Workload,
  asked: ScopeSet,
): Promise<ScopeSet> {
  if (isPamAudience(asked)) return narrowScope(asked, workload.scopes, 'the calling access token')
  if (!isOwnPlainToken(workload)) {
    const which = workload.claims.cnf !== undefined ? 'a key-bound token' : 'a token issued by token exchange'
    throw new PamError(
      'InsufficientScope',
      `${which} can only be narrowed within its own audience; ask for ${asked.audience} with the application's own access token`,
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
