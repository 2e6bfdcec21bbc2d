import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { InstanceId } from '@strongroom/protocol'
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify'
import type { RequestMeta } from '../audit/appender.js'
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from '../config/config.js'
import { randomBase64url } from '../crypto/random-pool.js'
import { echo, InvalidParameter, InvalidToken, isAuthenticationFailure } from '../errors.js'
import { instrumentRequests } from '../metrics/http-metrics.js'
import type { ThrottleSurface } from '../metrics/server-metrics.js'
import { authenticateWorkload } from '../oauth/authenticate-workload.js'
import { authenticateAdminToken } from '../services/admin-tokens/admin-tokens.js'
import { type AuditFailure, auditThrottled } from '../services/best-effort.js'
import { presentedToken } from '../services/bound-tokens/presented-token.js'
import type { Caller, Services } from '../services.js'
import { addressKey } from './address-key.js'
import { answerClientError } from './client-errors.js'
import { ConsoleFiles, packagedConsoleRoot } from './console/console-files.js'
import { registerConsole } from './console/console-routes.js'
import {
  authenticateConsoleRequest,
  isCsrfRefusal,
  presentedSessionSecret,
  refuseCrossSite,
} from './console/session-request.js'
import { answerTo, errorHandler, sendError } from './error-handler.js'
import { isSafeString, registerJsonBody } from './json-body.js'
import type { LogHealth } from './log-destination.js'
import { openApiDocument } from './openapi.js'
import { pathOf, RequestLog } from './request-log.js'
import type { RouteSpec } from './route-table.js'
import { accountAdminRoutes, accountRoutes } from './routes/account-routes.js'
import { adminTokenRoutes } from './routes/admin-token-routes.js'
import { applicationRoutes } from './routes/application-routes.js'
import { auditRoutes } from './routes/audit-routes.js'
import { authenticationTokenRoutes } from './routes/authentication-token-routes.js'
import { boundTokenRoutes } from './routes/bound-token-routes.js'
import { cloudAccountAdminRoutes, cloudAccountRoleRoutes } from './routes/cloud-account-routes.js'
import { credentialAdminRoutes, credentialRoutes } from './routes/credential-routes.js'
import { grantRoutes } from './routes/grant-routes.js'
import { instanceRoutes } from './routes/instance-routes.js'
import { metricsRoutes } from './routes/metrics-routes.js'
import { registerOAuthRoutes } from './routes/oauth-routes.js'
import { registerOciRoutes } from './routes/oci-routes.js'
import { providerAdminRoutes, providerRoutes } from './routes/provider-routes.js'
import { signingKeyRoutes } from './routes/signing-key-routes.js'
import {
  type AddressThrottle,
  addressThrottle,
  clientThrottle,
  failureCounter,
} from './shared-failure-throttle.js'
import { typeboxValidatorCompiler } from './validation.js'

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller
    adminTokenName?: string
  }
}

export interface AppOptions {
  /** Fastify's logger: `false` in route tests, pino options in the server. */
  logger?: FastifyServerOptions['logger']
  bodyLimit?: number
  trustProxy?: boolean
  https?: { cert: Buffer; key: Buffer } | null
  version?: string
  /** Whether the server is draining; `/readyz` answers 503 then. */
  isShuttingDown?: () => boolean
  /** The log's state, reported by `/readyz` and the metrics (a failing log does not make the node unready). */
  logHealth?: () => LogHealth
  /** Failed authentications (admin tokens; OAuth clients per address and per client id): a burst, then a steady rate. */
  authFailures?: { burst: number; refillPerSecond: number }
  /** Connection and request-time bounds; the defaults of `DEFAULT_CONNECTION_LIMITS` when absent. */
  limits?: ConnectionLimits
  /**
   * The web console's folder (holding `assets/` and `dist/`): by default the `@strongroom/console`
   * package's; null for none (`/console` then answers 503).
   */
  consoleRoot?: string | null
}

const INSTANCE_ID = new RegExp(InstanceId.pattern ?? '^$')

