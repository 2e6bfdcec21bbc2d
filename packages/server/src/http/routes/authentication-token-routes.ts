import { Type } from '@sinclair/typebox'
import {
  AuthenticationTokenPage,
  ConsumerActionBody,
  Empty,
  FetchOAuthTokenBody,
  GenerateJwtBody,
  InstanceId,
  JwtTokenResult,
  ListAuthenticationTokensQuery,
  OAuthTokenResult,
  ObtainJwtBody,
  ObtainJwtByDerivedShortTokenBody,
  TokenActionBody,
  ValidateResult,
} from '@strongroom/protocol'
import type { FastifyRequest } from 'fastify'
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
import type { Services } from '../../services.js'
import { addressKey } from '../address-key.js'
import { FailureThrottle } from '../failure-throttle.js'
import { defineRoute, type RouteSpec, UNAUTHENTICATED_RATE } from '../route-table.js'

const T = '/v2/:instanceId/authenticationTokens'
const instanceParams = Type.Object({ instanceId: InstanceId }, { additionalProperties: false })

/**
 * The authentication-token operations of the IDaaS PAM developer API 2022-02-25
 * (docs/wire-contract.md, "Developer-API operations"), called by workloads with an access token of
 * the instance's authorization server; validate and the derived short token exchange take no
 * token, as the official clients send none, and are rate limited per source address instead.
 */
export function authenticationTokenRoutes(s: Services): RouteSpec[] {
  const unauthenticated = new FailureThrottle({ ...UNAUTHENTICATED_RATE, now: s.now, sourceKey: addressKey })
  const limit = (request: FastifyRequest) => {
    const source = request.ip
    unauthenticated.refuseIfExhausted(source, 'too many calls from this address; retry later')
    unauthenticated.fail(source)
  }
  const pam = { auth: 'workload', tag: 'pam', params: instanceParams } as const
  const byToken = (verb: 'revoke' | 'reinstate') =>
    defineRoute({
      ...pam,
      method: 'POST',
      url: `${T}/_/actions/${verb}`,
      operationId: `${verb === 'revoke' ? 'Revoke' : 'Reinstate'}AuthenticationToken`,
      summary: `${verb === 'revoke' ? 'Revoke' : 'Reinstate'} a JWT authentication token by its value or derived short token (scope authentication_token:manage, a manage grant); idempotent`,
      body: TokenActionBody,
      success: { status: 200, schema: Empty },
      handler: ({ caller, params, body }) =>
        setTokenRevoked(s, caller, params.instanceId, body.token, verb === 'revoke'),
    })
  const byConsumer = (verb: 'revoke' | 'reinstate') =>
    defineRoute({
      ...pam,
      method: 'POST',
      url: `${T}/_/actions/${verb}ByConsumer`,
      operationId: `${verb === 'revoke' ? 'Revoke' : 'Reinstate'}AuthenticationTokenByConsumer`,
      summary: `${verb === 'revoke' ? 'Revoke' : 'Reinstate'} every token of a consumer from a provider (scope authentication_token:manage, a manage grant)`,
      body: ConsumerActionBody,
      success: { status: 200, schema: Empty },
      handler: ({ caller, params, body }) =>
        setConsumerTokensRevoked(s, caller, params.instanceId, body, verb === 'revoke'),
    })
  return [
    defineRoute({
      ...pam,
      method: 'POST',
      url: `${T}/_/actions/fetchOAuthAccessToken`,
      operationId: 'FetchOAuthAuthenticationToken',
      summary:
        "An access token from an oauth provider's upstream token endpoint, shared until near expiry (scope authentication_token:obtain, a use grant)",
      body: FetchOAuthTokenBody,
      success: { status: 200, schema: OAuthTokenResult },
      handler: ({ caller, params, body }) => fetchOAuthToken(s, caller, params.instanceId, body),
    }),
    defineRoute({
      ...pam,
      method: 'POST',
      url: `${T}/_/actions/generateJwt`,
      operationId: 'GenerateJwtAuthenticationToken',
      summary:
        "A JWT signed with a jwt provider's key, optionally with a derived short token (scope authentication_token:obtain, a use grant)",
      body: GenerateJwtBody,
      success: { status: 200, schema: JwtTokenResult },
      handler: ({ caller, params, body }) => generateJwt(s, caller, params.instanceId, body),
    }),
    defineRoute({
      ...pam,
      method: 'POST',
      url: `${T}/_/actions/obtainJwt`,
      operationId: 'ObtainJwtAuthenticationToken',
      summary:
        'A JWT recorded earlier, by consumer and token id (scope authentication_token:obtain, a read grant)',
      body: ObtainJwtBody,
      success: { status: 200, schema: JwtTokenResult },
      handler: ({ caller, params, body }) => obtainJwt(s, caller, params.instanceId, body),
    }),
    defineRoute({
      ...pam,
      auth: 'none',
      method: 'POST',
      url: `${T}/_/actions/obtainJwtByDerivedShortToken`,
      operationId: 'ObtainJwtAuthenticationTokenByDerivedShortToken',
      summary:
        'The JWT a derived short token stands for; the short token is the credential (rate limited per address)',
      body: ObtainJwtByDerivedShortTokenBody,
      success: { status: 200, schema: JwtTokenResult },
      handler: ({ caller, params, body, request }) => {
        limit(request)
        return obtainJwtByDerivedShortToken(s, caller, params.instanceId, body.derivedShortToken)
      },
    }),
    defineRoute({
      ...pam,
      method: 'GET',
      url: T,
      operationId: 'ListAuthenticationTokens',
      summary:
        "One consumer's tokens from one provider, by keyset pagination, with the total (scope authentication_token:read, a read grant)",
      querystring: ListAuthenticationTokensQuery,
      success: { status: 200, schema: AuthenticationTokenPage },
      handler: ({ caller, params, query }) => listTokens(s, caller, params.instanceId, query),
    }),
    defineRoute({
      ...pam,
      auth: 'none',
      method: 'POST',
      url: `${T}/_/actions/validate`,
      operationId: 'ValidateAuthenticationToken',
      summary:
        'Whether a JWT or derived short token is recorded, not revoked, not expired and verifies (no token needed; rate limited per address)',
      body: TokenActionBody,
      success: { status: 200, schema: ValidateResult },
      handler: ({ caller, params, body, request }) => {
        limit(request)
        return validateToken(s, caller, params.instanceId, body.token)
      },
    }),
    byToken('revoke'),
    byConsumer('revoke'),
    byToken('reinstate'),
    byConsumer('reinstate'),
  ]
}
