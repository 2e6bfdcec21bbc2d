import type { Status } from '@strongroom/protocol'
import type { Caller } from '../services.js'
import type { Unit } from '../store/committer.js'

interface StatusRow {
  id: string
  instance_id: string
  status: Status
  updated_at: number
}

/**
 * Enables or disables an application, a credential, a credential provider or an account inside a unit of work: idempotent (no
 * write and no event when the status is already the one asked for), audited otherwise.
 */
export async function changeStatus(
  { trx, audit }: Unit,
  caller: Caller,
  target: {
    table:
      | 'applications'
      | 'credentials'
      | 'credential_providers'
      | 'accounts'
      | 'cloud_accounts'
      | 'cloud_account_roles'
    resourceType:
      | 'application'
      | 'credential'
      | 'credential_provider'
      | 'account'
      | 'cloud_account'
      | 'cloud_account_role'
    row: StatusRow
  },
  status: Status,
  now: number,
): Promise<void> {
  const { row } = target
  if (row.status === status) return
  row.status = status
  row.updated_at = now
  await trx.updateTable(target.table).set({ status, updated_at: now }).where('id', '=', row.id).execute()
  await audit.append({
    instanceId: row.instance_id,
    actor: caller.actor,
    action: `${target.resourceType}.${status === 'enabled' ? 'enable' : 'disable'}`,
    resource: { type: target.resourceType, id: row.id },
    outcome: 'success',
    request: caller.request,
  })
}
