import type {
  AuditOutcome,
  CredentialType,
  GrantAction,
  GrantResourceType,
  OAuthAuthMethod,
  ProviderAlgorithm,
  ProviderType,
  SshKeyOutputFormat,
} from '@strongroom/protocol'
import { InvalidArgumentError } from 'commander'

/**
 * Lists every member of a union type once: the compiler rejects a list that misses one, so these
 * stay in step with `@strongroom/protocol` without loading its schemas at run time.
 */
const every =
  <T extends string>() =>
  <const L extends readonly T[]>(list: L & ([T] extends [L[number]] ? unknown : never)): L =>
    list

export const CREDENTIAL_TYPES = every<CredentialType>()(['api_key', 'oauth_client', 'password', 'ssh_key'])
export const GRANT_RESOURCE_TYPES = every<GrantResourceType>()([
  'credential',
  'account',
  'credential_provider',
  'cloud_account_role',
])
export const GRANT_ACTIONS = every<GrantAction>()(['obtain', 'use', 'read', 'manage'])
export const AUDIT_OUTCOMES = every<AuditOutcome>()(['success', 'failure', 'denied'])
export const PROVIDER_TYPES = every<ProviderType>()(['oauth', 'jwt'])
export const PROVIDER_ALGORITHMS = every<ProviderAlgorithm>()(['EdDSA', 'ES256', 'RS256'])
export const OAUTH_AUTH_METHODS = every<OAuthAuthMethod>()(['client_secret_post', 'client_secret_basic'])
export const SSH_KEY_OUTPUT_FORMATS = every<SshKeyOutputFormat>()(['pem', 'openssh'])

/** A whole number ≥ 1 (`--limit`, `-n`). */
export function parsePositiveInteger(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError('expected a whole number of at least 1')
  }
  return Number(text)
}

/** A number of seconds (`--expires-in`). */
export function parseSeconds(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError('expected a number of seconds')
  }
  return Number(text)
}

/** ISO 8601 (`2025-03-01`, `2025-03-01T12:00:00Z`) or epoch milliseconds, as epoch milliseconds. */
export function parseTime(text: string): number {
  if (/^\d+$/.test(text)) {
    const ms = Number(text)
    if (Number.isSafeInteger(ms)) return ms
  } else if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text)
    if (!Number.isNaN(ms) && ms >= 0) return ms
  }
  throw new InvalidArgumentError('expected an ISO 8601 time or epoch milliseconds')
}

/** A comma-separated list of grant actions, e.g. `obtain,use`. */
export function parseActions(text: string): GrantAction[] {
  const actions = text
    .split(',')
    .map((action) => action.trim())
    .filter((action) => action !== '')
  if (actions.length === 0) throw new InvalidArgumentError(`expected a list of ${GRANT_ACTIONS.join(', ')}`)
  for (const action of actions) {
    if (!(GRANT_ACTIONS as readonly string[]).includes(action)) {
      throw new InvalidArgumentError(`unknown action "${action}"; expected ${GRANT_ACTIONS.join(', ')}`)
    }
  }
  return [...new Set(actions as GrantAction[])]
}
