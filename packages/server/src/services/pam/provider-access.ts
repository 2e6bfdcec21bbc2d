import type { GrantAction } from '@strongroom/protocol'
import { NotFound, PamError } from '../../errors.js'
import type { CredentialProviderTable } from '../../store/schema.js'
import type { Workload } from '../context.js'
import { isGranted } from '../grants/grants.js'
import { findProvider } from '../providers/providers.js'
import type { AuditedUnit, Refusal } from './audited-operation.js'

/**
 * The provider a workload names, once the calling application holds `action` on it. The grant is
 * checked before existence, as for credentials: an application learns nothing about providers it
 * holds no grant on. A disabled provider (unless allowed), or one of the wrong type, is refused after that.
 */
export async function authorizeProvider(
  unit: AuditedUnit,
  workload: Workload,
  instanceId: string,
  ref: string,
  action: GrantAction,
  options: { type?: CredentialProviderTable['type']; allowDisabled?: boolean } = {},
): Promise<CredentialProviderTable | Refusal> {
  const row = await findProvider(unit.trx, instanceId, ref)
  if (row) unit.about({ type: 'credential_provider', id: row.id })
  const granted = await isGranted(
    unit.trx,
    instanceId,
    workload.applicationId,
    'credential_provider',
    { id: row?.id ?? '', identifier: row?.identifier ?? ref },
    action,
  )
  const details = { credentialProvider: ref }
  if (!granted) {
    return unit.refuse(
      new PamError(
        'PermissionDenied',
        403,
        `this application holds no ${action} grant on credential provider ${ref}`,
      ),
      'no_grant',
      details,
    )
  }
  if (!row) {
    return unit.refuse(
      new NotFound('CredentialProviderNotFound', `credential provider ${ref} does not exist`),
      'not_found',
      details,
    )
  }
  const { type } = options
  // Tokens a provider already minted stay readable and manageable after it is disabled.
  if (row.status !== 'enabled' && !options.allowDisabled) {
    return unit.refuse(
      new PamError('CredentialProviderDisabled', 403, `credential provider ${ref} is disabled`),
      'disabled',
      details,
    )
  }
  if (type !== undefined && row.type !== type) {
    return unit.refuse(
      new PamError(
        'CredentialProviderTypeMismatch',
        400,
        `credential provider ${ref} is a ${row.type} provider; this operation needs a ${type} provider`,
        { field: 'credentialProviderIdentifier', rule: `must name a ${type} provider` },
      ),
      'wrong_type',
      details,
    )
  }
  return row
}
