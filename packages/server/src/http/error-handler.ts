import type { ErrorBody, ErrorCode } from '@strongroom/protocol'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { PamError } from '../errors.js'
import { dpopChallenge, isDpopChallenged } from '../oauth/proof-of-possession/dpop-challenge.js'

interface AjvError {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

export interface Mapped {
  status: number
  code: ErrorCode
  message: string
  field?: string | undefined
  rule?: string | undefined
  retryAfterSeconds?: number | undefined
  oauthError?: string | undefined
  /** `DPoP` when a key-bound token or its proof was refused: the challenge names that scheme. */
  challenge?: 'DPoP' | undefined
}

/**
 * The one place where errors become HTTP: domain errors keep their status and code, schema
 * failures become 400 naming the field and the rule, framework errors map to their 4xx, and
 * anything unexpected is a 500 whose body says nothing but the request id (details go to the log).
 */
export function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  const mapped = mapError(error)
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
    error: oauthError(m),
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

function mapError(error: FastifyError | Error): Mapped {
  if (error instanceof PamError) {
    return {
      status: error.status,
      code: error.code,
      message: error.message,
      field: error.field,
      rule: error.rule,
      retryAfterSeconds: error.retryAfterSeconds,
      oauthError: error.oauthError,
      challenge: isDpopChallenged(error) ? 'DPoP' : undefined,
    }
  }
  const fe = error as FastifyError & { validation?: AjvError[]; validationContext?: string }
  if (fe.validation && fe.validation.length > 0)
    return fromValidation(fe.validation[0]!, fe.validationContext ?? 'body')
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        code: 'PayloadTooLarge',
        message: 'the request body is larger than this server accepts',
        field: 'body',
      }
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return {
        status: 414,
        code: 'UriTooLong',
        message: 'a path segment of the request is longer than this server accepts',
        field: 'path',
      }
    case 'FST_ERR_BAD_URL':
      return {
        status: 400,
        code: 'InvalidParameter',
        message: 'the request path is not valid percent-encoding',
        field: 'path',
      }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        code: 'InvalidParameter.ContentType',
        message: 'the request body must be application/json',
        field: 'content-type',
      }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        code: 'InvalidParameter.Body',
        message: 'body must be a JSON object, not empty',
        field: 'body',
      }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        status: 400,
        code: 'InvalidParameter.Body',
        message: 'content-length does not match the body',
        field: 'body',
      }
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, code: 'InvalidParameter', message: fe.message }
  }
  return {
    status: 500,
    code: 'InternalError',
    message: 'an internal error occurred; the request id identifies it in the server log',
  }
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
  return { status: 400, code: 'InvalidParameter', message: `${where} ${field} ${rule}`, field, rule }
}

function oauthError(m: Mapped): string {
  if (m.oauthError !== undefined) return m.oauthError
  if (m.status === 401) return 'invalid_token'
  if (m.status === 403) return 'insufficient_scope'
  if (m.status === 400 || m.status === 413 || m.status === 414 || m.status === 415 || m.status === 431)
    return 'invalid_request'
  if (m.status === 429) return 'slow_down'
  if (m.status === 503) return 'temporarily_unavailable'
  if (m.status >= 500) return 'server_error'
  return m.code
}
