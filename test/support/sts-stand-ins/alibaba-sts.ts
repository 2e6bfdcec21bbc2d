// A stand-in for Alibaba Cloud STS (API version 2015-04-01, RPC style, JSON answers): AssumeRole with
// a long-lived key, and GetCallerIdentity with a long-lived key or with temporary credentials it
// issued (+ the `SecurityToken` parameter). Every request's signature is verified (rpc-verify.ts);
// errors are answered as Alibaba's gateway and STS answer them:
//   { "RequestId", "HostId", "Code", "Message", "Recommend" }
// Codes: MissingAccessKeyId / MissingSignature / …, InvalidSignatureMethod, InvalidTimeStamp.Format,
// InvalidTimeStamp.Expired, SignatureNonceUsed, InvalidAccessKeyId.NotFound (404),
// SignatureDoesNotMatch (with the server's string to sign, which Alibaba's SDK compares with its
// own), MissingSecurityToken, InvalidSecurityToken.MismatchWithAccessKey / .Expired,
// InvalidVersion, InvalidApi.NotFound (404), MissingRoleArn, EntityNotExist.Role (404),
// NoPermission (403: the key is not trusted, or the ExternalId is wrong), MissingRoleSessionName,
// InvalidParameter.RoleSessionName, InvalidParameter.DurationSeconds, InvalidParameter.PolicyGrammar,
// and per mode Throttling.User (400), InternalError (500), ServiceUnavailable (503).

import { randomUUID } from 'node:crypto'
import { verifyRpcRequest } from './rpc-verify.js'
import {
  ALNUM,
  isoSeconds,
  NonceBook,
  type ReceivedRequest,
  randomText,
  requestParams,
  SESSION_NAME,
  type StandInAnswer,
  StandInState,
  serveStandIn,
  sleep,
  stableId,
} from './stand-in-http.js'
import type { StsStandIn, StsStandInMode, StsStandInOptions, StsStandInRequest } from './types.js'

const ROLE_ARN = /^acs:ram::(\d+):role\/(.+)$/i
const HOST_ID = 'sts.aliyuncs.com'

interface Outcome {
  readonly answer: StandInAnswer
  readonly code: string | undefined
}

/**
 * Starts an Alibaba Cloud STS stand-in on 127.0.0.1 (HTTPS with `options.tls`). Its `url` is the
 * origin to configure as the cloud account's `stsEndpoint` (`http://127.0.0.1:PORT`), or, host and
 * port only, as `@alicloud/credentials`' `stsEndpoint` (which speaks only HTTPS).
 */
