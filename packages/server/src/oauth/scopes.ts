import { PAM_AUDIENCE, PAM_SCOPES } from '@strongroom/protocol'
import { echo } from '../errors.js'

/** A scope request or grant: one audience and the values asked for under it. */
export interface ScopeSet {
  audience: string
  values: string[]
}

export class ScopeError extends Error {
  override name = 'ScopeError'
}

const AUDIENCE = /^[\x21-\x7e]+$/
const VALUE = /^[\x21-\x7b\x7d\x7e]+$/ // printable, no space, no '|'

/**
 * Parses the IDaaS scope form: space-separated tokens, `audience|value` or a bare `value` under
 * the audience named before it. One audience per request: naming two is an error, as is a bare
 * value with no audience. `urn:cloud:idaas:pam|credential:obtain authentication_token:read` and
 * `urn:cloud:idaas:pam|credential:obtain urn:cloud:idaas:pam|authentication_token:read` are the same.
 */
export function parseScope(raw: string): ScopeSet {
  let audience: string | undefined
  const values: string[] = []
  for (const token of raw.split(' ').filter((t) => t !== '')) {
    const bar = token.lastIndexOf('|')
    let value = token
    if (bar >= 0) {
      const named = token.slice(0, bar)
      value = token.slice(bar + 1)
      if (!AUDIENCE.test(named) || named.includes('|'))
        throw new ScopeError(`"${echo(token)}" has a malformed audience`)
      if (audience !== undefined && audience !== named) {
        throw new ScopeError(
          `one audience per request: both ${echo(audience)} and ${echo(named)} were asked for`,
        )
      }
      audience = named
    }
    if (audience === undefined)
      throw new ScopeError(`"${echo(token)}" names no audience (write audience|value)`)
    if (!VALUE.test(value)) throw new ScopeError(`"${echo(token)}" has a malformed value`)
    if (!values.includes(value)) values.push(value)
  }
  if (audience === undefined || values.length === 0) throw new ScopeError('no scope was given')
  if (audience === PAM_AUDIENCE) {
    const canonical = [...new Set(values.map((v) => PAM_SCOPE_ALIASES.get(v) ?? v))]
    values.splice(0, values.length, ...canonical)
    const unknown = values.find((v) => v !== '.all' && !(PAM_SCOPES as readonly string[]).includes(v))
    if (unknown !== undefined) throw new ScopeError(`${echo(unknown)} is not a scope of ${PAM_AUDIENCE}`)
  }
  return { audience, values }
}

/**
 * Other names of PAM scopes: the IDaaS core SDKs' default scope is
 * `cloud_account:obtain_access_credential` (without `_role`), so a client left at its default asks
 * for the same thing as one that names the scope.
 */
const PAM_SCOPE_ALIASES = new Map([
  ['cloud_account:obtain_access_credential', 'cloud_account_role:obtain_access_credential'],
])

/** The values a set stands for, with `.all` expanded where the audience's scopes are known. */
export function expand(set: ScopeSet): Set<string> {
  if (set.audience === PAM_AUDIENCE && set.values.includes('.all')) return new Set(PAM_SCOPES)
  return new Set(set.values)
}

/** Canonical form of a set: `audience|v1 v2`. */
export function formatScope(set: ScopeSet): string {
  return `${set.audience}|${set.values.join(' ')}`
}

/**
 * Parses an application's allowed scopes (full `audience|value` tokens, possibly several
 * audiences) into one set per audience.
 */
export function parseAllowed(stored: string): Map<string, ScopeSet> {
  const byAudience = new Map<string, ScopeSet>()
  for (const token of stored.split(' ').filter((t) => t !== '')) {
    const set = parseScope(token)
    const existing = byAudience.get(set.audience)
    if (existing) {
      for (const v of set.values) if (!existing.values.includes(v)) existing.values.push(v)
    } else {
      byAudience.set(set.audience, set)
    }
  }
  return byAudience
}

/**
 * What an application gets for what it asked: every requested value must be within its allowed
 * scopes for that audience. With no scope requested, an application allowed exactly one audience
 * gets all of it.
 */
export function grantScope(requested: string | undefined, allowedStored: string): ScopeSet {
  const allowed = parseAllowed(allowedStored)
  if (requested === undefined || requested.trim() === '') {
    if (allowed.size === 1) return [...allowed.values()][0]!
    throw new ScopeError(
      allowed.size === 0
        ? 'this application is allowed no scope; an administrator sets its allowed scopes'
        : 'scope is required: this application is allowed more than one audience',
    )
  }
  const asked = parseScope(requested)
  const mine = allowed.get(asked.audience)
  if (!mine) throw new ScopeError(`this application is not allowed the audience ${echo(asked.audience)}`)
  const permitted = expand(mine)
  const missing = [...expand(asked)].filter((v) => !permitted.has(v))
  if (missing.length > 0) {
    const named = missing.slice(0, 3).map(echo).join(', ')
    const more = missing.length > 3 ? ` and ${missing.length - 3} more` : ''
    throw new ScopeError(`this application is not allowed ${named}${more}`)
  }
  return asked
}
