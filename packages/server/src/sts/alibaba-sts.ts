import type { AssumedRole, AssumeRoleRequest, StsClient } from './assume-role.js'
import { encodeParams, rpcSignature, rpcStringToSign, rpcTimestamp } from './rpc-signature.js'
import {
  callSts,
  endpointHost,
  judgeAssumedRole,
  judgeForeignAnswer,
  judgeRefusal,
  type StsHttpAnswer,
  type StsHttpRequest,
  type StsRuntime,
  type StsVerdict,
  stsUnavailable,
} from './sts-http.js'

// Alibaba Cloud STS `AssumeRole` (API version 2015-04-01), RPC style, answered in JSON. Laid out as
// Alibaba's own RAM-role-ARN credentials provider (@alicloud/credentials) sends it: the common
// parameters and the signature in the query, the operation's parameters in a form body, POST /.

export const ALIBABA_STS_VERSION = '2015-04-01'

/** The request `assumeRole` sends (exported for tests): signed with a fresh nonce and timestamp. */
export function alibabaAssumeRoleRequest(request: AssumeRoleRequest, runtime: StsRuntime): StsHttpRequest {
  const common: Record<string, string> = {
    AccessKeyId: request.accessKeyId,
    Action: 'AssumeRole',
    Format: 'JSON',
    SignatureMethod: 'HMAC-SHA1',
    SignatureNonce: runtime.nonce(),
    SignatureVersion: '1.0',
    Timestamp: rpcTimestamp(runtime.now()),
    Version: ALIBABA_STS_VERSION,
  }
  if (request.region !== undefined) common['RegionId'] = request.region
  const form: Record<string, string> = {
    RoleArn: request.roleArn,
    RoleSessionName: request.roleSessionName,
    DurationSeconds: String(request.durationSeconds),
  }
  if (request.policy !== undefined) form['Policy'] = request.policy
  if (request.externalId !== undefined) form['ExternalId'] = request.externalId
  const signature = rpcSignature(rpcStringToSign('POST', { ...common, ...form }), request.accessKeySecret)
  const url = new URL('/', request.endpoint)
  url.search = encodeParams({ ...common, Signature: signature })
  return {
    url: url.href,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: encodeParams(form),
  }
}

/** Reads Alibaba's answer (asked for `durationSeconds`): the credentials (`judgeAssumedRole`), its error `{ RequestId, HostId, Code, Message }`, or neither. */
export function judgeAlibabaAnswer(
  host: string,
  answer: StsHttpAnswer,
  now: number,
  durationSeconds: number,
): StsVerdict<AssumedRole> {
  let json: unknown
  try {
    json = JSON.parse(answer.body)
  } catch {
    json = undefined
  }
  const body = isObject(json) ? json : undefined
  if (answer.status === 200) {
    const credentials = isObject(body?.['Credentials']) ? body['Credentials'] : undefined
    const user = isObject(body?.['AssumedRoleUser']) ? body['AssumedRoleUser'] : undefined
    if (!credentials || !user)
      return { fail: stsUnavailable(host, 'answered HTTP 200 with something that is not an STS answer') }
    return judgeAssumedRole(host, now, durationSeconds, {
      accessKeyId: ['Credentials.AccessKeyId', credentials['AccessKeyId']],
      accessKeySecret: ['Credentials.AccessKeySecret', credentials['AccessKeySecret']],
      securityToken: ['Credentials.SecurityToken', credentials['SecurityToken']],
      expiration: ['Credentials.Expiration', credentials['Expiration']],
      assumedRoleId: ['AssumedRoleUser.AssumedRoleId', user['AssumedRoleId']],
      assumedRoleArn: ['AssumedRoleUser.Arn', user['Arn']],
      requestId: body?.['RequestId'],
    })
  }
  const code = nonEmpty(body?.['Code'])
  if (code === undefined) return judgeForeignAnswer(host, answer, now)
  return judgeRefusal(
    host,
    {
      status: answer.status,
      code,
      message: nonEmpty(body?.['Message']),
      requestId: nonEmpty(body?.['RequestId']),
    },
    answer.headers,
    now,
  )
}

/** The Alibaba Cloud STS client. */
export function createAlibabaStsClient(runtime: StsRuntime): StsClient {
  return {
    async assumeRole(request: AssumeRoleRequest, signal?: AbortSignal): Promise<AssumedRole> {
      const host = endpointHost(request.endpoint)
      return callSts(
        runtime,
        request.endpoint,
        () => alibabaAssumeRoleRequest(request, runtime),
        (answer) => judgeAlibabaAnswer(host, answer, runtime.now(), request.durationSeconds),
        signal,
      )
    },
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}
