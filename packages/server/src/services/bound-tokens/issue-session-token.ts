import type { IssueSessionTokenBody, SessionToken } from '@strongroom/protocol'
import { newId } from '../../ids.js'
import type { Caller, Services, Workload } from '../context.js'
import { auditedOperation } from '../pam/audited-operation.js'
import { bindingRequest } from './binding-request.js'
import { mintBoundToken } from './mint-bound-token.js'
import { sessionTokenLifetime } from './session-lifetime.js'
import { insertSession } from './session-rows.js'

/**
 * `POST /v2/{i}/sessionTokens/_/actions/issue`: starts a session bound to the caller's public key
 * and answers its first token (`cnf.jkt` and `sid`, five minutes or less), which `refresh` renews
 * with a proof of that key until the session ends `sessionExpirationInMinutes` (5-60) from now.
 *
 * A session is a grant of its own: started with the application's own access token it may
 * outlive that token, up to its hour, because every renewal proves possession of the key and
 * re-checks that the application is enabled and still allowed the scope. Started with a token
 * that is itself key-bound it cannot outlive it: not the end of that token's session, nor the
 * `exp` of a scoped token. The scope is what was asked narrowed as for scoped tokens. Audited as
 * `token.session.issue` (session, key thumbprint, scope, token id; never the token).
 */
export async function issueSessionToken(
  s: Services,
  caller: Caller & { workload: Workload },
  instanceId: string,
  body: IssueSessionTokenBody,
): Promise<SessionToken> {
  const { workload } = caller
  const { cnf, scope, event } = await bindingRequest(s, caller, instanceId, 'token.session.issue', body)
  const now = s.now()
  let endsAt = now + body.sessionExpirationInMinutes * 60_000
  if (workload.sessionEndsAt !== undefined) endsAt = Math.min(endsAt, workload.sessionEndsAt)
  else if (workload.claims.cnf !== undefined) endsAt = Math.min(endsAt, workload.claims.exp * 1000)
  const lifetimeSeconds = sessionTokenLifetime(endsAt, now)
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
