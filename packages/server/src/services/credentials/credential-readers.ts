import type { Readers } from '@strongroom/protocol'
import type { Caller, Services } from '../../services.js'
import { grantReaders } from '../grants/readers.js'
import { requireCredential } from './credentials.js'

/**
 * "Who can read this credential?": the applications whose grants, exact or by prefix, let them
 * obtain it, each with those grants. An admin read, like showing the credential.
 */
export async function credentialReaders(
  s: Services,
  caller: Caller,
  instanceId: string,
  ref: string,
): Promise<Readers> {
  const row = await requireCredential(s.store.db, caller, instanceId, ref)
  return grantReaders(s, instanceId, 'credential', { id: row.id, identifier: row.identifier })
}
