import { DEFAULT_AUTHORIZATION_SERVER, PAM_AUDIENCE, type PamScope } from '@strongroom/protocol'
import type { RequestMeta } from '../../audit/appender.js'
import { InvalidToken, PamError } from '../../errors.js'
import { type AccessTokenClaims, verifyAccessTokenExceptRevocation } from '../../oauth/access-tokens.js'
import { issuerOf } from '../../oauth/issuer.js'
import { expand, parseScope } from '../../oauth/scopes.js'
import { prepare } from '../../store/prepared.js'
import type { Services, Workload } from '../context.js'

/**
 * Authenticates a workload calling the developer API: a bearer access token of this instance's
 * authorization server, for the PAM audience, held by an application that exists and is enabled.
 * Every refusal is a 401 `InvalidToken` saying why, never echoing the token.
 */
export async function authenticateWorkload(
  s: Services,
  instanceId: string,
  token: string | undefined,
  request: RequestMeta,
): Promise<Workload> {
  const refuse = async (why: string) => {
    await s.committer
      .run(({ audit }) =>
        audit.append({
          instanceId,
          actor: { type: 'anonymous', id: 'unknown' },
          action: 'pam.authenticate',
          outcome: 'failure',
          details: { why },
          request,
        }),
      )
      .catch(() => {})
    return new InvalidToken(`the bearer token was refused: ${why}`)
  }
  if (token === undefined) throw await refuse('no bearer token')
  let claims: Awaited<ReturnType<typeof verifyAccessTokenExceptRevocation>>
  try {
    claims = await verifyAccessTokenExceptRevocation(s, s.signingKeys, token, {
      instanceId,
      issuer: issuerOf(s, instanceId, DEFAULT_AUTHORIZATION_SERVER),
      audience: PAM_AUDIENCE,
    })
  } catch (err) {
    if (err instanceof InvalidToken) throw await refuse(err.message.replace(/^the access token /, ''))
    throw err
  }
  // Both read on every request, never cached: a revocation or a disabled application applies at
  // once on every node. One statement for the two (one round trip on PostgreSQL).
  const found = await revocationAndApplication.first(s.store, s.store.db, {
    jti: claims.jti,
    instanceId,
    clientId: claims.client_id,
  })
  if (!found) throw new Error('the one-row query returned no row')
  if (found.revoked !== null) throw await refuse('has been revoked')
  if (found.applicationId === null || found.applicationStatus !== 'enabled')
    throw await refuse('its application is disabled or gone')
  return {
    applicationId: found.applicationId,
    clientId: claims.client_id,
    scopes: scopesOf(claims),
    tokenId: claims.jti,
  }
}

/**
 * Whether the token is revoked (the same rule as `verifyAccessToken`) and the application holding
 * it, in one statement: a one-row source left-joined to both, so there is always exactly one row.
 */
const revocationAndApplication = prepare(['jti', 'instanceId', 'clientId'], (db, p) =>
  db
    .selectFrom(db.selectNoFrom((eb) => eb.lit(1).as('one')).as('one'))
    .leftJoin('applications as a', (join) =>
      join.on('a.instance_id', '=', p.instanceId).on('a.client_id', '=', p.clientId),
    )
    .leftJoin('revoked_access_tokens as r', (join) => join.on('r.jti', '=', p.jti))
    .select(['r.jti as revoked', 'a.id as applicationId', 'a.status as applicationStatus']),
)

/**
 * The token's scopes, `.all` expanded. Parsed once per token: a verified token's claims are one
 * frozen object for as long as it is remembered (oauth/access-tokens.ts).
 */
const scopeSets = new WeakMap<object, ReadonlySet<string>>()
function scopesOf(claims: AccessTokenClaims): ReadonlySet<string> {
  let scopes = scopeSets.get(claims)
  if (!scopes) {
    scopes = expand(parseScope(`${claims.aud}|${claims.scope}`))
    scopeSets.set(claims, scopes)
  }
  return scopes
}

/** RFC 6750 §3.1: a token without the scope an operation needs is a 403 `insufficient_scope`. */
export function requireScope(workload: Workload, scope: PamScope): void {
  if (!workload.scopes.has(scope)) {
    throw new PamError(
      'InsufficientScope',
      403,
      `the access token does not carry the scope ${PAM_AUDIENCE}|${scope}`,
    )
  }
}
