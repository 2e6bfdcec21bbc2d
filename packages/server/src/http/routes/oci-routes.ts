import { isUtf8 } from 'node:buffer'
import type { TSchema } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import {
  type ErrorBody,
  GenerateScopedAccessTokenDetails,
  GenerateUserSecurityTokenDetails,
  InstanceId,
  OCI_API_VERSION_PATH,
  OCI_GENERATE_SCOPED_ACCESS_TOKEN_PATH,
  OCI_GENERATE_USER_SECURITY_TOKEN_PATH,
  OCI_PATH_PREFIX,
  type OciErrorBody,
  OciSecurityToken,
} from '@strongroom/protocol'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { RequestMeta } from '../../audit/appender.js'
import { echo, InvalidParameter, isAuthenticationFailure, PamError } from '../../errors.js'
import { auditThrottled } from '../../services/best-effort.js'
import { authenticateOciRequest, type OciAuthenticated } from '../../services/oci/authenticate-oci-request.js'
import {
  generateScopedAccessToken,
  generateUserSecurityToken,
} from '../../services/oci/generate-security-tokens.js'
import type { Services } from '../../services.js'
import { answerTo, sendError } from '../error-handler.js'
import { checkJsonBody } from '../json-body.js'
import { pathOf } from '../request-log.js'
import { type AddressThrottle, failureCounter } from '../shared-failure-throttle.js'
import { typeboxValidatorCompiler } from '../validation.js'

const params = Type.Object({ instanceId: InstanceId }, { additionalProperties: false })
type OciRequest = FastifyRequest<{ Params: { instanceId: string } }>

/**
 * OCI's common API error codes (OCI's "API Errors" table), by the HTTP status strongroom's error
 * handler chose: the OCI SDKs read `code` and `message` of the body into an `OciError`.
 */
const OCI_ERROR_CODES: Readonly<Record<number, string>> = {
  400: 'InvalidParameter',
  401: 'NotAuthenticated',
  403: 'NotAuthorized',
  404: 'NotAuthorizedOrNotFound',
  405: 'MethodNotAllowed',
  408: 'RequestTimeout',
  409: 'Conflict',
  413: 'CannotParseRequest',
  415: 'CannotParseRequest',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  501: 'MethodNotImplemented',
  502: 'ServiceUnavailable',
  503: 'ServiceUnavailable',
  504: 'ServiceUnavailable',
}

/** strongroom codes whose OCI counterpart is more precise than their status's. */
const OCI_CODE_OF: Readonly<Record<string, string>> = {
  'InvalidParameter.Body': 'CannotParseRequest',
  'InvalidParameter.Encoding': 'CannotParseRequest',
  'InvalidParameter.ContentType': 'CannotParseRequest',
  RouteNotFound: 'NotFound',
}

/** The challenge of a refused signature (draft-cavage §3.1.1): what must be signed. */
const SIGNATURE_CHALLENGE =
  'Signature headers="(request-target) host date content-length content-type x-content-sha256"'

/**
 * OCI's identity data plane under `{publicUrl}/oci/{instanceId}` (the OCI client's endpoint; it
 * appends `/v1`): `GenerateScopedAccessToken` and `GenerateUserSecurityToken`, with the paths,
 * bodies and answers of the official OCI SDKs (`oci-identitydataplane`'s `DataplaneClient`), signed
 * with OCI request signatures by a key registered for the application (`app key add`).
 *
 * In a Fastify scope of their own, because the OCI wire differs from the rest of the API in two
 * ways: a signature is over the body's exact bytes (`x-content-sha256`), so bodies are kept as
 * received and parsed only after the signature is verified; and every refusal is OCI's error body
 * (`{ code, message }`, the request id in `opc-request-id`), translated from the one error handler's
 * answer (its status and code decide; nothing here chooses a status). A failed signature counts
 * against the source address like any failed workload authentication (`throttle`).
 */
