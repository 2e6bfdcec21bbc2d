// A stand-in for AWS STS (API version 2011-06-15, Query API, XML answers): AssumeRole with a
// long-lived key, and GetCallerIdentity with a long-lived key or with temporary credentials it issued,
// which must carry `X-Amz-Security-Token` (header or parameter) equal to the issued session token.
// Every request's SigV4 signature is verified (sigv4-verify.ts) for service `sts` and the stand-in's
// region. Errors are answered as STS answers them:
//   <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
//     <Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error><RequestId>…</RequestId>
//   </ErrorResponse>
// Codes: MissingAuthenticationToken, IncompleteSignature, InvalidClientTokenId (unknown key, or a
// temporary key without its token / with another), ExpiredTokenException, SignatureDoesNotMatch
// (wrong signature, scope, or a date more than 15 minutes off), XAmzContentSHA256Mismatch,
// InvalidAction, ValidationError (RoleArn, RoleSessionName, DurationSeconds, the role's maximum),
// AccessDenied (unknown role, a key the role does not trust, a wrong ExternalId),
// MalformedPolicyDocument, and per mode Throttling (400), InternalFailure (500), ServiceUnavailable (503).

import { randomUUID } from 'node:crypto'
import { verifySigV4Request } from './sigv4-verify.js'
import {
  ALNUM,
  header,
  isoSeconds,
  type ReceivedRequest,
  randomText,
  requestParams,
  SESSION_NAME,
  type StandInAnswer,
  StandInState,
  serveStandIn,
  sleep,
  stableId,
  UPPER_ALNUM,
} from './stand-in-http.js'
import type { AwsStsStandInOptions, StsStandIn, StsStandInMode, StsStandInRequest } from './types.js'

const NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/'
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/

