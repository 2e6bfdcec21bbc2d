import type {
  AuthenticationTokenPage,
  ProviderTokenListQuery,
  ProviderTokensChanged,
  ProviderTokensSelection,
} from '@strongroom/protocol'
import type { Caller, Services } from '../../services.js'
import { setTokensRevoked } from '../authentication-tokens/token-counts.js'
import { pageOfTokens } from '../authentication-tokens/token-records.js'
import { requireProvider } from './providers.js'

/**
 * The tokens a provider minted, for an administrator: every consumer's, or one's, with the
 * developer API's filters and pagination. Values are never shown: they are the consumers' secrets.
 */
export async function listProviderTokens(
  s: Services,
  caller: Caller,
  instanceId: string,
  ref: string,
  query: ProviderTokenListQuery,
): Promise<AuthenticationTokenPage> {
  const provider = await requireProvider(s.store.db, caller, instanceId, ref)
  return pageOfTokens(
    s.store.db,
    instanceId,
    { providerId: provider.id, consumerId: query.consumerId, revoked: query.revoked, expired: query.expired },
    query,
    s.now(),
  )
}

/**
 * Incident response: revoke (or reinstate) one token, one consumer's tokens, or every token of a
 * provider, at once on every node (validate reads the flag). Idempotent; audited with the count.
 */
export async function setProviderTokensRevoked(
  s: Services,
  caller: Caller,
  instanceId: string,
  ref: string,
  selection: ProviderTokensSelection,
  revoked: boolean,
): Promise<ProviderTokensChanged> {
  return s.committer.run(async (unit) => {
    const { trx, audit } = unit
    const provider = await requireProvider(trx, caller, instanceId, ref)
    const changed = await setTokensRevoked(
      unit,
      {
        instanceId,
        providerId: provider.id,
        consumerId: selection.consumerId,
        tokenId: selection.authenticationTokenId,
      },
      revoked,
      s.now(),
    )
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: `credential_provider.tokens_${revoked ? 'revoke' : 'reinstate'}`,
      resource: { type: 'credential_provider', id: provider.id },
      outcome: 'success',
      details: {
        consumerId: selection.consumerId ?? null,
        authenticationTokenId: selection.authenticationTokenId ?? null,
        changed,
      },
      request: caller.request,
    })
    return { changed }
  })
}