/** A quiet node proves it can still write at most this often when asked whether it is ready. */
const WRITE_PROBE_AFTER_MS = 10_000

const AUTH_FAILURES = { burst: 20, refillPerSecond: 0.5 }

const BODY_LIMIT = 256 * 1024

/** Request ids are ours, never taken from the client: they name log lines and audit events. */
const newRequestId = () => `req_${randomBase64url(12)}`

/** Builds the HTTP application. No port is opened: tests call `app.inject`, the server calls `listen`. */
export function buildApp(s: Services, options: AppOptions = {}): FastifyInstance {
  const limits = options.limits ?? DEFAULT_CONNECTION_LIMITS
  // Node checks the request and header deadlines on this interval (30 s by default): a slow
  // client is cut at most a second after its deadline, not half a minute later.
  const serverOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: 1_000,
  }
  const app = Fastify({
    logger: options.logger ?? false,
    requestTimeout: limits.requestTimeoutMs,
    // A backstop for any socket silent this long, whatever state Node's parser thinks it is in.
    connectionTimeout: limits.requestTimeoutMs + limits.keepAliveTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: serverOptions,
    bodyLimit: options.bodyLimit ?? BODY_LIMIT,
    trustProxy: options.trustProxy ?? false,
    genReqId: newRequestId,
    requestIdHeader: false,
    logController: new RequestLog(),
    return503OnClosing: true,
    // A path parameter may hold a percent-encoded identifier or account name (up to 256
    // characters, `%2F` for each slash): the schemas bound them, this only stops the absurd.
    routerOptions: { maxParamLength: 1024 },
    // Refusals Fastify makes before routing (an overlong or badly encoded path) and those of
    // Node's parser (headers too large) answer in the API's error body too.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) =>
      errorHandler(error, request, reply),
    clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Duplex) {
      answerClientError(err, socket, newRequestId, (details) => this.log.info(details, 'client error'))
    },
    ...(options.https ? { https: { ...serverOptions, ...options.https } } : {}),
  } as FastifyServerOptions)
  // Past this many open connections Node closes new ones at once, before they cost a file
  // descriptor for long: slow or idle clients cannot exhaust the open-file limit.
  app.server.maxConnections = limits.maxConnections
  // One client holding every slot (4,096 idle sockets) kept everyone else out until the headers
  // timeout; its own share is bounded. Behind a proxy every connection is the proxy's: not there.
  if (!(options.trustProxy ?? false)) limitConnectionsPerAddress(app.server, limits.maxConnectionsPerAddress)
  // What the services warn about goes to the same log as the requests.
  s.log = app.log

  s.metrics.process.countConnections(app.server)
  // Read at scrape time; without a log destination (route tests) the metric is left out.
  const logHealth = options.logHealth
  if (logHealth) s.metrics.logLinesDropped = () => logHealth().droppedLines
  instrumentRequests(app, s.metrics.http)

  registerJsonBody(app)
  app.setValidatorCompiler(typeboxValidatorCompiler)
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      request.id,
      answerTo('RouteNotFound', `no route ${request.method} ${echo(pathOf(request.url))}`),
    ),
  )
  // Callback-style hooks where nothing is awaited: an async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    reply.header('cache-control', 'no-store')
    // While draining, every answer closes its connection so keep-alive clients move on.
    if (options.isShuttingDown?.()) reply.header('connection', 'close')
    done()
  })

  // An answer sent before the request's body has all arrived (a refused token, a throttled
  // address) closes the connection: Node stops timing a request once it is answered, so a client
  // that never sends the rest would otherwise hold the connection open for good.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.raw.complete) reply.header('connection', 'close')
    done(null, payload)
  })

  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (request, reply) => {
    if (options.isShuttingDown?.()) {
      return sendError(reply, request.id, answerTo('ServiceUnavailable', 'the server is shutting down'))
    }
    try {
      // Reads the change sequence: the database answers, and this node has caught up with the
      // changes other nodes made (what it holds in memory is current) before it says it is ready.
      await s.changes.probe()
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed')
      return sendError(reply, request.id, answerTo('ServiceUnavailable', 'the database does not answer'))
    }
    // Every answer that reads or writes a secret writes its audit event first: a node that
    // cannot write is not ready, whatever its reads say. After a failure, or when nothing has
    // been committed for a while, a one-row probe write finds out whether writing works now.
    let writes = s.committer.health()
    if (!writes.ok || s.now() - writes.lastCommitAt > WRITE_PROBE_AFTER_MS) writes = await s.committer.probe()
    const log = options.logHealth?.()
    if (!writes.ok) {
      request.log.warn({ reason: writes.reason }, 'not ready: the audit cannot be written')
      return sendError(
        reply,
        request.id,
        answerTo(
          'AuditUnavailable',
          `the audit cannot be written (${writes.reason}), so every audited operation is refused`,
        ),
      )
    }
    return log ? { status: 'ready', log } : { status: 'ready' }
  })

  // The route table: one list per aggregate (`routes/<aggregate>-routes.ts`), the admin API's
  // first, then the developer API's.
  const routes = [
    ...adminTokenRoutes(s),
    ...instanceRoutes(s),
    ...applicationRoutes(s),
    ...credentialAdminRoutes(s),
    ...grantRoutes(s),
    ...signingKeyRoutes(s),
    ...auditRoutes(s),
    ...providerAdminRoutes(s),
    ...accountAdminRoutes(s),
    ...cloudAccountAdminRoutes(s),
    ...metricsRoutes(s),
    ...credentialRoutes(s),
    ...authenticationTokenRoutes(s),
    ...providerRoutes(s),
    ...accountRoutes(s),
    ...cloudAccountRoleRoutes(s),
    ...boundTokenRoutes(s),
  ]
  const document = openApiDocument(routes, options.version ?? '0.0.0')
  // Serialized once: 230 KB written anew for each unauthenticated request was a cheap way to
  // stall the event loop (4,000 requests held it for about a second).
  const documentJson = JSON.stringify(document)
  app.get('/openapi.json', (_request, reply) => {
    reply.type('application/json; charset=utf-8').send(documentJson)
  })
  const failures = { ...(options.authFailures ?? AUTH_FAILURES), now: s.now }
  // One budget per surface: bad admin tokens from an address do not lock its workloads out. Where
  // other processes write the database (PostgreSQL nodes, the workers of `serve --workers N`),
  // the budgets are the cluster's, kept there, as if every failure had reached one process.
  const budget = (surface: ThrottleSurface) => ({ ...failures, onRefuse: s.metrics.throttledOn(surface) })
  // An address's budget: an IPv6 address's is its /64's.
  const addressBudget = (surface: ThrottleSurface) => ({ ...budget(surface), sourceKey: addressKey })
  const throttles = {
    admin: addressThrottle(s, 'admin_address', addressBudget('admin')),
    workload: addressThrottle(s, 'workload_address', addressBudget('workload')),
  }
  // The console's session cookie is `Secure` when the browser reaches the server over HTTPS: its
  // own TLS, or a TLS proxy in front of it that the public URL names.
  const secureCookies = () => options.https != null || s.publicUrl.startsWith('https:')
  const authenticateAdmin = adminAuthentication(s, throttles.admin, secureCookies)
  for (const route of routes) registerRoute(app, s, route, throttles, authenticateAdmin)
  registerConsole(app, s, {
    files: new ConsoleFiles(
      options.consoleRoot === undefined ? packagedConsoleRoot() : options.consoleRoot,
      s.now,
    ),
    secure: secureCookies,
    meta: requestMeta,
    signIn: (request, token) =>
      throttledAdmin(s, throttles.admin, request, async (meta, auditFailure) => {
        await refuseCrossSite(s, request, meta, { auditFailure })
        return authenticateAdminToken(s, token, meta, { auditFailure })
      }),
    session: (request, secret, csrf) =>
      throttledAdmin(s, throttles.admin, request, (meta, auditFailure) =>
        authenticateConsoleRequest(s, request, secret, meta, { auditFailure, csrf }),
      ),
  })
  registerOAuthRoutes(app, s, {
    perAddress: clientThrottle(s, 'oauth_address', addressBudget('oauth')),
    perClient: clientThrottle(s, 'oauth_client', budget('oauth')),
  })
  registerOciRoutes(app, s, throttles.workload)
  return app
}

