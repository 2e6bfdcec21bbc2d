import { decodeJwt } from 'jose'
import { echo, InvalidToken, OAuthError } from '../errors.js'
import type { Services } from '../services.js'
import type { ApplicationTable } from '../store/schema.js'
import { mintAccessToken, verifyAccessTokenExceptRevocation } from './access-tokens.js'
import { type TokenInUnit, tokenRefusedSince } from './authenticate-workload.js'
import { verifyFederatedToken } from './client-auth.js'
import { issuerOf } from './issuer.js'
import { expand, formatScope, grantScope, parseScope, ScopeError, type ScopeSet } from './scopes.js'
import type { IssuedToken, TokenRequest } from './token-endpoint.js'

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
const EXTERNAL_TOKEN_TYPES = [
  'urn:ietf:params:oauth:token-type:jwt',
  'urn:ietf:params:oauth:token-type:id_token',
]

/** Who a presented token stands for, once verified. */
interface Party {
  sub: string
  /** Set for an external (federated) subject: its issuer. */
  iss?: string
  /** For one of our access tokens: what it may do, and until when. */
  scope?: ScopeSet
  exp: number
  /** For one of our access tokens: the token, which the issuing unit reads again (`TokenInUnit`). */
  token?: TokenInUnit
}

/**
 * RFC 8693 token exchange: the authenticated client trades a subject token (one of our access
 * tokens, or an external OIDC token that one of its federated credentials accepts) for an access
 * token of its own about that subject. The new token's `sub` is the subject's; an `actor_token`
 * adds an `act` claim. It can only narrow: its scope must be allowed to the client and, for one
 * of our tokens, within the subject token's scope, and it never outlives the subject token.
 */
export async function exchangeToken(
  s: Services,
  req: TokenRequest,
  client: ApplicationTable,
): Promise<IssuedToken> {
  const requested = req.params.get('requested_token_type') ?? ACCESS_TOKEN_TYPE
  if (requested !== ACCESS_TOKEN_TYPE) {
    throw new OAuthError(
      'InvalidParameter',
      `requested_token_type ${echo(requested)} is not issued here; ask for ${ACCESS_TOKEN_TYPE}`,
    )
  }
  const subject = await party(s, req, client, 'subject')
  if (!subject) throw new OAuthError('InvalidParameter', 'subject_token is required')
  const actor = await party(s, req, client, 'actor')

  let scope: ScopeSet
  try {
    scope = grantScope(
      req.params.get('scope') ?? (subject.scope ? formatScope(subject.scope) : undefined),
      client.allowed_scopes,
    )
  } catch (err) {
    if (err instanceof ScopeError) throw new OAuthError('InvalidScope', err.message)
    throw err
  }
  if (subject.scope) {
    const held = subject.scope.audience === scope.audience ? expand(subject.scope) : new Set<string>()
    const beyond = [...expand(scope)].filter((v) => !held.has(v))
    if (beyond.length > 0) {
      throw new OAuthError('InvalidScope', `the subject token does not carry ${beyond.join(', ')}`)
    }
  }
  const now = s.now()
  // Never past the subject's exp. Its verification allows 10 s of leeway, so a subject just past
  // its exp still verifies: it leaves no second to give, and is refused rather than stretched into
  // a fresh token (itself accepted 10 s more), which exchanged again and again would never expire.
  const remaining = subject.exp - Math.floor(now / 1000)
  if (remaining < 1) throw new OAuthError('InvalidGrant', 'the subject token has expired')
  const { token, claims } = await mintAccessToken(s.signingKeys, now, {
    instanceId: req.instanceId,
    issuer: issuerOf(s, req.instanceId, req.authorizationServerId),
    subject: subject.sub,
    clientId: client.client_id,
    scope,
    lifetimeSeconds: Math.min(client.access_token_lifetime, remaining),
    ...(actor ? { act: actor.iss ? { sub: actor.sub, iss: actor.iss } : { sub: actor.sub } } : {}),
    ...(subject.iss ? { subjectIssuer: subject.iss } : {}),
  })
  return {
    recheck: [subject.token, actor?.token].flatMap((t) => (t ? [t] : [])),
    response: {
      access_token: token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: claims.exp - claims.iat,
      expires_at: claims.exp,
      scope: formatScope(scope),
    },
    audit: {
      subject: subject.sub,
      subjectIssuer: subject.iss ?? null,
      actor: actor?.sub ?? null,
      scope: formatScope(scope),
      jti: claims.jti,
      exp: claims.exp,
    },
  }
}

/** Verifies `subject_token` or `actor_token` with its declared type; undefined when absent. */
async function party(
  s: Services,
  req: TokenRequest,
  client: ApplicationTable,
  role: 'subject' | 'actor',
): Promise<Party | undefined> {
  const token = req.params.get(`${role}_token`)
  const type = req.params.get(`${role}_token_type`)
  if (token === undefined) {
    if (type !== undefined)
      throw new OAuthError('InvalidParameter', `${role}_token_type without ${role}_token`)
    return undefined
  }
  if (type === undefined) throw new OAuthError('InvalidParameter', `${role}_token_type is required`)
  const refused = (why: string) => new OAuthError('InvalidGrant', `the ${role} token ${why}`)
  if (type === ACCESS_TOKEN_TYPE) {
    try {
      const { claims, kid } = await verifyAccessTokenExceptRevocation(s, s.signingKeys, token, {
        instanceId: req.instanceId,
        issuer: issuerOf(s, req.instanceId, req.authorizationServerId),
      })
      // A key-bound token proves nothing without its key: exchanging it would strip the binding.
      if (claims.cnf !== undefined) throw refused('is bound to a key (cnf) and cannot be exchanged')
      // Active as introspection says it: not revoked (nor the token it was derived from), its
      // application enabled, its signing key not revoked. One statement; the issuing unit reads
      // it again under the chain's head, so a revocation acknowledged meanwhile still refuses it.
      const party = { claims, signingKid: kid }
      const why = await tokenRefusedSince(s, s.store.db, req.instanceId, party)
      if (why !== null) throw new InvalidToken(why)
      return {
        sub: claims.sub,
        scope: parseScope(`${claims.aud}|${claims.scope}`),
        exp: claims.exp,
        token: party,
      }
    } catch (err) {
      if (err instanceof InvalidToken)
        throw refused(
          `is not an active access token of this server (${err.message.replace(/^the access token /, '')})`,
        )
      throw err
    }
  }
  if (!EXTERNAL_TOKEN_TYPES.includes(type)) {
    throw new OAuthError('InvalidParameter', `${role}_token_type ${echo(type)} is not accepted`)
  }
  // An external token: one of the client's federated credentials must accept it.
  let iss: unknown
  try {
    iss = decodeJwt(token).iss
  } catch {
    throw refused('is not a JWT')
  }
  const candidates = await s.store.db
    .selectFrom('federated_credentials')
    .selectAll()
    .where('application_id', '=', client.id)
    .where('issuer', '=', typeof iss === 'string' ? iss : '')
    .execute()
  const now = s.now()
  for (const fc of candidates) {
    const verdict = await verifyFederatedToken(fc, token, now)
    if ('payload' in verdict)
      return { sub: String(verdict.payload.sub), iss: fc.issuer, exp: verdict.payload.exp! }
  }
  throw refused('is not accepted by any federated credential of this client')
}
