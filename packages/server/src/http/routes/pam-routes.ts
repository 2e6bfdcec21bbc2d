import { Type } from '@sinclair/typebox'
import type * as P from '@strongroom/protocol'
import {
  AuthenticationTokenPage,
  ConsumerActionBody,
  CredentialProviderId,
  Empty,
  FetchOAuthTokenBody,
  GenerateJwtBody,
  InstanceId,
  JwtTokenResult,
  ListAuthenticationTokensQuery,
  OAuthTokenResult,
  ObtainCredentialQuery,
  ObtainedCredential,
  ObtainJwtBody,
  ObtainJwtByDerivedShortTokenBody,
  TokenActionBody,
  ValidateResult,
} from '@strongroom/protocol'
import { fetchOAuthToken } from '../../services/authentication-tokens/fetch-oauth-token.js'
import { generateJwt } from '../../services/authentication-tokens/generate-jwt.js'
import {
  listTokens,
  obtainJwt,
  obtainJwtByDerivedShortToken,
  setConsumerTokensRevoked,
  setTokenRevoked,
  validateToken,
} from '../../services/authentication-tokens/token-lifecycle.js'
import { obtainCredential } from '../../services/credentials/obtain-credential.js'
import { providerJwks, providerMetadata } from '../../services/providers/providers.js'
import type { Caller, Services, Workload } from '../../services.js'
import { FailureThrottle } from '../failure-throttle.js'
import type { RouteInput, RouteSpec } from '../route-table.js'

const B = '/v2/:instanceId'
const T = `${B}/authenticationTokens`
const instanceParams = Type.Object({ instanceId: InstanceId }, { additionalProperties: false })
const providerParams = Type.Object(
  { instanceId: InstanceId, providerId: CredentialProviderId },
  { additionalProperties: false },
)
const Jwks = Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) })
const ProviderMetadata = Type.Object({
  issuer: Type.String(),
  jwks_uri: Type.String(),
  id_token_signing_alg_values_supported: Type.Array(Type.String()),
})

/** Calls per second a source address may make to the unauthenticated operations, after a burst. */
export const UNAUTHENTICATED_RATE = { burst: 200, refillPerSecond: 100 }

type In<B = unknown, Q = unknown> = RouteInput & {
  body: B
  query: Q
  caller: Caller & { workload: Workload }
}

/**
 * The IDaaS PAM developer API 2022-02-25 (docs/wire-contract.md, "Developer-API operations"), called by workloads
 * with an access token of the instance's authorization server; validate and the derived short
 * token exchange take no token, as the official clients send none, and are rate limited per
 * source address instead. Also the public JWKS of each jwt credential provider.
 */