export function registerOciRoutes(app: FastifyInstance, s: Services, throttle: AddressThrottle): void {
  app.register(
    async (scope) => {
      // Bodies stay bytes: the signature is over them. JSON is parsed once the signature holds.
      scope.removeAllContentTypeParsers()
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body: Buffer, done) =>
        done(null, body),
      )
      scope.addHook('onRequest', (request, reply, done) => {
        reply.header('opc-request-id', request.id)
        done()
      })
      scope.addHook('onSend', (_request, reply, payload, done) => done(null, ociErrorPayload(reply, payload)))
      scope.setNotFoundHandler((request, reply) =>
        sendError(
          reply,
          request.id,
          answerTo('RouteNotFound', `no route ${request.method} ${echo(pathOf(request.url))}`),
        ),
      )

      const signed =
        <B, T>(schema: TSchema, run: (who: OciAuthenticated, instanceId: string, body: B) => Promise<T>) =>
        async (request: OciRequest): Promise<T> => {
          const instanceId = request.params.instanceId
          const who = await authenticate(s, throttle, request, instanceId)
          request.caller = who.caller
          return run(who, instanceId, jsonBody<B>(request, schema))
        }
      const route = { schema: { params, response: { 200: OciSecurityToken } } }
      const v1 = `/:instanceId${OCI_API_VERSION_PATH}`
      scope.post(
        `${v1}${OCI_GENERATE_SCOPED_ACCESS_TOKEN_PATH}`,
        route,
        signed(GenerateScopedAccessTokenDetails, (who, instanceId, body: GenerateScopedAccessTokenDetails) =>
          generateScopedAccessToken(s, who, instanceId, body),
        ),
      )
      scope.post(
        `${v1}${OCI_GENERATE_USER_SECURITY_TOKEN_PATH}`,
        route,
        signed(GenerateUserSecurityTokenDetails, (who, instanceId, body: GenerateUserSecurityTokenDetails) =>
          generateUserSecurityToken(s, who, instanceId, body),
        ),
      )
    },
    { prefix: OCI_PATH_PREFIX },
  )
}

/**
 * The signature, before anything of the body is read: throttled per source address like the
 * developer API's authentication (an address past its budget gets 429 for its failures, never for
 * a signature that verifies; while throttled its refusals are not audited one by one).
 */
async function authenticate(
  s: Services,
  throttle: AddressThrottle,
  request: OciRequest,
  instanceId: string,
): Promise<OciAuthenticated> {
  const meta = requestMeta(request)
  const failure = failureCounter(throttle, request.ip)
  try {
    return await authenticateOciRequest(
      s,
      instanceId,
      {
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: Buffer.isBuffer(request.body) ? request.body : undefined,
        meta,
      },
      { auditFailure: failure.beforeAudit },
    )
  } catch (err) {
    if (isAuthenticationFailure(err)) {
      if (await failure.count()) await auditThrottled(s, meta, 'pam.authenticate')
    }
    throw err
  }
}

function requestMeta(request: FastifyRequest): RequestMeta {
  const ua = request.headers['user-agent']
  return {
    requestId: request.id,
    sourceIp: request.ip ?? null,
    userAgent: typeof ua === 'string' ? ua : null,
  }
}

const validators = new WeakMap<TSchema, ReturnType<typeof typeboxValidatorCompiler>>()

/**
 * The body, once its signature holds, as the rest of the API reads JSON (json-body.ts): a JSON
 * media type, UTF-8, no duplicate or prototype-polluting keys, then the schema; each refusal a 400
 * naming the field.
 */
function jsonBody<B>(request: FastifyRequest, schema: TSchema): B {
  const contentType = String(request.headers['content-type'] ?? '')
  if (!/^application\/json\s*(;|$)/i.test(contentType))
    throw new PamError('InvalidParameter.ContentType', 'the request body must be application/json', {
      field: 'content-type',
      rule: 'must be application/json',
    })
  const bytes = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
  if (bytes.length === 0)
    throw new InvalidParameter('body', 'must be a JSON object, not empty', 'InvalidParameter.Body')
  if (!isUtf8(bytes)) throw new InvalidParameter('body', 'is not valid UTF-8', 'InvalidParameter.Encoding')
  const text = bytes.toString('utf8')
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new InvalidParameter('body', 'is not valid JSON', 'InvalidParameter.Body')
  }
  const unsafe = checkJsonBody(text, parsed)
  if (unsafe) throw unsafe
  let validate = validators.get(schema)
  if (!validate) {
    validate = typeboxValidatorCompiler({ schema, httpPart: 'body', method: 'POST', url: '' })
    validators.set(schema, validate)
  }
  const result = validate(parsed) as { value?: unknown; error?: Error }
  if (result.error) throw result.error
  return result.value as B
}

/**
 * The error handler's answer in OCI's shape: `{ code, message }` with OCI's code for the status
 * (or for the strongroom code, where OCI has a closer one: `MissingParameter` for a field that is
 * required, `CannotParseRequest` for a body that is no JSON…), and a signature challenge in place
 * of a bearer one. A success passes unchanged.
 */
function ociErrorPayload(reply: FastifyReply, payload: unknown): unknown {
  const byStatus = OCI_ERROR_CODES[reply.statusCode]
  if (byStatus === undefined || typeof payload !== 'string') return payload
  let answered: Partial<ErrorBody>
  try {
    answered = JSON.parse(payload) as Partial<ErrorBody>
  } catch {
    return payload
  }
  if (typeof answered.Code !== 'string' || typeof answered.Message !== 'string') return payload
  if (reply.hasHeader('www-authenticate')) reply.header('www-authenticate', SIGNATURE_CHALLENGE)
  const code = OCI_CODE_OF[answered.Code] ?? (answered.rule === 'is required' ? 'MissingParameter' : byStatus)
  const body: OciErrorBody = { code, message: answered.Message }
  return JSON.stringify(body)
}
