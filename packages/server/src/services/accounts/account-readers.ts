import type { Readers } from '@strongroom/protocol'
import type { Caller, Services } from '../../services.js'
import { grantReaders } from '../grants/readers.js'
import { requireAccount } from './accounts.js'

/**
 * "Who can read this account?": the applications whose grants, on its id or its `TARGET/account`
 * name or a prefix of it, let them obtain its secrets, each with those grants.
 */
export async function accountReaders(
  s: Services,
  caller: Caller,
  instanceId: string,
  ref: string,
): Promise<Readers> {
  const row = await requireAccount(s.store.db, caller, instanceId, ref)
  return grantReaders(s, instanceId, 'account', { id: row.id, identifier: row.name })
}
