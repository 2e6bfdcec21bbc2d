import { PAM_AUDIENCE } from '@strongroom/protocol'
import { InvalidParameter, PamError } from '../../errors.js'
import {
  expand,
  formatScope,
  parseAllowed,
  parseScope,
  ScopeError,
  type ScopeSet,
} from '../../oauth/scopes.js'

/**
 * The scope a request asks for (`audience|value …`), parsed; a malformed one is a 400 naming
 * `field`. Unknown PAM values are malformed too: they could never be granted.
 */
export function requestedScope(raw: string, field = 'scope'): ScopeSet {
  try {
    return parseScope(raw)
  } catch (err) {
    if (err instanceof ScopeError) throw new InvalidParameter(field, err.message, 'InvalidParameter.Scope')
    throw err
  }
}

/**
 * The values of an application's allowed scopes for one audience, `.all` expanded for the PAM
 * audience; none when it is allowed nothing there (or its stored list no longer parses).
 */
export function allowedValues(allowedStored: string, audience: string): ReadonlySet<string> {
  try {
    const set = parseAllowed(allowedStored).get(audience)
    return set ? expand(set) : new Set()
  } catch (err) {
    if (err instanceof ScopeError) return new Set()
    throw err
  }
}

/**
 * What a bound token may carry: the values asked for (`.all` expanded) that `held` also has, in
 * the order asked. A partial overlap is granted narrowed — the response says what was granted —
 * and no overlap at all is a 403 `InsufficientScope` naming what was asked (RFC 6750 §3.1).
 */
export function narrowScope(asked: ScopeSet, held: ReadonlySet<string>, holder: string): ScopeSet {
  const values = [...expand(asked)].filter((v) => held.has(v))
  if (values.length === 0) {
    throw new PamError(
      'InsufficientScope',
      `none of ${formatScope(asked)} is held by ${holder}, so no token can carry it`,
    )
  }
  return { audience: asked.audience, values }
}

export const isPamAudience = (scope: ScopeSet) => scope.audience === PAM_AUDIENCE
