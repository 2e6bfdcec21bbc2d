import { DEFAULT_AUTHORIZATION_SERVER, PAM_AUDIENCE, type PamScope } from '@strongroom/protocol'
import type { RequestMeta } from '../../audit/appender.js'
import { InvalidToken, PamError } from '../../errors.js'
import { verifyAccessToken } from '../../oauth/access-tokens.js'
import { issuerOf } from '../../oauth/issuer.js'
import { expand, parseScope } from '../../oauth/scopes.js'
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
  let claims: Awaited<ReturnType<typeof verifyAccessToken>>
  try {
    claims = await verifyAccessToken(s, s.signingKeys, token, {
      instanceId,
      issuer: issuerOf(s, instanceId, DEFAULT_AUTHORIZATION_SERVER),
      audience: PAM_AUDIENCE,
    })
  } catch (err) {
    if (err instanceof InvalidToken) throw await refuse(err.message.replace(/^the access token /, ''))
    throw err
  }
  const app = await s.store.db
    .selectFrom('applications')
    .select(['id', 'status'])
    .where('instance_id', '=', instanceId)
    .where('client_id', '=', claims.client_id)
    .executeTakeFirst()
  if (app?.status !== 'enabled') throw await refuse('its application is disabled or gone')
  return {
    applicationId: app.id,
    clientId: claims.client_id,
    scopes: expand(parseScope(`${claims.aud}|${claims.scope}`)),
    tokenId: claims.jti,
  }
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
