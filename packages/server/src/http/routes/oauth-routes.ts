import { isUtf8 } from 'node:buffer'
import { Type } from '@sinclair/typebox'
import { type AuthorizationServerMetadata, InstanceId, PAM_AUDIENCE, PAM_SCOPES } from '@strongroom/protocol'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { OAuthError } from '../../errors.js'
import { SUPPORTED_CLIENT_AUTH_METHODS } from '../../oauth/client-auth.js'
import { introspect, revoke } from '../../oauth/introspection.js'
import { issuerOf, requireAuthorizationServer } from '../../oauth/issuer.js'
import { CLIENT_CREDENTIALS, handleTokenRequest, type TokenThrottles } from '../../oauth/token-endpoint.js'
import { TOKEN_EXCHANGE } from '../../oauth/token-exchange.js'
import type { Services } from '../../services.js'
import { oauthEndpointErrorHandler } from '../error-handler.js'
import { isSafeString } from '../json-body.js'

const MAX_PARAM_LENGTH = 16_384
/**
 * The largest form the OAuth endpoints take: a few parameters of at most MAX_PARAM_LENGTH (an
 * assertion or a subject token). Parsed before any budget is checked, so no larger than that.
 */
const OAUTH_BODY_LIMIT = 64 * 1024
const AS = '/v2/:instanceId/authorizationServer/:authorizationServerId'
const asParams = Type.Object(
  { instanceId: InstanceId, authorizationServerId: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
)
/** Authorization server metadata and keys change rarely; relying parties may cache them briefly. */
const PUBLIC_CACHE = 'public, max-age=300'

type AsRequest = FastifyRequest<{ Params: { instanceId: string; authorizationServerId: string } }>

/**
 * The authorization server's public endpoints: token, discovery (RFC 8414, at both the
 * path-suffixed and the path-inserted well-known URL) and JWKS. Registered in their own Fastify
 * scope so that only they accept `application/x-www-form-urlencoded` bodies.
 */
export function registerOAuthRoutes(app: FastifyInstance, s: Services, throttles: TokenThrottles): void {
  app.register(async (scope) => {
    // The OAuth endpoints answer their refusals as RFC 6749 §5.2 asks (ERROR_STATUS's atOAuthEndpoint).
    scope.setErrorHandler(oauthEndpointErrorHandler)
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'buffer' },
      (_req, body: Buffer, done) => {
        try {
          done(null, parseForm(body))
        } catch (err) {
          done(err as Error, undefined)
        }
      },
    )

    const clientRequest = (request: AsRequest) => {
      const ua = request.headers['user-agent']
      return {
        instanceId: request.params.instanceId,
        authorizationServerId: request.params.authorizationServerId,
        params: mergeParams(request.query, request.body),
        authorization: request.headers.authorization,
        request: {
          requestId: request.id,
          sourceIp: request.ip,
          userAgent: typeof ua === 'string' ? ua : null,
        },
      }
    }

    scope.post(
      `${AS}/oauth2/token`,
      { schema: { params: asParams }, bodyLimit: OAUTH_BODY_LIMIT },
      async (request: AsRequest, reply) => {
        const response = await handleTokenRequest(s, throttles, clientRequest(request))
        reply.header('pragma', 'no-cache')
        return response
      },
    )
    scope.post(
      `${AS}/oauth2/introspect`,
      { schema: { params: asParams }, bodyLimit: OAUTH_BODY_LIMIT },
      async (request: AsRequest) => introspect(s, throttles, clientRequest(request)),
    )
    scope.post(
      `${AS}/oauth2/revoke`,
      { schema: { params: asParams }, bodyLimit: OAUTH_BODY_LIMIT },
      async (request: AsRequest, reply) => {
        await revoke(s, throttles, clientRequest(request))
        // RFC 7009 §2.2: 200, and the body is ignored; `{}` keeps the official clients happy.
        return reply.code(200).send({})
      },
    )

    const metadata = async (request: AsRequest, reply: { header(k: string, v: string): unknown }) => {
      const { instanceId, authorizationServerId } = request.params
      await requireAuthorizationServer(s, instanceId, authorizationServerId)
      const issuer = issuerOf(s, instanceId, authorizationServerId)
      reply.header('cache-control', PUBLIC_CACHE)
      const document: AuthorizationServerMetadata = {
        issuer,
        token_endpoint: `${issuer}/oauth2/token`,
        jwks_uri: `${issuer}/jwks`,
        introspection_endpoint: `${issuer}/oauth2/introspect`,
        revocation_endpoint: `${issuer}/oauth2/revoke`,
        introspection_endpoint_auth_methods_supported: SUPPORTED_CLIENT_AUTH_METHODS,
        revocation_endpoint_auth_methods_supported: SUPPORTED_CLIENT_AUTH_METHODS,
        grant_types_supported: [CLIENT_CREDENTIALS, TOKEN_EXCHANGE],
        token_endpoint_auth_methods_supported: SUPPORTED_CLIENT_AUTH_METHODS,
        scopes_supported: ['.all', ...PAM_SCOPES].map((v) => `${PAM_AUDIENCE}|${v}`),
        response_types_supported: [],
      }
      return document
    }
    scope.get(`${AS}/.well-known/oauth-authorization-server`, { schema: { params: asParams } }, metadata)
    scope.get(`/.well-known/oauth-authorization-server${AS}`, { schema: { params: asParams } }, metadata)

    scope.get(`${AS}/jwks`, { schema: { params: asParams } }, async (request: AsRequest, reply) => {
      const { instanceId, authorizationServerId } = request.params
      await requireAuthorizationServer(s, instanceId, authorizationServerId)
      reply.header('cache-control', PUBLIC_CACHE)
      reply.type('application/jwk-set+json')
      return s.signingKeys.jwks(instanceId)
    })
  })
}

/** A form body, strictly: UTF-8, each parameter at most once (RFC 6749 §3.2), bounded, no NUL. */
function parseForm(body: Buffer): Map<string, string> {
  if (!isUtf8(body)) throw new OAuthError('InvalidParameter.Encoding', 'the body is not valid UTF-8')
  const params = new Map<string, string>()
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) {
    addParam(params, key, value)
  }
  return params
}

function addParam(params: Map<string, string>, key: string, value: string): void {
  if (params.has(key)) throw new OAuthError('InvalidParameter', `${key.slice(0, 64)} was sent more than once`)
  if (value.length > MAX_PARAM_LENGTH || !isSafeString(value) || !isSafeString(key)) {
    throw new OAuthError('InvalidParameter', `${key.slice(0, 64)} is too long or not well-formed text`)
  }
  params.set(key, value)
}

/**
 * The official TypeScript client sends the token request's fields in the query string with an
 * empty body; OAuth libraries send a form body. Both are read; a field in the body wins.
 */
function mergeParams(query: unknown, body: unknown): Map<string, string> {
  const merged = new Map<string, string>()
  for (const [key, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (Array.isArray(value))
      throw new OAuthError('InvalidParameter', `${key.slice(0, 64)} was sent more than once`)
    if (typeof value === 'string') addParam(merged, key, value)
  }
  if (body instanceof Map) {
    for (const [key, value] of body as Map<string, string>) merged.set(key, value)
  } else if (body !== undefined && body !== null) {
    throw new OAuthError(
      'InvalidParameter.ContentType',
      'the token endpoint takes an application/x-www-form-urlencoded body',
    )
  }
  return merged
}