function requestMeta(request: { id: string; ip: string; headers: Record<string, unknown> }): RequestMeta {
  const ua = request.headers['user-agent']
  return {
    requestId: request.id,
    sourceIp: request.ip ?? null,
    userAgent: typeof ua === 'string' ? ua : null,
  }
}

/** `Authorization: Bearer <token>`, case-insensitive scheme; anything else is no token. */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined
  const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(header)
  return match?.[1]
}

/** NUL and lone surrogates: PostgreSQL refuses the first and would silently mangle the second. */
function rejectUnsafeStrings(values: unknown, where: string): void {
  if (typeof values !== 'object' || values === null) return
  for (const key in values) {
    if (!Object.hasOwn(values, key)) continue
    const value = (values as Record<string, unknown>)[key]
    if (typeof value === 'string' && !isSafeString(value)) {
      throw new InvalidParameter(key, `(${where}) must be well-formed Unicode without NUL characters`)
    }
  }
}

/**
 * Runs an admin authentication `attempt` against the address's admin budget. The throttle counts
 * failures and refuses only failures: a request that authenticates is served whatever its address
 * did before (behind NAT, one bad client must not lock out all). A throttled address's failures
 * are not audited one by one (`auditFailure` is false): the event written when it became
 * throttled stands for them. Only a refusal counts (a bad token, a console session's bad cookie
 * or CSRF proof); an audit or database outage does not.
 */
