import {
  type GenerateScopedAccessTokenDetails,
  type GenerateUserSecurityTokenDetails,
  OCI_DEFAULT_SESSION_MINUTES,
  type OciSecurityToken,
  PAM_AUDIENCE,
} from '@strongroom/protocol'
import { formatScope, parseAllowed } from '../../oauth/scopes.js'
import type { Services } from '../../services.js'
import { issueScopedToken } from '../bound-tokens/issue-scoped-token.js'
import { issueSessionToken } from '../bound-tokens/issue-session-token.js'
import type { OciAuthenticated } from './authenticate-oci-request.js'

/**
 * OCI's `GenerateScopedAccessToken` (`POST …/v1/actions/generateScopedAccessToken`): strongroom's
 * scoped token (`issueScopedToken`, with all its rules and its `token.scoped.issue` audit event)
 * bound to `publicKey` (`cnf.jkt` of it), its scope what was asked narrowed to what the
 * application is allowed, living 900 s at most. Answered as OCI's `SecurityToken`: `{ token }`.
 */
export async function generateScopedAccessToken(
  s: Services,
  signed: OciAuthenticated,
  instanceId: string,
  body: GenerateScopedAccessTokenDetails,
): Promise<OciSecurityToken> {
  const issued = await issueScopedToken(s, signed.caller, instanceId, {
    scope: body.scope,
    publicKey: { pem: pemOf(body.publicKey) },
  })
  return { token: issued.accessToken }
}

/**
 * OCI's `GenerateUserSecurityToken` (`POST …/v1/token/upst/actions/GenerateUpst`): a user
 * principal session token is strongroom's session token (`issueSessionToken`, audited as
 * `token.session.issue`): a session of `sessionExpirationInMinutes` (5–60, 60 when absent, as OCI)
 * bound to `publicKey`, its tokens refreshed and revoked at `/v2/{i}/sessionTokens/_/actions/…`
 * with DPoP proofs of that key. A UPST carries what its user may do, so the session's scope is
 * all that the application is allowed in one audience (`sessionScope`). Answered `{ token }`.
 */
export async function generateUserSecurityToken(
  s: Services,
  signed: OciAuthenticated,
  instanceId: string,
  body: GenerateUserSecurityTokenDetails,
): Promise<OciSecurityToken> {
  const issued = await issueSessionToken(s, signed.caller, instanceId, {
    scope: sessionScope(signed.allowedScopes),
    publicKey: { pem: pemOf(body.publicKey) },
    sessionExpirationInMinutes: body.sessionExpirationInMinutes ?? OCI_DEFAULT_SESSION_MINUTES,
  })
  return { token: issued.accessToken }
}

/**
 * What a user security token's session asks for: all of the PAM audience when the application is
 * allowed any of it (narrowed by the session service to what it is allowed), else all of the one
 * other audience it is allowed. An application allowed nothing, or several audiences but not the
 * PAM one, asks for the PAM audience and is refused (`InsufficientScope`, audited).
 */
export function sessionScope(allowedStored: string): string {
  let allowed: ReturnType<typeof parseAllowed>
  try {
    allowed = parseAllowed(allowedStored)
  } catch {
    allowed = new Map()
  }
  const only = [...allowed.values()]
  if (!allowed.has(PAM_AUDIENCE) && only.length === 1) return formatScope(only[0]!)
  return `${PAM_AUDIENCE}|.all`
}

/**
 * The key as a PEM: OCI clients send a PEM public key, and some send only its base64 DER body
 * (the armour stripped); that body is armoured again, anything else is passed on to be refused
 * by the binding's own checks (400 naming `publicKey`).
 */
export function pemOf(publicKey: string): string {
  const text = publicKey.trim()
  if (text.startsWith('-----BEGIN') || !/^[A-Za-z0-9+/=\s]+$/.test(text)) return publicKey
  const body = text.replace(/\s+/g, '')
  const lines = body.match(/.{1,64}/g) ?? []
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`
}
