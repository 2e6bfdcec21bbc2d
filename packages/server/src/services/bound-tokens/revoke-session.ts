import type { Services } from '../../services.js'
import { auditedOperation } from '../audited-operation.js'
import { authenticateSession, type SessionRequest } from './authenticate-session.js'
import { revokeSession } from './session-rows.js'

/**
 * `POST /v2/{i}/sessionTokens/_/actions/revoke`: ends a session before its time, for a caller who
 * proves possession of the session's key (see `authenticateSession`). From then on the session's
 * tokens are refused by strongroom and cannot be refreshed (`SessionRevoked`); a third-party
 * resource server stops accepting them at their `exp`, five minutes at most. Idempotent: a
 * session already revoked or over is answered the same. Audited as `token.session.revoke`.
 */
export async function revokeSessionByToken(
  s: Services,
  instanceId: string,
  req: SessionRequest,
): Promise<Record<string, never>> {
  const action = 'token.session.revoke'
  const session = await authenticateSession(s, instanceId, req, action, false)
  return auditedOperation(
    s,
    session.caller,
    { instanceId, action, details: { sessionId: session.sessionId } },
    async (unit) => {
      await revokeSession(unit.trx, instanceId, session.sessionId)
      unit.about({ type: 'token_session', id: session.sessionId })
      await unit.succeed()
      return {}
    },
  )
}
