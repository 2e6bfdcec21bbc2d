import { ERROR_STATUS, type ErrorBody, type ErrorCode } from '@strongroom/protocol'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { IntegrityError, PamError } from '../errors.js'
import { dpopChallenge, isDpopChallenged } from '../oauth/proof-of-possession/dpop-challenge.js'
import { isDatabaseUnavailable } from '../store/postgres-pool.js'
import { isUniqueViolation } from '../store/unique-violation.js'

/**
 * `Retry-After` of an answer that says "unavailable for now" without a wait of its own (a database
 * outage, an audit that cannot be written): soon, since a node recovers by itself once the
 * database is back, and a load balancer may send the retry to another node meanwhile.
 */
export const UNAVAILABLE_RETRY_AFTER_S = 2
const UNAVAILABLE_CODES: ReadonlySet<ErrorCode> = new Set(['ServiceUnavailable', 'AuditUnavailable'])

interface AjvError {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

/**
 * Who is answering: a resource (every route of the API), or the OAuth endpoints (token,
 * introspection, revocation), which answer a code with its `atOAuthEndpoint` entry in
 * `ERROR_STATUS` where it has one: RFC 6749 §5.2 wants a refused request 400 with its `error`
 * (a refused DPoP proof, a body that is not a form, a client revoking another's token).
 */
export type Surface = 'resource' | 'oauth-endpoint'

export interface Mapped {
  status: number
  code: ErrorCode
  message: string
  /** The body's `error`: the code's OAuth `error`, or the code itself where none applies. */
  oauthError: string
  field?: string | undefined
  rule?: string | undefined
  retryAfterSeconds?: number | undefined
  /** `DPoP` when a key-bound token or its proof was refused: the challenge names that scheme. */
  challenge?: 'DPoP' | undefined
}

type Details = Pick<Mapped, 'field' | 'rule' | 'retryAfterSeconds' | 'challenge'>

/**
 * The answer to an error `code` on `surface`: its status and OAuth `error` as `ERROR_STATUS`
 * gives them, the only place a status is chosen for a code.
 */
export function answerTo(
  code: ErrorCode,
  message: string,
  details: Details = {},
  surface: Surface = 'resource',
): Mapped {
  const entry = ERROR_STATUS[code]
  const here = surface === 'oauth-endpoint' ? { ...entry, ...entry.atOAuthEndpoint } : entry
  const retryAfterSeconds =
    details.retryAfterSeconds ?? (UNAVAILABLE_CODES.has(code) ? UNAVAILABLE_RETRY_AFTER_S : undefined)
  return {
    status: here.status,
    code,
    message,
    oauthError: here.oauthError ?? code,
    ...details,
    retryAfterSeconds,
  }
}

/**
 * The one place where errors become HTTP: a domain error is answered with its code's status and
 * `error` from `ERROR_STATUS`, schema failures become 400 naming the field and the rule, framework
 * errors map to their codes, and anything unexpected is a 500 whose body says nothing but the
 * request id (details go to the log).
 */
export function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  return answerError(error, request, reply, 'resource')
}

/**
 * The error handler of the OAuth endpoints' scope (`http/routes/oauth-routes.ts`): the same, but
 * their own refusals are answered as RFC 6749 §5.2 asks (`Surface`). A request the framework
 * refuses before the endpoint runs (a content type no parser takes: 415) is answered as anywhere.
 */
export function oauthEndpointErrorHandler(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  return answerError(error, request, reply, 'oauth-endpoint')
}

function answerError(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
  surface: Surface,
) {
  const mapped = mapError(error, surface)
  if (mapped.status >= 500) {
    request.log.error({ err: error, code: mapped.code }, 'request failed')
  } else {
    request.log.info({ code: mapped.code, status: mapped.status }, 'request refused')
  }
  return sendError(reply, request.id, mapped)
}

/** The error body of docs/wire-contract.md: both key sets, and `field` and `rule` where known. */
export function errorBody(requestId: string, m: Mapped): ErrorBody {
  const body: ErrorBody = {
    Code: m.code,
    Message: m.message,
    RequestId: requestId,
    error: m.oauthError,
    error_description: m.message,
    request_id: requestId,
  }
  if (m.field !== undefined) body.field = m.field
  if (m.rule !== undefined) body.rule = m.rule
  return body
}

