import { Type } from '@sinclair/typebox'
import type * as P from '@strongroom/protocol'
import {
  AuthenticationTokenPage,
  CreateCredentialProviderBody,
  CredentialProvider,
  CredentialProviderListQuery,
  CredentialProviderPage,
  InstanceId,
  idOrIdentifier,
  ProviderTokenListQuery,
  ProviderTokensChanged,
  ProviderTokensSelection,
  UpdateCredentialProviderBody,
} from '@strongroom/protocol'
import { listProviderTokens, setProviderTokensRevoked } from '../../services/providers/provider-tokens.js'
import * as providers from '../../services/providers/providers.js'
import type { Services } from '../../services.js'
import type { RouteInput, RouteSpec } from '../route-table.js'

const closed = { additionalProperties: false } as const
const I = '/admin/v1/instances/:instanceId'
const instanceParams = Type.Object({ instanceId: InstanceId }, closed)
const providerParams = Type.Object(
  {
    instanceId: InstanceId,
    provider: idOrIdentifier('atp', 'provider id (atp_…) or identifier'),
  },
  closed,
)

type In<B = unknown, Q = unknown> = RouteInput & { body: B; query: Q & Record<string, unknown> }

/** The admin API of credential providers: what mints tokens for workloads (`oauth` upstream, `jwt`). */
export function providerAdminRoutes(s: Services): RouteSpec[] {
  const admin = { auth: 'admin', tag: 'credential providers' } as const
  return [
    {
      ...admin,
      method: 'POST',
      url: `${I}/credential-providers`,
      operationId: 'createCredentialProvider',
      summary:
        'Create a credential provider: oauth (upstream client credentials) or jwt (a signing key of its own)',
      params: instanceParams,
      body: CreateCredentialProviderBody,
      success: { status: 201, schema: CredentialProvider },
      handler: ({ caller, params, body }: In<P.CreateCredentialProviderBody>) =>
        providers.createProvider(s, caller, params.instanceId!, body),
    },
    {
      ...admin,
      method: 'GET',
      url: `${I}/credential-providers`,
      operationId: 'listCredentialProviders',
      summary: 'List credential providers (never a secret)',
      params: instanceParams,
      querystring: CredentialProviderListQuery,
      success: { status: 200, schema: CredentialProviderPage },
      handler: ({ caller, params, query }: In<unknown, P.CredentialProviderListQuery>) =>
        providers.listProviders(s, caller, params.instanceId!, query),
    },
    {
      ...admin,
      method: 'GET',
      url: `${I}/credential-providers/:provider`,
      operationId: 'getCredentialProvider',
      summary: 'Show a credential provider (never a secret)',
      params: providerParams,
      success: { status: 200, schema: CredentialProvider },
      handler: ({ caller, params }) => providers.getProvider(s, caller, params.instanceId!, params.provider!),
    },
    {
      ...admin,
      method: 'PATCH',
      url: `${I}/credential-providers/:provider`,
      operationId: 'updateCredentialProvider',
      summary: "Change a provider's name, description or settings (an oauth provider's client secret too)",
      params: providerParams,
      body: UpdateCredentialProviderBody,
      success: { status: 200, schema: CredentialProvider },
      handler: ({ caller, params, body }: In<P.UpdateCredentialProviderBody>) =>
        providers.updateProvider(s, caller, params.instanceId!, params.provider!, body),
    },
    ...(['disable', 'enable'] as const).map(
      (verb): RouteSpec => ({
        ...admin,
        method: 'POST',
        url: `${I}/credential-providers/:provider/${verb}`,
        operationId: `${verb}CredentialProvider`,
        summary: `${verb === 'enable' ? 'Enable' : 'Disable'} a credential provider (a disabled one mints nothing; its tokens stay manageable)`,
        params: providerParams,
        success: { status: 200, schema: CredentialProvider },
        handler: ({ caller, params }) =>
          providers.setProviderStatus(s, caller, params.instanceId!, params.provider!, `${verb}d`),
      }),
    ),
    {
      ...admin,
      method: 'GET',
      url: `${I}/credential-providers/:provider/tokens`,
      operationId: 'listCredentialProviderTokens',
      summary: "The authentication tokens a provider minted, every consumer's or one's (never a value)",
      params: providerParams,
      querystring: ProviderTokenListQuery,
      success: { status: 200, schema: AuthenticationTokenPage },
      handler: ({ caller, params, query }: In<unknown, P.ProviderTokenListQuery>) =>
        listProviderTokens(s, caller, params.instanceId!, params.provider!, query),
    },
    ...(['revoke', 'reinstate'] as const).map(
      (verb): RouteSpec => ({
        ...admin,
        method: 'POST',
        url: `${I}/credential-providers/:provider/tokens/${verb}`,
        operationId: `${verb}CredentialProviderTokens`,
        summary: `${verb === 'revoke' ? 'Revoke' : 'Reinstate'} one token, one consumer's, or all of a provider's (idempotent; answers how many changed)`,
        params: providerParams,
        body: ProviderTokensSelection,
        success: { status: 200, schema: ProviderTokensChanged },
        handler: ({ caller, params, body }: In<P.ProviderTokensSelection | undefined>) =>
          setProviderTokensRevoked(
            s,
            caller,
            params.instanceId!,
            params.provider!,
            body ?? {},
            verb === 'revoke',
          ),
      }),
    ),
  ]
}
