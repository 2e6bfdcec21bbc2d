import { PAM_AUDIENCE, type PamScope } from '@strongroom/protocol'
import { PamError } from '../../errors.js'
import { prepare } from '../../store/prepared.js'
import type { AccountTable } from '../../store/schema.js'
import type { Services, Workload } from '../context.js'
import { grantsAllow } from '../grants/grants.js'
import type { AuditedUnit, Refusal } from '../pam/audited-operation.js'
import { ACCOUNT_ID, accountNotFound } from './account-record.js'
import type { StoredVersion } from './account-secrets.js'

/** An account a workload may retrieve from, with its current version's ciphertext (if stored). */
export interface AuthorizedAccount {
  row: AccountTable
  stored: StoredVersion | undefined
}

/**
 * Refuses a token that carries none of `scopes` (RFC 6750 §3.1), as the unit's one audit event:
 * every refusal of these operations is recorded, this one included.
 */
export async function refuseWithoutScope(
  unit: AuditedUnit,
  workload: Workload,
  scopes: readonly PamScope[],
): Promise<Refusal | undefined> {
  if (scopes.some((scope) => workload.scopes.has(scope))) return undefined
  const wanted = scopes.map((scope) => `${PAM_AUDIENCE}|${scope}`).join(' or ')
  return unit.refuse(
    new PamError('InsufficientScope', 403, `the access token does not carry the scope ${wanted}`),
    'insufficient_scope',
  )
}

/**
 * The account a workload names (by name or `acct_` id) for a retrieval, in this order: an `obtain`
 * grant before existence (an application learns nothing about accounts it holds no grant on), then
 * existence, status, and the reason the account's policy may require.
 */
export async function authorizeAccount(
  s: Services,
  unit: AuditedUnit,
  workload: Workload,
  instanceId: string,
  ref: string,
  reason: string | undefined,
): Promise<AuthorizedAccount | Refusal> {
  const byId = ACCOUNT_ID.test(ref)
  const lookup = byId ? accountById : accountByName
  const found = await lookup.first(s.store, unit.trx, { instanceId, ref })
  let row: AccountTable | undefined
  let stored: StoredVersion | undefined
  if (found) {
    const { ciphertext, key_version, ...account } = found
    row = account
    if (ciphertext !== null && key_version !== null) stored = { ciphertext, key_version }
    unit.about({ type: 'account', id: row.id })
  }
  const grants = await accountGrants.all(s.store, unit.trx, {
    instanceId,
    applicationId: workload.applicationId,
  })
  // A missing account is matched by its name only when named: an `acct_…` id that matches no row has
  // no name, so no prefix grant (`acct`…) lets it through to a 404 an existing id would not get.
  const identifier = row?.name ?? (byId ? '' : ref)
  if (!grantsAllow(grants, { id: row?.id ?? '', identifier }, 'obtain')) {
    return unit.refuse(
      new PamError('PermissionDenied', 403, `this application holds no obtain grant on account ${ref}`),
      'no_grant',
    )
  }
  if (!row) return unit.refuse(accountNotFound(ref), 'not_found')
  if (row.status !== 'enabled')
    return unit.refuse(new PamError('AccountDisabled', 403, `account ${ref} is disabled`), 'disabled')
  if (Number(row.requires_reason) === 1 && (reason === undefined || reason.trim() === '')) {
    return unit.refuse(
      new PamError('ReasonRequired', 400, `account ${ref} requires a reason for every retrieval`, {
        field: 'reason',
        rule: 'is required by the account’s policy',
      }),
      'reason_required',
    )
  }
  return { row, stored }
}

/** The account and, left-joined, the ciphertext of its current version (null if that is missing). */
const withCurrentVersion = (column: 'id' | 'name') =>
  prepare(['instanceId', 'ref'], (db, p) =>
    db
      .selectFrom('accounts as a')
      .leftJoin('account_versions as v', (join) =>
        join.onRef('v.account_id', '=', 'a.id').onRef('v.version', '=', 'a.current_version'),
      )
      .selectAll('a')
      .select(['v.ciphertext', 'v.key_version'])
      .where('a.instance_id', '=', p.instanceId)
      .where(`a.${column}`, '=', p.ref),
  )
const accountById = withCurrentVersion('id')
const accountByName = withCurrentVersion('name')

/** The calling application's account grants. */
export const accountGrants = prepare(['instanceId', 'applicationId'], (db, p) =>
  db
    .selectFrom('grants')
    .select(['resource_match', 'resource', 'actions'])
    .where('instance_id', '=', p.instanceId)
    .where('application_id', '=', p.applicationId)
    .where('resource_type', '=', 'account'),
)
