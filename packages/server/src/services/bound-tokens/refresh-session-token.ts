import type { SessionToken } from '@strongroom/protocol'
import { formatScope, type ScopeSet } from '../../oauth/scopes.js'
import type { Services } from '../context.js'
import { auditedOperation } from '../pam/audited-operation.js'
import { refuseAudited } from './audited-refusal.js'
import { authenticateSession, type SessionRequest } from './authenticate-session.js'
import { mintBoundToken } from './mint-bound-token.js'
import { allowedValues, narrowScope } from './narrow-scope.js'
import { sessionTokenLifetime } from './session-lifetime.js'

const ACTION = 'token.session.refresh'

/**
 * `POST /v2/{i}/sessionTokens/_/actions/refresh`: a new token for the same session (new `jti`,
 * same key, five minutes or what is left of the session), for a caller who proves possession of
 * the session's key over this request (see `authenticateSession`); the token presented may have
 * expired. The scope is the session's, narrowed again to what the application is allowed now, so
 * an administrator's change applies at the next refresh. The previous token stays valid until its
 * own `exp`. Audited as `token.session.refresh`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
export async function refreshSessionToken(
  s: Services,
  instanceId: string,
  req: SessionRequest,
): Promise<SessionToken> {
  const session = await authenticateSession(s, instanceId, req, ACTION, true)
  const event = {
    instanceId,
    action: ACTION,
    details: { sessionId: session.sessionId, previousTokenId: session.claims.jti },
  }
  let scope: ScopeSet
  try {
    const allowed = allowedValues(session.allowedScopes, session.scope.audience)
    scope = narrowScope(session.scope, allowed, 'this application now')
  } catch (err) {
    scope = await refuseAudited(s, session.caller, event, err)
  }
  const now = s.now()
  const { response } = await mintBoundToken(s, {
    instanceId,
    from: session.claims,
    scope,
    jkt: session.claims.cnf.jkt,
    lifetimeSeconds: sessionTokenLifetime(session.endsAt, now),
    sessionId: session.sessionId,
  })
  return auditedOperation(s, session.caller, event, async (unit) => {
    unit.about({ type: 'token_session', id: session.sessionId })
    await unit.succeed({ scope: formatScope(scope), tokenId: response.tokenId })
    return { ...response, sessionId: session.sessionId, sessionExpirationTime: session.endsAt }
  })
}
