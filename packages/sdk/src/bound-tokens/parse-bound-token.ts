import { ResponseReader } from '../client/response-reader.js'
import { ServerError } from '../errors.js'
import type { ProofKey } from '../proof/proof-key.js'
import { isTokenText } from '../token-cache/access-token.js'
import { ScopedToken, type ScopedTokenFields, SessionToken } from './scoped-token.js'

function fields(r: ResponseReader): ScopedTokenFields {
  return {
    tokenType: r.string('tokenType'),
    scope: r.string('scope'),
    expiresIn: r.number('expiresIn'),
    expirationTime: r.number('expirationTime'),
    jkt: r.string('jkt'),
    tokenId: r.string('tokenId'),
  }
}

// A token bound to another key than ours could never be used: say so where it happens.
function checkBinding(action: string, jkt: string, key: ProofKey): void {
  if (jkt !== key.thumbprint)
    throw new ServerError(`${action} answered a token bound to another key than the one sent (jkt)`)
}

/** The token itself, refused without quoting it when a header could not carry it. */
function accessToken(action: string, r: ResponseReader): string {
  const token = r.string('accessToken')
  if (!isTokenText(token))
    throw new ServerError(
      `${action} answered an accessToken with characters a token cannot have (visible ASCII only)`,
    )
  return token
}

export function parseScopedToken(action: string, body: unknown, key: ProofKey): ScopedToken {
  const r = new ResponseReader(action, body)
  const token = new ScopedToken(accessToken(action, r), fields(r))
  checkBinding(action, token.jkt, key)
  return token
}

export function parseSessionToken(action: string, body: unknown, key: ProofKey): SessionToken {
  const r = new ResponseReader(action, body)
  const token = new SessionToken(accessToken(action, r), {
    ...fields(r),
    sessionId: r.string('sessionId'),
    sessionExpirationTime: r.number('sessionExpirationTime'),
  })
  checkBinding(action, token.jkt, key)
  return token
}
