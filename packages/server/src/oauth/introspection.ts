import { InvalidToken, OAuthError } from '../errors.js'
import { requireLiveSession, SessionRefused } from '../services/bound-tokens/session-refused.js'
import type { Services } from '../services.js'
import { prepare } from '../store/prepared.js'
import { type AccessTokenClaims, verifyAccessToken } from './access-tokens.js'
import { issuerOf, requireAuthorizationServer } from './issuer.js'
import { authenticateClient, type TokenRequest, type TokenThrottles } from './token-endpoint.js'

/** RFC 7662 §2.2: `active`, and for an active token what it is. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true
      scope: string
      client_id: string
      sub: string
      aud: string
      iss: string
      exp: number
      iat: number
      jti: string
      /** `DPoP` for a token bound to a key, whose `cnf` says which (RFC 9449 §6.2). */
      token_type: 'Bearer' | 'DPoP'
      cnf?: { jkt: string }
    }

async function verified(s: Services, req: TokenRequest, token: string): Promise<AccessTokenClaims | null> {
  let claims: AccessTokenClaims
  try {
    claims = await verifyAccessToken(s, s.signingKeys, token, {
      instanceId: req.instanceId,
      issuer: issuerOf(s, req.instanceId, req.authorizationServerId),
    })
  } catch (err) {
    if (err instanceof InvalidToken) return null
    throw err
  }
  // As the developer API: a token of an application disabled or gone is not active.
  const application = await applicationStatus.first(s.store, s.store.db, {
    instanceId: req.instanceId,
    clientId: claims.client_id,
  })
  if (application?.status !== 'enabled') return null
  return claims.sid === undefined || (await sessionIsLive(s, req.instanceId, claims)) ? claims : null
}

const applicationStatus = prepare(['instanceId', 'clientId'], (db, p) =>
  db
    .selectFrom('applications')
    .select('status')
    .where('instance_id', '=', p.instanceId)
    .where('client_id', '=', p.clientId),
)

/**
 * A token of a session (a session token, or a scoped token derived from one, whatever key it is
 * bound to) is active only while its session is: the session of its client's application, not
 * revoked, not ended by the revocation of the token that started it, not over. One statement.
 */
async function sessionIsLive(s: Services, instanceId: string, claims: AccessTokenClaims): Promise<boolean> {
  const session = await s.store.db
    .selectFrom('token_sessions as ts')
    .innerJoin('applications as a', (join) =>
      join.onRef('a.id', '=', 'ts.application_id').onRef('a.instance_id', '=', 'ts.instance_id'),
    )
    .leftJoin('revoked_access_tokens as pr', 'pr.jti', 'ts.parent_jti')
    .select(['a.client_id as clientId', 'ts.revoked', 'ts.expires_at', 'pr.jti as parentRevoked'])
    .where('ts.id', '=', claims.sid!)
    .where('ts.instance_id', '=', instanceId)
    .executeTakeFirst()
  if (session === undefined || session.clientId !== claims.client_id) return false
  try {
    requireLiveSession(
      { revoked: session.revoked, expiresAt: session.expires_at, parentRevoked: session.parentRevoked },
      s.now(),
    )
    return true
  } catch (err) {
    if (err instanceof SessionRefused) return false
    throw err
  }
}

function requiredToken(req: TokenRequest): string {
  const token = req.params.get('token')
  if (token === undefined || token === '') throw new OAuthError('InvalidParameter', 'token is required')
  return token
}

/**
 * `POST …/oauth2/introspect` (RFC 7662): any authenticated client of the instance (a resource
 * server is one) learns whether an access token is active, and if so its claims. An unknown,
 * expired, revoked or forged token, one derived from a revoked token, one of a disabled or deleted
 * application, or one of a session that ended is simply `{"active": false}`. Audited.
 */
export async function introspect(
  s: Services,
  throttles: TokenThrottles,
  req: TokenRequest,
): Promise<IntrospectionResponse> {
  await requireAuthorizationServer(s, req.instanceId, req.authorizationServerId)
  const client = await authenticateClient(s, throttles, req, 'oauth.introspect', 'introspect')
  const claims = await verified(s, req, requiredToken(req))
  await s.committer.run(({ audit }) =>
    audit.append({
      instanceId: req.instanceId,
      action: 'oauth.introspect',
      request: req.request,
      actor: { type: 'application', id: client.id },
      ...(claims ? { resource: { type: 'application', id: claims.sub } } : {}),
      outcome: 'success',
      details: { active: claims !== null, jti: claims?.jti ?? null },
    }),
  )
  if (!claims) return { active: false }
  return {
    active: true,
    scope: `${claims.aud}|${claims.scope}`,
    client_id: claims.client_id,
    sub: claims.sub,
    aud: claims.aud,
    iss: claims.iss,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    ...(claims.cnf
      ? { token_type: 'DPoP' as const, cnf: { jkt: claims.cnf.jkt } }
      : { token_type: 'Bearer' as const }),
  }
}

/**
 * `POST …/oauth2/revoke` (RFC 7009): a client revokes an access token issued to it. A token
 * that is invalid, expired or already revoked is answered 200 all the same (§2.2); a valid
 * token of another client is refused. The revocation is read by the verifier on every node at
 * once, and kept until the token would have expired anyway.
 */
export async function revoke(s: Services, throttles: TokenThrottles, req: TokenRequest): Promise<void> {
  await requireAuthorizationServer(s, req.instanceId, req.authorizationServerId)
  const client = await authenticateClient(s, throttles, req, 'oauth.revoke', 'revoke')
  const hint = req.params.get('token_type_hint')
  if (hint !== undefined && hint !== 'access_token' && hint !== 'refresh_token') {
    throw new OAuthError('UnsupportedTokenType', `token_type_hint ${hint.slice(0, 64)} is not a token type`)
  }
  const claims = await verified(s, req, requiredToken(req))
  if (!claims) return
  if (claims.client_id !== client.client_id) {
    throw new OAuthError('Forbidden', 'a client may revoke only tokens issued to it')
  }
  await s.committer.run(async ({ trx, audit }) => {
    await trx
      .insertInto('revoked_access_tokens')
      .values({ jti: claims.jti, instance_id: req.instanceId, expires_at: claims.exp * 1000 })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute()
    await audit.append({
      instanceId: req.instanceId,
      action: 'oauth.revoke',
      request: req.request,
      actor: { type: 'application', id: client.id },
      resource: { type: 'application', id: claims.sub },
      outcome: 'success',
      details: { jti: claims.jti },
    })
  })
}
