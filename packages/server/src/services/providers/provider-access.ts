import type { GrantAction, PamScope } from '@strongroom/protocol'
import { NotFound, PamError } from '../../errors.js'
import type { Workload } from '../../services.js'
import type { CredentialProviderTable } from '../../store/schema.js'
import { type AuditedUnit, Refusal } from '../audited-operation.js'
import { authorize } from '../grants/authorize.js'
import { findProvider, PROVIDER_ID } from './providers.js'

/**
 * The provider a workload names, once the calling application holds `action` on it. The grant is
 * checked before existence, as for credentials: an application learns nothing about providers it
 * holds no grant on. A disabled provider (unless allowed), or one of the wrong type, is refused after
 * that. The rule is `authorize`'s; the type check is the providers' own.
 */
export async function authorizeProvider(
  unit: AuditedUnit,
  workload: Workload,
  instanceId: string,
  ref: string,
  action: GrantAction,
  options: {
    type?: CredentialProviderTable['type']
    allowDisabled?: boolean
    /** The scope the operation needs, checked first; none when the unit checked it already. */
    scopes?: readonly PamScope[]
  } = {},
): Promise<CredentialProviderTable | Refusal> {
  const details = { credentialProvider: ref }
  const row = await authorize(unit, workload, {
    instanceId,
    scopes: options.scopes ?? [],
    resourceType: 'credential_provider',
    action,
    noun: 'credential provider',
    ref,
    find: () => findProvider(unit.trx, instanceId, ref),
    // As accounts: a missing provider is matched by its identifier only when named by one. An
    // `atp_…` id that matches no row has no identifier, so no prefix grant (`a`, `atp`…) lets it
    // through to a 404 an existing provider's id would not get (an existence oracle).
    matchAs: (found) => ({
      id: found?.id ?? '',
      identifier: found?.identifier ?? (PROVIDER_ID.test(ref) ? '' : ref),
    }),
    notFound: () => new NotFound('CredentialProviderNotFound', `credential provider ${ref} does not exist`),
    disabledCode: 'CredentialProviderDisabled',
    ...(options.allowDisabled ? { allowDisabled: true } : {}),
    details,
  })
  if (row instanceof Refusal) return row
  const { type } = options
  if (type !== undefined && row.type !== type) {
    return unit.refuse(
      new PamError(
        'CredentialProviderTypeMismatch',
        `credential provider ${ref} is a ${row.type} provider; this operation needs a ${type} provider`,
        { field: 'credentialProviderIdentifier', rule: `must name a ${type} provider` },
      ),
      'wrong_type',
      details,
    )
  }
  return row
}
