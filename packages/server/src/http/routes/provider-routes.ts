import { Type } from '@sinclair/typebox'
import {
  AuthenticationTokenPage,
  CreateCredentialProviderBody,
  CredentialProvider,
  CredentialProviderId,
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
import { defineRoute, type RouteSpec } from '../route-table.js'

const closed = { additionalProperties: false } as const
const P = '/admin/v1/instances/:instanceId/credential-providers'
const instanceParams = Type.Object({ instanceId: InstanceId }, closed)
const providerParams = Type.Object(
  {
    instanceId: InstanceId,
    provider: idOrIdentifier('atp', 'provider id (atp_…) or identifier'),
  },
  closed,
)

/** The admin API of credential providers: what mints tokens for workloads (`oauth` upstream, `jwt`). */
export function providerAdminRoutes(s: Services): RouteSpec[] {
  const admin = { auth: 'admin', tag: 'credential providers' } as const
  return [
    defineRoute({
      ...admin,
      method: 'POST',
      url: P,
      operationId: 'createCredentialProvider',
      summary:
        'Create a credential provider: oauth (upstream client credentials) or jwt (a signing key of its own)',
      params: instanceParams,
      body: CreateCredentialProviderBody,
      success: { status: 201, schema: CredentialProvider },
      handler: ({ caller, params, body }) => providers.createProvider(s, caller, params.instanceId, body),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: P,
      operationId: 'listCredentialProviders',
      summary: 'List credential providers (never a secret)',
      params: instanceParams,
      querystring: CredentialProviderListQuery,
      success: { status: 200, schema: CredentialProviderPage },
      handler: ({ caller, params, query }) => providers.listProviders(s, caller, params.instanceId, query),
    }),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${P}/:provider`,
      operationId: 'getCredentialProvider',
      summary: 'Show a credential provider (never a secret)',
      params: providerParams,
      success: { status: 200, schema: CredentialProvider },
      handler: ({ caller, params }) => providers.getProvider(s, caller, params.instanceId, params.provider),
    }),
    defineRoute({
      ...admin,
      method: 'PATCH',
      url: `${P}/:provider`,
      operationId: 'updateCredentialProvider',
      summary: "Change a provider's name, description or settings (an oauth provider's client secret too)",
      params: providerParams,
      body: UpdateCredentialProviderBody,
      success: { status: 200, schema: CredentialProvider },
      handler: ({ caller, params, body }) =>
        providers.updateProvider(s, caller, params.instanceId, params.provider, body),
    }),
    ...(['disable', 'enable'] as const).map((verb) =>
      defineRoute({
        ...admin,
        method: 'POST',
        url: `${P}/:provider/${verb}`,
        operationId: `${verb}CredentialProvider`,
        summary: `${verb === 'enable' ? 'Enable' : 'Disable'} a credential provider (a disabled one mints nothing; its tokens stay manageable)`,
        params: providerParams,
        success: { status: 200, schema: CredentialProvider },
        handler: ({ caller, params }) =>
          providers.setProviderStatus(s, caller, params.instanceId, params.provider, `${verb}d`),
      }),
    ),
    defineRoute({
      ...admin,
      method: 'GET',
      url: `${P}/:provider/tokens`,
      operationId: 'listCredentialProviderTokens',
      summary: "The authentication tokens a provider minted, every consumer's or one's (never a value)",
      params: providerParams,
      querystring: ProviderTokenListQuery,
      success: { status: 200, schema: AuthenticationTokenPage },
      handler: ({ caller, params, query }) =>
        listProviderTokens(s, caller, params.instanceId, params.provider, query),
    }),
    ...(['revoke', 'reinstate'] as const).map((verb) =>
      defineRoute({
        ...admin,
        method: 'POST',
        url: `${P}/:provider/tokens/${verb}`,
        operationId: `${verb}CredentialProviderTokens`,
        summary: `${verb === 'revoke' ? 'Revoke' : 'Reinstate'} one token, one consumer's, or all of a provider's (idempotent; answers how many changed)`,
        params: providerParams,
        body: ProviderTokensSelection,
        success: { status: 200, schema: ProviderTokensChanged },
        handler: ({ caller, params, body }) =>
          setProviderTokensRevoked(s, caller, params.instanceId, params.provider, body, verb === 'revoke'),
      }),
    ),
  ]
}

const publicParams = Type.Object({ instanceId: InstanceId, providerId: CredentialProviderId }, closed)
const Jwks = Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) })
const ProviderMetadata = Type.Object({
  issuer: Type.String(),
  jwks_uri: Type.String(),
  id_token_signing_alg_values_supported: Type.Array(Type.String()),
})

/** What anyone may read of a jwt provider, to verify the JWTs it issues: `/v2/{i}/credentialProviders`. */
export function providerRoutes(s: Services): RouteSpec[] {
  const open = { auth: 'none', tag: 'pam', method: 'GET', params: publicParams } as const
  const B = '/v2/:instanceId/credentialProviders/:providerId/.well-known'
  return [
    defineRoute({
      ...open,
      url: `${B}/jwks.json`,
      operationId: 'getCredentialProviderJwks',
      summary: "A jwt credential provider's public keys (RFC 7517), to verify the JWTs it issues",
      success: { status: 200, schema: Jwks },
      handler: ({ params }) => providers.providerJwks(s, params.instanceId, params.providerId),
    }),
    defineRoute({
      ...open,
      url: `${B}/openid-configuration`,
      operationId: 'getCredentialProviderMetadata',
      summary: "Discovery for a jwt provider's default issuer: where its JWKS is",
      success: { status: 200, schema: ProviderMetadata },
      handler: ({ params }) => providers.providerMetadata(s, params.instanceId, params.providerId),
    }),
  ]
}