export async function startAlibabaStsStandIn(options: StsStandInOptions = {}): Promise<StsStandIn> {
  const now = options.now ?? Date.now
  const maxSkewMs = options.maxSkewMs ?? 15 * 60_000
  const state = new StandInState(options)
  const nonces = new NonceBook(maxSkewMs)

  const json = (
    status: number,
    body: unknown,
    code: string | undefined,
    headers: Record<string, string> = {},
  ): Outcome => ({
    answer: {
      status,
      headers: { 'content-type': 'application/json;charset=utf-8', ...headers },
      body: JSON.stringify(body),
    },
    code,
  })
  const error = (
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ): Outcome => {
    const requestId = randomUUID().toUpperCase()
    return json(
      status,
      {
        RequestId: requestId,
        HostId: HOST_ID,
        Code: code,
        Message: message,
        Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(code)}&product=Sts&requestId=${requestId}`,
      },
      code,
      headers,
    )
  }

  /** The secret of a long-lived or (unexpired or not) issued key. */
  const secretOf = (accessKeyId: string): string | undefined =>
    state.keys.get(accessKeyId) ?? state.issuedFor(accessKeyId)?.accessKeySecret

  const assumeRole = (params: Map<string, string>, accessKeyId: string, mode: StsStandInMode): Outcome => {
    const roleArn = params.get('RoleArn')
    if (!roleArn) return error(400, 'MissingRoleArn', 'RoleArn is mandatory for this action.')
    const sessionName = params.get('RoleSessionName')
    if (!sessionName)
      return error(400, 'MissingRoleSessionName', 'RoleSessionName is mandatory for this action.')
    if (!SESSION_NAME.test(sessionName)) {
      return error(
        400,
        'InvalidParameter.RoleSessionName',
        'The parameter RoleSessionName is wrongly formed.',
      )
    }
    const role = state.roles.get(roleArn)
    const arnParts = ROLE_ARN.exec(roleArn)
    if (!role || !arnParts) return error(404, 'EntityNotExist.Role', `The role not exists: ${roleArn}.`)
    const maxDuration = role.maxSessionDurationSeconds ?? 3600
    const durationText = params.get('DurationSeconds') ?? '3600'
    const duration = /^\d{1,6}$/.test(durationText) ? Number(durationText) : Number.NaN
    if (!(duration >= 900 && duration <= 43_200 && duration <= maxDuration)) {
      return error(
        400,
        'InvalidParameter.DurationSeconds',
        `The Min/Max value of DurationSeconds is 15min/${maxDuration / 3600}hr.`,
      )
    }
    const policy = params.get('Policy')
    if (policy !== undefined) {
      try {
        const parsed: unknown = JSON.parse(policy)
        if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object')
      } catch {
        return error(
          400,
          'InvalidParameter.PolicyGrammar',
          'The parameter Policy has not passed grammar check.',
        )
      }
    }
    if (
      !role.trustedKeyIds.includes(accessKeyId) ||
      (role.externalId !== undefined && params.get('ExternalId') !== role.externalId)
    ) {
      return error(
        403,
        'NoPermission',
        'You are not authorized to do this action. You should be authorized by RAM.',
      )
    }
    const roleId = stableId(roleArn, '0123456789', 18)
    const expiration = Math.floor(now() / 1000) * 1000 + duration * 1000
    const credential = {
      accessKeyId: `STS.${randomText(ALNUM, 25)}`,
      accessKeySecret: randomText(ALNUM, 44),
      securityToken: `CAIS${randomText(ALNUM, 300)}`,
      expiration,
      roleArn,
      sessionName,
      durationSeconds: duration,
      sourceAccessKeyId: accessKeyId,
      assumedRoleId: `${roleId}:${sessionName}`,
      assumedRoleArn: `${roleArn}/${sessionName}`,
    }
    state.issued.push(credential)
    const answer = {
      RequestId: randomUUID().toUpperCase(),
      AssumedRoleUser: { AssumedRoleId: credential.assumedRoleId, Arn: credential.assumedRoleArn },
      Credentials: {
        AccessKeyId: credential.accessKeyId,
        AccessKeySecret: credential.accessKeySecret,
        ...(mode === 'missing-field' ? {} : { SecurityToken: credential.securityToken }),
        Expiration: isoSeconds(expiration),
      },
    }
    return json(200, answer, undefined)
  }

  const getCallerIdentity = (accessKeyId: string): Outcome => {
    const temporary = state.issuedFor(accessKeyId)
    if (temporary) {
      const [, account] = ROLE_ARN.exec(temporary.roleArn) ?? []
      const roleId = temporary.assumedRoleId.split(':')[0]
      return json(
        200,
        {
          RequestId: randomUUID().toUpperCase(),
          AccountId: account,
          UserId: temporary.assumedRoleId,
          Arn: temporary.assumedRoleArn.replace(/^acs:ram::(\d+):role\//i, 'acs:ram::$1:assumed-role/'),
          IdentityType: 'AssumedRoleUser',
          PrincipalId: temporary.assumedRoleId,
          RoleId: roleId,
        },
        undefined,
      )
    }
    const userId = stableId(accessKeyId, '0123456789', 16)
    return json(
      200,
      {
        RequestId: randomUUID().toUpperCase(),
        AccountId: '1000000000000000',
        UserId: userId,
        Arn: `acs:ram::1000000000000000:user/${accessKeyId}`,
        IdentityType: 'RAMUser',
        PrincipalId: userId,
      },
      undefined,
    )
  }

  const respond = async (
    request: ReceivedRequest,
    params: Map<string, string> | undefined,
    duplicate: string | undefined,
    mode: StsStandInMode,
    retryAfterSeconds: number | undefined,
  ): Promise<Outcome> => {
    switch (mode) {
      case 'throttle':
        return error(
          400,
          'Throttling.User',
          'Request was denied due to user flow control.',
          retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
        )
      case 'internal-error':
        return error(500, 'InternalError', 'The request processing has failed due to some unknown error.')
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
    if (!params) return error(400, 'InvalidParameter', `The parameter ${duplicate} is given more than once.`)
    const refusal = verifyRpcRequest(request.method, params, { now: now(), maxSkewMs, nonces, secretOf })
    if (refusal) return error(refusal.status, refusal.code, refusal.message)
    const accessKeyId = params.get('AccessKeyId')!
    const temporary = state.issuedFor(accessKeyId)
    if (temporary) {
      const token = params.get('SecurityToken')
      if (!token) return error(400, 'MissingSecurityToken', 'SecurityToken is mandatory for this action.')
      if (token !== temporary.securityToken) {
        return error(
          400,
          'InvalidSecurityToken.MismatchWithAccessKey',
          'Specified SecurityToken mismatch with the AccessKey.',
        )
      }
      if (now() >= temporary.expiration)
        return error(400, 'InvalidSecurityToken.Expired', 'Specified SecurityToken is expired.')
    }
    if (params.get('Version') !== '2015-04-01')
      return error(400, 'InvalidVersion', 'Specified parameter Version is not valid.')
    if ((params.get('Format') ?? 'XML').toUpperCase() !== 'JSON') {
      // Alibaba answers XML by default: this stand-in speaks JSON only, and says so.
      return error(400, 'InvalidParameter.Format', 'This stand-in answers Format=JSON only.')
    }
    switch (params.get('Action')) {
      case 'AssumeRole':
        return assumeRole(params, accessKeyId, mode)
      case 'GetCallerIdentity':
        return getCallerIdentity(accessKeyId)
      default:
        return error(
          404,
          'InvalidApi.NotFound',
          'Specified api is not found, please check your url and method.',
        )
    }
  }

  const server = await serveStandIn(options.tls, async (request) => {
    const at = now()
    const parsed = requestParams(request)
    const params = 'params' in parsed ? parsed.params : undefined
    const action = params?.get('Action')
    if (action === 'AssumeRole') state.calls++
    const { mode, options: modeOptions } = state.modes.take()
    const record = (status: number, code: string | undefined): void => {
      const shown = Object.fromEntries([...(params ?? [])].filter(([name]) => name !== 'Signature'))
      const duration = params?.get('DurationSeconds')
      const entry: StsStandInRequest = {
        at,
        method: request.method,
        action,
        params: shown,
        accessKeyId: params?.get('AccessKeyId'),
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
    const outcome = await respond(
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
