import type { IssueSessionTokenBody, SessionToken } from '@strongroom/protocol'
import { InvalidToken, PamError } from '../../errors.js'
import { newId } from '../../ids.js'
import type { Caller, Services, Workload } from '../../services.js'
import { auditedOperation } from '../audited-operation.js'
import { refuseAudited } from './audited-refusal.js'
import { bindingRequest } from './binding-request.js'
import { isOwnPlainToken } from './caller-scope.js'
import { mintBoundToken } from './mint-bound-token.js'
import { sessionTokenLifetime } from './session-lifetime.js'
import { insertSession } from './session-rows.js'

const ACTION = 'token.session.issue'

/**
 * `POST /v2/{i}/sessionTokens/_/actions/issue`: starts a session bound to the caller's public key
 * and answers its first token (`cnf.jkt` and `sid`, five minutes or less), which `refresh` renews
 * with a proof of that key until the session ends `sessionExpirationInMinutes` (5-60) from now.
 *
 * A session is started with a plain access token, never with a key-bound one (403
 * `PermissionDenied`, audited): sessions do not chain, so revoking one ends everything derived
 * from it. The session records the `jti` of the token it was started with, and revoking that
 * token (RFC 7009) ends the session too. Started with the application's own token it may outlive
 * that token, up to its hour, because every renewal proves possession of the key and re-checks
 * that the application is enabled and still allowed the scope; started with an exchanged token
 * (RFC 8693: about another subject) it cannot outlive that token's `exp`, as the exchanged token
 * cannot outlive its subject token. The scope is what was asked narrowed as for scoped tokens.
 * Audited as `token.session.issue` (session, key thumbprint, scope, token id; never the token).
 */
export async function issueSessionToken(
  s: Services,
  caller: Caller & { workload: Workload },
  instanceId: string,
  body: IssueSessionTokenBody,
): Promise<SessionToken> {
  const { workload } = caller
  if (workload.claims.cnf !== undefined) {
    const refused = new PamError(
      'PermissionDenied',
      "a session is started with the application's own access token, not with a key-bound token",
    )
    await refuseAudited(s, caller, { instanceId, action: ACTION }, refused, 'key_bound_caller')
  }
  const { cnf, scope, event } = await bindingRequest(s, caller, instanceId, ACTION, body)
  const now = s.now()
  let endsAt = now + body.sessionExpirationInMinutes * 60_000
  if (!isOwnPlainToken(workload)) endsAt = Math.min(endsAt, workload.claims.exp * 1000)
  const lifetimeSeconds = sessionTokenLifetime(endsAt, now)
  if (lifetimeSeconds < 1) throw new InvalidToken('the access token has expired')
  const sessionId = newId('sess', now)
  const { response } = await mintBoundToken(s, {
    instanceId,
    from: workload.claims,
    scope,
    jkt: cnf.jkt,
    lifetimeSeconds,
    sessionId,
  })
  return auditedOperation(s, caller, event, async (unit) => {
    await insertSession(unit.trx, {
      id: sessionId,
      instance_id: instanceId,
      application_id: workload.applicationId,
      jkt: cnf.jkt,
      scope: response.scope,
      revoked: 0,
      created_at: now,
      expires_at: endsAt,
      parent_jti: workload.claims.jti,
    })
    unit.about({ type: 'token_session', id: sessionId })
    await unit.succeed({
      scope: response.scope,
      tokenId: response.tokenId,
      sessionExpirationTime: endsAt,
    })
    return { ...response, sessionId, sessionExpirationTime: endsAt }
  })
}
