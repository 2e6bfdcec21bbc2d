import type { PamScope } from '@strongroom/protocol'
import { PamError } from '../../errors.js'
import type { Services, Workload } from '../../services.js'
import { prepare } from '../../store/prepared.js'
import type { AccountTable } from '../../store/schema.js'
import { type AuditedUnit, Refusal } from '../audited-operation.js'
import { authorize } from '../grants/authorize.js'
import { ACCOUNT_ID, accountNotFound } from './account-record.js'
import type { StoredVersion } from './account-secrets.js'

/** An account a workload may retrieve from, with its current version's ciphertext (if stored). */
export interface AuthorizedAccount {
  row: AccountTable
  stored: StoredVersion | undefined
}

/**
 * The account a workload names (by name or `acct_` id) for a retrieval, in this order: an `obtain`
 * grant before existence (an application learns nothing about accounts it holds no grant on), then
 * existence, status (the rule is `authorize`'s), and the reason the account's policy may require.
 */
export async function authorizeAccount(
  s: Services,
  unit: AuditedUnit,
  workload: Workload,
  instanceId: string,
  ref: string,
  reason: string | undefined,
  scopes: readonly PamScope[] = [],
): Promise<AuthorizedAccount | Refusal> {
  const byId = ACCOUNT_ID.test(ref)
  const lookup = byId ? accountById : accountByName
  let stored: StoredVersion | undefined
  const row = await authorize<AccountTable>(unit, workload, {
    instanceId,
    scopes,
    resourceType: 'account',
    action: 'obtain',
    noun: 'account',
    ref,
    find: async () => {
      const found = await lookup.first(s.store, unit.trx, { instanceId, ref })
      if (!found) return undefined
      const { ciphertext, key_version, ...account } = found
      if (ciphertext !== null && key_version !== null) stored = { ciphertext, key_version }
      return account
    },
    // A missing account is matched by its name only when named: an `acct_…` id that matches no row
    // has no name, so no prefix grant (`acct`…) lets it through to a 404 an existing id would not get.
    matchAs: (found) => ({ id: found?.id ?? '', identifier: found?.name ?? (byId ? '' : ref) }),
    notFound: () => accountNotFound(ref),
    disabledCode: 'AccountDisabled',
  })
  if (row instanceof Refusal) return row
  if (Number(row.requires_reason) === 1 && (reason === undefined || reason.trim() === '')) {
    return unit.refuse(
      new PamError('ReasonRequired', `account ${ref} requires a reason for every retrieval`, {
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
