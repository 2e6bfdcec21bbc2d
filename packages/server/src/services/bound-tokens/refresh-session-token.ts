import type { SessionToken } from '@strongroom/protocol'
import { tokenRefusedSince } from '../../oauth/authenticate-workload.js'
import { BoundTokenRefused } from '../../oauth/proof-of-possession/dpop-challenge.js'
import { formatScope, type ScopeSet } from '../../oauth/scopes.js'
import type { Services } from '../../services.js'
import { auditedOperation } from '../audited-operation.js'
import { refuseAudited } from './audited-refusal.js'
import { authenticateSession, type SessionRequest } from './authenticate-session.js'
import { mintBoundToken } from './mint-bound-token.js'
import { allowedValues, narrowScope } from './narrow-scope.js'
import { sessionTokenLifetime } from './session-lifetime.js'
import { requireLiveSession, SessionRefused } from './session-refused.js'
import { sessionStateInUnit } from './session-rows.js'

const ACTION = 'token.session.refresh'

/**
 * `POST /v2/{i}/sessionTokens/_/actions/refresh`: a new token for the same session (new `jti`,
 * same key, five minutes or what is left of the session), for a caller who proves possession of
 * the session's key over this request (see `authenticateSession`); the token presented may have
 * expired. The scope is the session's, narrowed again to what the application is allowed now, so
 * an administrator's change applies at the next refresh. The previous token stays valid until its
 * own `exp`. Audited as `token.session.refresh`.
 *
 * The session is read again inside the unit that records the event, once that unit holds the
 * instance's audit chain, and the token is answered only if the session is still live there: a
 * revocation committed since `authenticateSession` read it is not outrun. Less than a second left
 * of the session is `SessionExpired`, as is a session over.
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
  const lifetimeSeconds = sessionTokenLifetime(session.endsAt, s.now())
  const minted =
    lifetimeSeconds < 1
      ? undefined
      : await mintBoundToken(s, {
          instanceId,
          from: session.claims,
          scope,
          jkt: session.claims.cnf.jkt,
          lifetimeSeconds,
          sessionId: session.sessionId,
        })
  return auditedOperation(s, session.caller, event, async (unit) => {
    unit.about({ type: 'token_session', id: session.sessionId })
    try {
      await unit.audit.hold(instanceId)
      const state = await sessionStateInUnit.first(s.store, unit.trx, {
        sessionId: session.sessionId,
        instanceId,
      })
      if (!state) throw new SessionRefused('SessionNotFound', 'the session of this token does not exist')
      requireLiveSession(state, s.now())
      // The token presented, read again now that the head is held: revoked, its application
      // disabled or its signing key revoked since it was checked, it renews nothing.
      const why = await tokenRefusedSince(s, unit.trx, instanceId, session)
      if (why !== null) return unit.refuse(new BoundTokenRefused(`the access token was refused: ${why}`), why)
      if (!minted)
        throw new SessionRefused(
          'SessionExpired',
          'less than a second of the session is left; start a new one',
        )
    } catch (err) {
      if (err instanceof SessionRefused) return unit.refuse(err, err.code)
      throw err
    }
    const { response } = minted
    await unit.succeed({ scope: formatScope(scope), tokenId: response.tokenId })
    return { ...response, sessionId: session.sessionId, sessionExpirationTime: session.endsAt }
  })
}