async function throttledAdmin<T>(
  s: Services,
  throttle: AddressThrottle,
  request: FastifyRequest,
  attempt: (meta: RequestMeta, auditFailure: AuditFailure) => Promise<T>,
): Promise<T> {
  const meta = requestMeta(request)
  const failure = failureCounter(throttle, request.ip)
  try {
    return await attempt(meta, failure.beforeAudit)
  } catch (err) {
    if (err instanceof InvalidToken || isCsrfRefusal(err)) {
      if (await failure.count()) await auditThrottled(s, meta)
    }
    throw err
  }
}

/**
 * The admin API's authentication: `Authorization: Bearer <admin token>`, or, on a request with no
 * `Authorization` header, the web console's session cookie with its CSRF token (http/console/).
 * Either way the caller is the admin token, so every route and its audit work the same.
 */
function adminAuthentication(s: Services, throttle: AddressThrottle, secureCookies: () => boolean) {
  return async (request: FastifyRequest) => {
    const secret =
      request.headers.authorization === undefined
        ? presentedSessionSecret(request, secureCookies())
        : undefined
    const token = await throttledAdmin(s, throttle, request, async (meta, auditFailure) => {
      if (secret === undefined) {
        return authenticateAdminToken(s, bearerToken(request.headers.authorization), meta, { auditFailure })
      }
      const active = await authenticateConsoleRequest(s, request, secret, meta, { auditFailure, csrf: true })
      return active.token
    })
    request.adminTokenName = token.name
    request.caller = {
      actor: { type: 'admin_token', id: token.id },
      instanceScope: token.instance_id,
      request: requestMeta(request),
    }
  }
}

/** Closes a new connection at once when its address (`addressKey`) already holds `max` open ones. */
function limitConnectionsPerAddress(
  server: { on(event: 'connection', listener: (socket: Socket) => void): unknown },
  max: number,
) {
  const open = new Map<string, number>()
  server.on('connection', (socket) => {
    const key = addressKey(socket.remoteAddress ?? 'unknown')
    const count = open.get(key) ?? 0
    if (count >= max) {
      socket.destroy()
      return
    }
    open.set(key, count + 1)
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1
      if (left > 0) open.set(key, left)
      else open.delete(key)
    })
  })
}