export function pamRoutes(s: Services): RouteSpec[] {
  const unauthenticated = new FailureThrottle({ ...UNAUTHENTICATED_RATE, now: s.now })
  const limit = (input: RouteInput) => {
    const source = input.request.ip
    unauthenticated.refuseIfExhausted(source, 'too many calls from this address; retry later')
    unauthenticated.fail(source)
  }
  const pam = { auth: 'workload', tag: 'pam', params: instanceParams } as const
  const byToken = (verb: 'revoke' | 'reinstate'): RouteSpec => ({
    ...pam,
    method: 'POST',
    url: `${T}/_/actions/${verb}`,
    operationId: `${verb === 'revoke' ? 'Revoke' : 'Reinstate'}AuthenticationToken`,
    summary: `${verb === 'revoke' ? 'Revoke' : 'Reinstate'} a JWT authentication token by its value or derived short token (scope authentication_token:manage, a manage grant); idempotent`,
    body: TokenActionBody,
    success: { status: 200, schema: Empty },
    handler: ({ caller, params, body }: In<P.TokenActionBody>) =>
      setTokenRevoked(s, caller, params.instanceId!, body.token, verb === 'revoke'),
  })
  const byConsumer = (verb: 'revoke' | 'reinstate'): RouteSpec => ({
    ...pam,
    method: 'POST',
    url: `${T}/_/actions/${verb}ByConsumer`,
    operationId: `${verb === 'revoke' ? 'Revoke' : 'Reinstate'}AuthenticationTokenByConsumer`,
    summary: `${verb === 'revoke' ? 'Revoke' : 'Reinstate'} every token of a consumer from a provider (scope authentication_token:manage, a manage grant)`,
    body: ConsumerActionBody,
    success: { status: 200, schema: Empty },
    handler: ({ caller, params, body }: In<P.ConsumerActionBody>) =>
      setConsumerTokensRevoked(s, caller, params.instanceId!, body, verb === 'revoke'),
  })
  return [
    {
      ...pam,
      method: 'GET',
      url: `${B}/credentials/_/actions/obtain`,
      operationId: 'ObtainCredential',
      summary:
        'The current value of a credential (scope credential:obtain, an obtain grant); audited before it is answered',
      querystring: ObtainCredentialQuery,
      success: { status: 200, schema: ObtainedCredential },
      handler: ({ caller, params, query }: In<unknown, P.ObtainCredentialQuery>) =>
        obtainCredential(s, caller, params.instanceId!, query.credentialIdentifier),
    },
    {
      ...pam,
      method: 'POST',
      url: `${T}/_/actions/fetchOAuthAccessToken`,
      operationId: 'FetchOAuthAuthenticationToken',
      summary:
        "An access token from an oauth provider's upstream token endpoint, shared until near expiry (scope authentication_token:obtain, a use grant)",
      body: FetchOAuthTokenBody,
      success: { status: 200, schema: OAuthTokenResult },
      handler: ({ caller, params, body }: In<P.FetchOAuthTokenBody>) =>
        fetchOAuthToken(s, caller, params.instanceId!, body),
    },
    {
      ...pam,
      method: 'POST',
      url: `${T}/_/actions/generateJwt`,
      operationId: 'GenerateJwtAuthenticationToken',
      summary:
        "A JWT signed with a jwt provider's key, optionally with a derived short token (scope authentication_token:obtain, a use grant)",
      body: GenerateJwtBody,
      success: { status: 200, schema: JwtTokenResult },
      handler: ({ caller, params, body }: In<P.GenerateJwtBody>) =>
        generateJwt(s, caller, params.instanceId!, body),
    },
    {
      ...pam,
      method: 'POST',
      url: `${T}/_/actions/obtainJwt`,
      operationId: 'ObtainJwtAuthenticationToken',
      summary:
        'A JWT recorded earlier, by consumer and token id (scope authentication_token:obtain, a read grant)',
      body: ObtainJwtBody,
      success: { status: 200, schema: JwtTokenResult },
      handler: ({ caller, params, body }: In<P.ObtainJwtBody>) =>
        obtainJwt(s, caller, params.instanceId!, body),
    },
    {
      ...pam,
      auth: 'none',
      method: 'POST',
      url: `${T}/_/actions/obtainJwtByDerivedShortToken`,
      operationId: 'ObtainJwtAuthenticationTokenByDerivedShortToken',
      summary:
        'The JWT a derived short token stands for; the short token is the credential (rate limited per address)',
      body: ObtainJwtByDerivedShortTokenBody,
      success: { status: 200, schema: JwtTokenResult },
      handler: (input: In<P.ObtainJwtByDerivedShortTokenBody>) => {
        limit(input)
        return obtainJwtByDerivedShortToken(
          s,
          input.caller,
          input.params.instanceId!,
          input.body.derivedShortToken,
        )
      },
    },
    {
      ...pam,
      method: 'GET',
      url: T,
      operationId: 'ListAuthenticationTokens',
      summary:
        "One consumer's tokens from one provider, by keyset pagination, with the total (scope authentication_token:read, a read grant)",
      querystring: ListAuthenticationTokensQuery,
      success: { status: 200, schema: AuthenticationTokenPage },
      handler: ({ caller, params, query }: In<unknown, P.ListAuthenticationTokensQuery>) =>
        listTokens(s, caller, params.instanceId!, query),
    },
    {
      ...pam,
      auth: 'none',
      method: 'POST',
      url: `${T}/_/actions/validate`,
      operationId: 'ValidateAuthenticationToken',
      summary:
        'Whether a JWT or derived short token is recorded, not revoked, not expired and verifies (no token needed; rate limited per address)',
      body: TokenActionBody,
      success: { status: 200, schema: ValidateResult },
      handler: (input: In<P.TokenActionBody>) => {
        limit(input)
        return validateToken(s, input.caller, input.params.instanceId!, input.body.token)
      },
    },
    byToken('revoke'),
    byConsumer('revoke'),
    byToken('reinstate'),
    byConsumer('reinstate'),
    {
      auth: 'none',
      tag: 'pam',
      method: 'GET',
      url: `${B}/credentialProviders/:providerId/.well-known/jwks.json`,
      operationId: 'getCredentialProviderJwks',
      summary: "A jwt credential provider's public keys (RFC 7517), to verify the JWTs it issues",
      params: providerParams,
      success: { status: 200, schema: Jwks },
      handler: ({ params }) => providerJwks(s, params.instanceId!, params.providerId!),
    },
    {
      auth: 'none',
      tag: 'pam',
      method: 'GET',
      url: `${B}/credentialProviders/:providerId/.well-known/openid-configuration`,
      operationId: 'getCredentialProviderMetadata',
      summary: "Discovery for a jwt provider's default issuer: where its JWKS is",
      params: providerParams,
      success: { status: 200, schema: ProviderMetadata },
      handler: ({ params }) => providerMetadata(s, params.instanceId!, params.providerId!),
    },
  ]
}