export function sendError(reply: FastifyReply, requestId: string, m: Mapped) {
  const body = errorBody(requestId, m)
  if (m.status === 401) {
    // RFC 6749 §5.2: a client that failed to authenticate is told how to; a bearer token, why not;
    // a key-bound token or its proof, in the DPoP scheme (RFC 9449 §7.1).
    reply.header(
      'www-authenticate',
      m.challenge === 'DPoP'
        ? dpopChallenge(body.error)
        : m.oauthError === 'invalid_client'
          ? 'Basic realm="strongroom"'
          : 'Bearer error="invalid_token"',
    )
  }
  if (m.retryAfterSeconds !== undefined) {
    reply.header('retry-after', String(m.retryAfterSeconds))
    reply.header('x-acs-retry-after', String(m.retryAfterSeconds * 1000))
  }
  return reply.code(m.status).type('application/json; charset=utf-8').send(body)
}

/**
 * What a caller is told of a stored value that failed its integrity check: that it did, not which
 * table, row or key (the log has those, under the request id, and the audit event its resource).
 * The caller may be a workload, and the detail would tell it where tampering was noticed.
 */
const INTEGRITY_FAILED =
  'a stored value failed its integrity check, so it was not answered; the server log has the details under this request id'

function mapError(error: FastifyError | Error, surface: Surface): Mapped {
  if (error instanceof IntegrityError) return answerTo('IntegrityError', INTEGRITY_FAILED, {}, surface)
  if (error instanceof PamError) {
    return answerTo(
      error.code,
      error.message,
      {
        field: error.field,
        rule: error.rule,
        retryAfterSeconds: error.retryAfterSeconds,
        challenge: isDpopChallenged(error) ? 'DPoP' : undefined,
      },
      surface,
    )
  }
  const fe = error as FastifyError & { validation?: AjvError[]; validationContext?: string }
  if (fe.validation && fe.validation.length > 0)
    return fromValidation(fe.validation[0]!, fe.validationContext ?? 'body')
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return answerTo('PayloadTooLarge', 'the request body is larger than this server accepts', {
        field: 'body',
      })
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return answerTo('UriTooLong', 'a path segment of the request is longer than this server accepts', {
        field: 'path',
      })
    case 'FST_ERR_BAD_URL':
      return answerTo('InvalidParameter', 'the request path is not valid percent-encoding', {
        field: 'path',
      })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return answerTo('InvalidParameter.ContentType', 'the request body must be application/json', {
        field: 'content-type',
      })
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return answerTo('InvalidParameter.Body', 'body must be a JSON object, not empty', { field: 'body' })
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return answerTo('InvalidParameter.Body', 'content-length does not match the body', { field: 'body' })
  }
  // A row another request inserted between a service's check and its insert (PostgreSQL nodes):
  // a conflict to retry, for any service that does not map it to its own 409 (the creates do).
  if (causes(error).some((e) => isUniqueViolation(e))) {
    return answerTo(
      'Conflict',
      'a concurrent request created or changed the same thing first; read it again, and retry if still needed',
    )
  }
  // A database that is down, restarting or timing out is unavailable for now, not broken.
  if (isDatabaseUnavailable(error)) {
    return answerTo('ServiceUnavailable', 'the database is unavailable; retry later')
  }
  // Any other 4xx of the framework's keeps its status: it is Fastify's answer, not a domain error.
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { ...answerTo('InvalidParameter', fe.message), status: fe.statusCode }
  }
  return answerTo(
    'InternalError',
    'an internal error occurred; the request id identifies it in the server log',
  )
}

/** `error` and the errors of its `cause` chain, at most five deep. */
function causes(error: unknown): unknown[] {
  const found: unknown[] = []
  for (let current = error, depth = 0; depth < 5 && current instanceof Error; depth++) {
    found.push(current)
    current = current.cause
  }
  return found
}

function fromValidation(e: AjvError, context: string): Mapped {
  const base = e.instancePath.replace(/^\//, '').replaceAll('/', '.')
  const join = (extra: unknown) => [base, String(extra)].filter((p) => p !== '').join('.')
  let field = base
  let rule = e.message ?? 'is invalid'
  if (e.keyword === 'required') {
    field = join(e.params.missingProperty)
    rule = 'is required'
  } else if (e.keyword === 'additionalProperties') {
    field = join(e.params.additionalProperty)
    rule = 'is not a known field'
  } else if (e.keyword === 'type' && base === '' && context === 'body') {
    rule = `must be a JSON ${String(e.params.type)}`
  }
  if (field === '') field = context === 'querystring' ? 'query' : context
  const where =
    context === 'querystring' ? 'query parameter' : context === 'params' ? 'path parameter' : 'field'
  return answerTo('InvalidParameter', `${where} ${field} ${rule}`, { field, rule })
}