/** The largest body a route without authentication takes. */
export const UNAUTHENTICATED_BODY_LIMIT = 32 * 1024

function registerRoute(
  app: FastifyInstance,
  s: Services,
  route: RouteSpec,
  throttles: { admin: AddressThrottle; workload: AddressThrottle },
  authenticate: (request: FastifyRequest) => Promise<void>,
): void {
  const bodyOptional =
    route.body !== undefined && ((route.body as { required?: string[] }).required ?? []).length === 0
  const schema: Record<string, unknown> = {}
  if (route.params) schema.params = route.params
  if (route.querystring) schema.querystring = route.querystring
  if (route.body) schema.body = route.body
  if (route.success.schema) schema.response = { [route.success.status]: route.success.schema }
  const authenticateWorkloadRequest = async (request: FastifyRequest) => {
    const meta = requestMeta(request)
    const throttle = throttles.workload
    const instanceId = String((request.params as Record<string, unknown>).instanceId ?? '')
    // Authentication runs before schema validation, and its refusals are audited: a malformed
    // instance id is refused here, before anything is written.
    if (!INSTANCE_ID.test(instanceId)) {
      throw new InvalidParameter('instanceId', `(path parameter) must match ${INSTANCE_ID.source}`)
    }
    const failure = failureCounter(throttle, request.ip)
    try {
      // The DPoP proof, when the token is key-bound, is over this request as the client addressed
      // it: `publicUrl` and the path (RFC 9449 §4.3), checked only for such a token.
      const workload = await authenticateWorkload(
        s,
        instanceId,
        presentedToken(request.headers.authorization),
        meta,
        { proof: request.headers.dpop, method: request.method, url: request.url },
        { auditFailure: failure.beforeAudit },
      )
      request.caller = {
        actor: { type: 'application', id: workload.applicationId },
        instanceScope: instanceId,
        request: meta,
        workload,
      }
    } catch (err) {
      // Every refused authentication counts, a refused DPoP proof or session too;
      // an address past its budget gets 429 for its failures, never for a token that works.
      if (isAuthenticationFailure(err)) {
        if (await failure.count()) await auditThrottled(s, meta, 'pam.authenticate')
      }
      throw err
    }
  }
  const onRequest =
    route.auth === 'admin'
      ? { onRequest: authenticate }
      : route.auth === 'workload'
        ? { onRequest: authenticateWorkloadRequest }
        : {}
  app.route({
    method: route.method,
    url: route.url,
    schema,
    // A route anyone may call parses its body before any budget is spent: a small one (Validate's
    // token is 16 KiB at most). At the global limit a reviewer's 250 KB bodies cost 16 ms each.
    ...(route.auth === 'none' ? { bodyLimit: UNAUTHENTICATED_BODY_LIMIT } : {}),
    // Authentication runs before the body is parsed or validated: no token, no work.
    ...onRequest,
    preValidation: (request, _reply, done) => {
      // A POST whose body fields are all optional may come with no body at all (`curl -X POST`).
      if (request.body === undefined && bodyOptional) request.body = {}
      try {
        rejectUnsafeStrings(request.params, 'path parameter')
        rejectUnsafeStrings(request.query, 'query parameter')
      } catch (err) {
        done(err as Error)
        return
      }
      done()
    },
    handler: async (request, reply) => {
      const caller = request.caller
      if (route.auth !== 'none' && !caller) throw new InvalidToken()
      const result = await route.handler({
        params: (request.params ?? {}) as Record<string, string>,
        query: (request.query ?? {}) as Record<string, unknown>,
        body: request.body,
        caller: caller ?? {
          actor: { type: 'anonymous', id: 'anonymous' },
          instanceScope: null,
          request: requestMeta(request),
        },
        request,
        reply,
      })
      if (route.success.status === 204) return reply.code(204).send()
      if (route.success.contentType) reply.type(route.success.contentType)
      return reply.code(route.success.status).send(result)
    },
  })
}
