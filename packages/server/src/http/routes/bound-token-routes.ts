import { type Static, Type } from '@sinclair/typebox'
import {
  Empty,
  InstanceId,
  IssueScopedTokenBody,
  IssueSessionTokenBody,
  ScopedToken,
  SessionToken,
} from '@strongroom/protocol'
import { isAuthenticationFailure } from '../../errors.js'
import type { SessionRequest } from '../../services/bound-tokens/authenticate-session.js'
import { issueScopedToken } from '../../services/bound-tokens/issue-scoped-token.js'
import { issueSessionToken } from '../../services/bound-tokens/issue-session-token.js'
import { presentedToken } from '../../services/bound-tokens/presented-token.js'
import { refreshSessionToken } from '../../services/bound-tokens/refresh-session-token.js'
import { revokeSessionByToken } from '../../services/bound-tokens/revoke-session.js'
import type { Services } from '../../services.js'
import { addressKey } from '../address-key.js'
import { defineRoute, type RouteInput, type RouteSpec, UNAUTHENTICATED_RATE } from '../route-table.js'
import { clientThrottle, reserveFailure } from '../shared-failure-throttle.js'

const B = '/v2/:instanceId'
const instanceParams = Type.Object({ instanceId: InstanceId }, { additionalProperties: false })

/** A refresh or revoke request, which authenticates itself. */
type SessionInput = RouteInput<'none', Static<typeof instanceParams>>

/** What a session endpoint authenticates by itself: the token, and the proof over this request. */
function sessionRequest({ request, caller }: SessionInput): SessionRequest {
  return {
    presented: presentedToken(request.headers.authorization),
    target: { proof: request.headers.dpop, method: request.method, url: request.url },
    meta: caller.request,
  }
}

/**
 * Key-bound scoped and session tokens: `/v2/{i}/scopedTokens`, `/v2/{i}/sessionTokens`
 * (docs/wire-contract.md, "What strongroom adds or does differently"; RFC 9449). Issuing takes the workload's access token like
 * the rest of the developer API. Refresh and revoke authenticate themselves, with the session
 * token as `Authorization: DPoP` and a proof of the session's key, since the token presented may
 * have expired; their failed attempts are throttled per source address.
 */
export function boundTokenRoutes(s: Services): RouteSpec[] {
  // The cluster's budget where several processes write the database, as the developer API's.
  const failures = clientThrottle(s, 'session_address', {
    ...UNAUTHENTICATED_RATE,
    now: s.now,
    sourceKey: addressKey,
  })
  const selfAuthenticated =
    <T>(run: (instanceId: string, req: SessionRequest) => Promise<T>) =>
    async (input: SessionInput): Promise<T> => {
      // Reserved before the work, not checked: attempts in flight at once each hold one of the
      // budget's failures, so a burst of them cannot all pass and be audited one by one.
      const reservation = await reserveFailure(failures, input.request.ip)
      try {
        return await run(input.params.instanceId, sessionRequest(input))
      } catch (err) {
        if (isAuthenticationFailure(err)) await reservation.failed()
        throw err
      } finally {
        reservation.refund()
      }
    }
  const pam = { tag: 'pam', params: instanceParams, method: 'POST' } as const
  return [
    defineRoute({
      ...pam,
      auth: 'workload',
      url: `${B}/scopedTokens/_/actions/issue`,
      operationId: 'IssueScopedToken',
      summary:
        'An access token bound to the given public key (cnf.jkt), its scope narrowed to what the caller may have; present it as Authorization: DPoP with a DPoP proof',
      body: IssueScopedTokenBody,
      success: { status: 200, schema: ScopedToken },
      handler: ({ caller, params, body }) => issueScopedToken(s, caller, params.instanceId, body),
    }),
    defineRoute({
      ...pam,
      auth: 'workload',
      url: `${B}/sessionTokens/_/actions/issue`,
      operationId: 'IssueSessionToken',
      summary:
        'Starts a session of 5 to 60 minutes bound to the given public key, and answers its first token (five minutes at most)',
      body: IssueSessionTokenBody,
      success: { status: 200, schema: SessionToken },
      handler: ({ caller, params, body }) => issueSessionToken(s, caller, params.instanceId, body),
    }),
    defineRoute({
      ...pam,
      auth: 'none',
      url: `${B}/sessionTokens/_/actions/refresh`,
      operationId: 'RefreshSessionToken',
      summary:
        "A new token of the session, for Authorization: DPoP <a token of it, expired or not> and a DPoP proof of the session's key; until the session ends",
      body: Empty,
      success: { status: 200, schema: SessionToken },
      handler: selfAuthenticated((instanceId, req) => refreshSessionToken(s, instanceId, req)),
    }),
    defineRoute({
      ...pam,
      auth: 'none',
      url: `${B}/sessionTokens/_/actions/revoke`,
      operationId: 'RevokeSessionToken',
      summary:
        "Ends the session before its time, for Authorization: DPoP <a token of it> and a DPoP proof of the session's key; idempotent",
      body: Empty,
      success: { status: 200, schema: Empty },
      handler: selfAuthenticated((instanceId, req) => revokeSessionByToken(s, instanceId, req)),
    }),
  ]
}
