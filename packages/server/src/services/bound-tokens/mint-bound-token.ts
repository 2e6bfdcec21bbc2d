import { DEFAULT_AUTHORIZATION_SERVER, type ScopedToken } from '@strongroom/protocol'
import { type AccessTokenClaims, mintAccessToken } from '../../oauth/access-tokens.js'
import { issuerOf } from '../../oauth/issuer.js'
import { formatScope, type ScopeSet } from '../../oauth/scopes.js'
import type { Services } from '../../services.js'

export interface BoundTokenInput {
  instanceId: string
  /** The token it is derived from: its subject, client, actor and subject issuer carry over. */
  from: Readonly<Pick<AccessTokenClaims, 'sub' | 'client_id' | 'act' | 'subject_issuer' | 'jti' | 'pjti'>>
  scope: ScopeSet
  jkt: string
  lifetimeSeconds: number
  /** The session the token belongs to (`sid`): a session token's, or the one a scoped token derives from. */
  sessionId?: string
  /** A scoped token (`scoped: true`), never a session's own token. */
  scoped?: boolean
}

/**
 * Mints an access token of the instance's authorization server (same issuer, keys and
 * `typ: at+jwt` as its other tokens, so any resource server that trusts its JWKS can verify it)
 * bound to the key `jkt` (`cnf.jkt`, RFC 7800 §3.1 / RFC 9449 §6.1), and answers it in the
 * `ScopedToken` shape. The subject is the one of the token it derives from: it is the same grant,
 * narrowed, not a new identity.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-6.1
 */
export async function mintBoundToken(
  s: Pick<Services, 'signingKeys' | 'publicUrl' | 'now'>,
  input: BoundTokenInput,
): Promise<{ response: ScopedToken; claims: AccessTokenClaims }> {
  const { token, claims } = await mintAccessToken(s.signingKeys, s.now(), {
    instanceId: input.instanceId,
    issuer: issuerOf(s, input.instanceId, DEFAULT_AUTHORIZATION_SERVER),
    subject: input.from.sub,
    clientId: input.from.client_id,
    scope: input.scope,
    lifetimeSeconds: input.lifetimeSeconds,
    cnf: { jkt: input.jkt },
    ...(input.from.act ? { act: input.from.act } : {}),
    ...(input.from.subject_issuer ? { subjectIssuer: input.from.subject_issuer } : {}),
    ...(input.sessionId ? { sessionId: input.sessionId } : {}),
    ...(input.scoped ? { scoped: true } : {}),
    // The first of its line: revoking that ends every key-bound token made from it, however derived.
    parentJti: input.from.pjti ?? input.from.jti,
  })
  return {
    claims,
    response: {
      accessToken: token,
      tokenType: 'DPoP',
      scope: formatScope(input.scope),
      expiresIn: claims.exp - claims.iat,
      expirationTime: claims.exp * 1000,
      jkt: input.jkt,
      tokenId: claims.jti,
    },
  }
}
