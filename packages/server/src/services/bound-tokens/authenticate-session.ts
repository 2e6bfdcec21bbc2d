import { DEFAULT_AUTHORIZATION_SERVER } from '@strongroom/protocol'
import type { RequestMeta } from '../../audit/appender.js'
import { InvalidToken, isAuthenticationFailure, type PamError } from '../../errors.js'
import { type AccessTokenClaims, verifyAccessTokenExceptRevocation } from '../../oauth/access-tokens.js'
import { issuerOf } from '../../oauth/issuer.js'
import { BoundTokenRefused } from '../../oauth/proof-of-possession/dpop-challenge.js'
import { parseScope, type ScopeSet } from '../../oauth/scopes.js'
import type { Caller, Services } from '../../services.js'
import { auditBestEffort } from '../best-effort.js'
import type { PresentedToken } from './presented-token.js'
import { checkProof, type ProofTarget } from './proof-target.js'
import { requireLiveSession, SessionRefused } from './session-refused.js'
import { sessionForRenewal } from './session-rows.js'

/** A request to a session's own endpoints (refresh, revoke), as the HTTP layer received it. */
export interface SessionRequest {
  presented: PresentedToken | undefined
  target: ProofTarget
  meta: RequestMeta
}

/** A session whose token and proof checked out. */
export interface AuthenticatedSession {
  claims: Readonly<AccessTokenClaims> & { sid: string; cnf: { jkt: string } }
  /** The signing key the token verified with: the refresh's unit reads it again (`TokenInUnit`). */
  signingKid: string
  sessionId: string
  applicationId: string
  scope: ScopeSet
  allowedScopes: string
  /** Epoch milliseconds. */
  endsAt: number
  /** The application, as the audit's actor. */
  caller: Caller
}

/**
 * Authenticates a call to a session's endpoints: `Authorization: DPoP <session token>` and a
 * `DPoP` proof over this very request signed by the session's key (RFC 9449 §7.1). The token's
 * signature, issuer and instance are verified, but not its `exp`: a session's tokens are short and
 * renewing one that just expired is the point; what bounds it is the session. The proof is checked
 * before anything about the session is told, so without the key nothing is learnt. Then the
 * token must be one of the session's own (not a scoped token derived from it), the session must
 * exist and be this token's: bound to the same key (with `live`, also neither revoked, nor ended
 * by the revocation of the token that started it, nor over), and its application must still be
 * enabled. Every refusal is audited as `action` and is a 401 with a
 * DPoP challenge.
 */
export async function authenticateSession(
  s: Services,
  instanceId: string,
  req: SessionRequest,
  action: string,
  live: boolean,
): Promise<AuthenticatedSession> {
  let actor: Caller['actor'] = { type: 'anonymous', id: 'unknown' }
  const refused = async (error: PamError) => {
    await auditBestEffort(s, {
      instanceId,
      actor,
      action,
      outcome: 'denied',
      details: { why: error.code },
      request: req.meta,
    })
    return error
  }
  try {
    return await authenticate(s, instanceId, req, live, (a) => {
      actor = a
    })
  } catch (err) {
    if (isAuthenticationFailure(err)) throw await refused(err)
    throw err
  }
}

async function authenticate(
  s: Services,
  instanceId: string,
  req: SessionRequest,
  live: boolean,
  identified: (actor: Caller['actor']) => void,
): Promise<AuthenticatedSession> {
  const presented = req.presented
  if (presented === undefined || presented.scheme !== 'DPoP')
    throw new BoundTokenRefused(
      'a session token must be sent as Authorization: DPoP <token>, with a DPoP proof of this request',
    )
  let claims: AccessTokenClaims
  let kid: string
  try {
    ;({ claims, kid } = await verifyAccessTokenExceptRevocation(s, s.signingKeys, presented.token, {
      instanceId,
      issuer: issuerOf(s, instanceId, DEFAULT_AUTHORIZATION_SERVER),
      acceptExpired: true,
    }))
  } catch (err) {
    if (err instanceof InvalidToken) throw new BoundTokenRefused(err.message)
    throw err
  }
  const { sid, cnf } = claims
  // A scoped token derived from a session carries its sid, but is no token of the session's own.
  if (sid === undefined || cnf === undefined || claims.scoped !== undefined)
    throw new BoundTokenRefused('the access token is not a session token')
  await checkProof(s, instanceId, req.target, presented.token, cnf.jkt)

  const found = await sessionForRenewal.first(s.store, s.store.db, {
    sessionId: sid,
    instanceId,
    jti: claims.jti,
  })
  if (!found) throw new Error('the one-row query returned no row')
  // A session is this token's only if it is bound to the same key and held by the same client.
  if (found.applicationId === null || found.jkt !== cnf.jkt || found.clientId !== claims.client_id)
    throw new SessionRefused('SessionNotFound', 'the session of this token does not exist')
  identified({ type: 'application', id: found.applicationId })
  if (live) requireLiveSession(found, s.now())
  if (found.tokenRevoked !== null) throw new BoundTokenRefused('the access token has been revoked')
  if (found.applicationStatus !== 'enabled')
    throw new BoundTokenRefused('the access token was refused: its application is disabled or gone')
  const scope = parseScope(found.scope ?? '')
  if (claims.aud !== scope.audience) throw new BoundTokenRefused('the access token is for another audience')
  return {
    claims: claims as AuthenticatedSession['claims'],
    signingKid: kid,
    sessionId: sid,
    applicationId: found.applicationId,
    scope,
    allowedScopes: found.allowedScopes ?? '',
    endsAt: Number(found.expiresAt),
    caller: {
      actor: { type: 'application', id: found.applicationId },
      instanceScope: instanceId,
      request: req.meta,
    },
  }
}