interface Outcome {
  readonly answer: StandInAnswer
  readonly code: string | undefined
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`,
  )
}

/**
 * Starts an AWS STS stand-in on 127.0.0.1 (HTTPS with `options.tls`). Its `url` is the origin to
 * configure as the cloud account's `stsEndpoint`, or as the AWS SDK's `endpoint`.
 */
export async function startAwsStsStandIn(options: AwsStsStandInOptions = {}): Promise<StsStandIn> {
  const now = options.now ?? Date.now
  const maxSkewMs = options.maxSkewMs ?? 15 * 60_000
  const region = options.region ?? 'us-east-1'
  const state = new StandInState(options)

  const xml = (
    status: number,
    body: string,
    code: string | undefined,
    requestId: string,
    headers = {},
  ): Outcome => ({
    answer: {
      status,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, ...headers },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}\n`,
    },
    code,
  })
  const error = (
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ): Outcome => {
    const requestId = randomUUID()
    const type = status >= 500 ? 'Receiver' : 'Sender'
    return xml(
      status,
      `<ErrorResponse xmlns="${NAMESPACE}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${code}</Code>\n    <Message>${escapeXml(message)}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>`,
      code,
      requestId,
      headers,
    )
  }
  const validation = (value: string | undefined, field: string, constraint: string): Outcome =>
    error(
      400,
      'ValidationError',
      `1 validation error detected: Value ${value === undefined ? 'null' : `'${value}'`} at '${field}' failed to satisfy constraint: ${constraint}`,
    )

  const secretOf = (accessKeyId: string): string | undefined =>
    state.keys.get(accessKeyId) ?? state.issuedFor(accessKeyId)?.accessKeySecret

  const assumeRole = (params: Map<string, string>, accessKeyId: string, mode: StsStandInMode): Outcome => {
    const roleArn = params.get('RoleArn')
    if (roleArn === undefined || roleArn.length < 20 || roleArn.length > 2048) {
      return validation(roleArn, 'roleArn', 'Member must have length greater than or equal to 20')
    }
    const sessionName = params.get('RoleSessionName')
    if (sessionName === undefined || !SESSION_NAME.test(sessionName)) {
      return validation(
        sessionName,
        'roleSessionName',
        'Member must satisfy regular expression pattern: [\\w+=,.@-]*',
      )
    }
    const durationText = params.get('DurationSeconds') ?? '3600'
    const duration = /^\d{1,6}$/.test(durationText) ? Number(durationText) : Number.NaN
    if (!(duration >= 900)) {
      return validation(
        durationText,
        'durationSeconds',
        'Member must have value greater than or equal to 900',
      )
    }
    if (duration > 43_200) {
      return validation(durationText, 'durationSeconds', 'Member must have value less than or equal to 43200')
    }
    const externalId = params.get('ExternalId')
    if (externalId !== undefined && !/^[\w+=,.@:/-]{2,1224}$/.test(externalId)) {
      return validation(
        externalId,
        'externalId',
        'Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*',
      )
    }
    const policy = params.get('Policy')
    if (policy !== undefined) {
      try {
        const parsed: unknown = JSON.parse(policy)
        if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object')
      } catch {
        return error(400, 'MalformedPolicyDocument', 'The policy is not in the valid JSON format.')
      }
    }
    const role = state.roles.get(roleArn)
    const arnParts = ROLE_ARN.exec(roleArn)
    const caller = `arn:aws:iam::${arnParts?.[1] ?? '000000000000'}:user/${accessKeyId}`
    if (
      !role ||
      !arnParts ||
      !role.trustedKeyIds.includes(accessKeyId) ||
      (role.externalId !== undefined && externalId !== role.externalId)
    ) {
      return error(
        403,
        'AccessDenied',
        `User: ${caller} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      )
    }
    if (duration > (role.maxSessionDurationSeconds ?? 3600)) {
      return error(
        400,
        'ValidationError',
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      )
    }
    const roleId = `AROA${stableId(roleArn, UPPER_ALNUM, 17)}`
    const expiration = Math.floor(now() / 1000) * 1000 + duration * 1000
    const credential = {
      accessKeyId: `ASIA${randomText(UPPER_ALNUM, 16)}`,
      accessKeySecret: randomText(`${ALNUM}+/`, 40),
      securityToken: `IQoJb3JpZ2luX2Vj${randomText(`${ALNUM}+/`, 340)}`,
      expiration,
      roleArn,
      sessionName,
      durationSeconds: duration,
      sourceAccessKeyId: accessKeyId,
      assumedRoleId: `${roleId}:${sessionName}`,
      assumedRoleArn: `arn:aws:sts::${arnParts[1]}:assumed-role/${arnParts[2]}/${sessionName}`,
    }
    state.issued.push(credential)
    const requestId = randomUUID()
    const token =
      mode === 'missing-field'
        ? ''
        : `\n      <SessionToken>${escapeXml(credential.securityToken)}</SessionToken>`
    return xml(
      200,
      `<AssumeRoleResponse xmlns="${NAMESPACE}">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <AssumedRoleId>${escapeXml(credential.assumedRoleId)}</AssumedRoleId>
      <Arn>${escapeXml(credential.assumedRoleArn)}</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${credential.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${escapeXml(credential.accessKeySecret)}</SecretAccessKey>${token}
      <Expiration>${isoSeconds(expiration)}</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>${requestId}</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>`,
      undefined,
      requestId,
    )
  }

  const getCallerIdentity = (accessKeyId: string): Outcome => {
    const temporary = state.issuedFor(accessKeyId)
    const account = temporary ? (ROLE_ARN.exec(temporary.roleArn)?.[1] ?? '000000000000') : '000000000000'
    const arn = temporary ? temporary.assumedRoleArn : `arn:aws:iam::${account}:user/${accessKeyId}`
    const userId = temporary ? temporary.assumedRoleId : `AIDA${stableId(accessKeyId, UPPER_ALNUM, 17)}`
    const requestId = randomUUID()
    return xml(
      200,
      `<GetCallerIdentityResponse xmlns="${NAMESPACE}">
  <GetCallerIdentityResult>
    <Arn>${escapeXml(arn)}</Arn>
    <UserId>${escapeXml(userId)}</UserId>
    <Account>${account}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>${requestId}</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>`,
      undefined,
      requestId,
    )
  }

  const respond = (
    request: ReceivedRequest,
    params: Map<string, string> | undefined,
    duplicate: string | undefined,
    mode: StsStandInMode,
    retryAfterSeconds: number | undefined,
  ): Outcome => {
    switch (mode) {
      case 'throttle':
        return error(
          400,
          'Throttling',
          'Rate exceeded',
          retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
        )
      case 'internal-error':
        return error(
          500,
          'InternalFailure',
          'The request processing has failed because of an unknown error, exception or failure.',
        )
      case 'unavailable':
        return error(
          503,
          'ServiceUnavailable',
          'The request has failed due to a temporary failure of the server.',
        )
      case 'not-sts':
        return {
          answer: {
            status: 200,
            headers: { 'content-type': 'text/html' },
            body: '<html><body>Welcome</body></html>',
          },
          code: undefined,
        }
      default:
        break
    }
    const verified = verifySigV4Request(request, { service: 'sts', region, now: now(), maxSkewMs, secretOf })
    if ('refusal' in verified) {
      const { status, code, message } = verified.refusal
      return error(status, code, message)
    }
    if (!params)
      return error(400, 'InvalidParameterCombination', `The parameter ${duplicate} is given more than once.`)
    const accessKeyId = verified.authorization.accessKeyId
    const temporary = state.issuedFor(accessKeyId)
    if (temporary) {
      const token = header(request.rawHeaders, 'x-amz-security-token') ?? params.get('X-Amz-Security-Token')
      if (token !== temporary.securityToken) {
        return error(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.')
      }
      if (now() >= temporary.expiration) {
        return error(400, 'ExpiredTokenException', 'The security token included in the request is expired')
      }
    }
    const action = params.get('Action')
    if (
      params.get('Version') !== '2011-06-15' ||
      (action !== 'AssumeRole' && action !== 'GetCallerIdentity')
    ) {
      return error(
        400,
        'InvalidAction',
        `Could not find operation ${action} for version ${params.get('Version')}`,
      )
    }
    return action === 'AssumeRole' ? assumeRole(params, accessKeyId, mode) : getCallerIdentity(accessKeyId)
  }

  const server = await serveStandIn(options.tls, async (request) => {
    const at = now()
    const parsed = requestParams(request)
    const params = 'params' in parsed ? parsed.params : undefined
    const action = params?.get('Action')
    if (action === 'AssumeRole') state.calls++
    const { mode, options: modeOptions } = state.modes.take()
    const credential = /Credential=([^/,\s]+)\//.exec(header(request.rawHeaders, 'authorization') ?? '')?.[1]
    const record = (status: number, code: string | undefined): void => {
      const duration = params?.get('DurationSeconds')
      const entry: StsStandInRequest = {
        at,
        method: request.method,
        action,
        params: Object.fromEntries(params ?? []),
        accessKeyId: credential,
        roleArn: params?.get('RoleArn'),
        sessionName: params?.get('RoleSessionName'),
        durationSeconds: duration === undefined ? undefined : Number(duration),
        status,
        code,
        mode,
      }
      state.requests.push(entry)
    }
    if (mode === 'hang') {
      record(0, undefined)
      return 'hang'
    }
    if (mode === 'slow') await sleep(modeOptions.delayMs ?? 2000)
    const outcome = respond(
      request,
      params,
      'duplicate' in parsed ? parsed.duplicate : undefined,
      mode,
      modeOptions.retryAfterSeconds,
    )
    record(outcome.answer.status, outcome.code)
    return outcome.answer
  })
  return state.api(server)
}
