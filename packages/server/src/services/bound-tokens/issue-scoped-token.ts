import type { IssueScopedTokenBody, ScopedToken } from '@strongroom/protocol'
import { InvalidToken } from '../../errors.js'
import type { Caller, Services, Workload } from '../../services.js'
import { auditedOperation } from '../audited-operation.js'
import { bindingRequest } from './binding-request.js'
import { mintBoundToken } from './mint-bound-token.js'

/** Seconds a scoped token lives unless asked otherwise. */
export const DEFAULT_SCOPED_TOKEN_SECONDS = 900

/**
 * `POST /v2/{i}/scopedTokens/_/actions/issue`: a token bound to the caller's public key
 * (`cnf.jkt`, RFC 9449 §6.1) carrying what it asked for narrowed to what it may have
 * (`scopeForCaller`), living `expiration` seconds (default 900) but never beyond the calling
 * token's own `exp`: a narrowed token must not outlive the grant it came from. Derived from a
 * token of a session, it carries that session's `sid` and is refused once the session is revoked
 * or over, whatever key it is bound to; `scoped: true` says it is no session token, so it cannot
 * refresh or revoke the session. Audited as `token.scoped.issue` with the key's thumbprint, the
 * scope and the token id — never the token — and answered only once that event is committed.
 */
export async function issueScopedToken(
  s: Services,
  caller: Caller & { workload: Workload },
  instanceId: string,
  body: IssueScopedTokenBody,
): Promise<ScopedToken> {
  const { workload } = caller
  const { cnf, scope, event } = await bindingRequest(s, caller, instanceId, 'token.scoped.issue', body)
  const remaining = workload.claims.exp - Math.floor(s.now() / 1000)
  const lifetimeSeconds = Math.min(body.expiration ?? DEFAULT_SCOPED_TOKEN_SECONDS, remaining)
  if (lifetimeSeconds < 1) throw new InvalidToken('the access token has expired')
  const { response } = await mintBoundToken(s, {
    instanceId,
    from: workload.claims,
    scope,
    jkt: cnf.jkt,
    lifetimeSeconds,
    ...(workload.claims.sid !== undefined ? { sessionId: workload.claims.sid } : {}),
    scoped: true,
  })
  return auditedOperation(s, caller, event, async (unit) => {
    unit.about({ type: 'application', id: workload.applicationId })
    await unit.succeed({
      scope: response.scope,
      tokenId: response.tokenId,
      expirationTime: response.expirationTime,
      ...(workload.claims.sid !== undefined ? { sessionId: workload.claims.sid } : {}),
    })
    return response
  })
}
