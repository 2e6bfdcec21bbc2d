import type { AssumedRole, AssumeRoleRequest, StsClient } from './assume-role.js'
import { encodeParams } from './rpc-signature.js'
import { signSigV4 } from './sigv4.js'
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
import { parseXml, xmlText } from './sts-xml.js'

// AWS STS `AssumeRole` (API version 2011-06-15) through the Query API: POST / with a form body,
// signed with SigV4 for service `sts` in the request's region (us-east-1 if none), answered in XML.

export const AWS_STS_VERSION = '2011-06-15'
export const AWS_DEFAULT_REGION = 'us-east-1'

/** The request `assumeRole` sends (exported for tests): signed at `runtime.now()`. */
export function awsAssumeRoleRequest(request: AssumeRoleRequest, runtime: StsRuntime): StsHttpRequest {
  const form: Record<string, string> = {
    Action: 'AssumeRole',
    Version: AWS_STS_VERSION,
    RoleArn: request.roleArn,
    RoleSessionName: request.roleSessionName,
    DurationSeconds: String(request.durationSeconds),
  }
  if (request.policy !== undefined) form['Policy'] = request.policy
  if (request.externalId !== undefined) form['ExternalId'] = request.externalId
  const body = encodeParams(form)
  const url = new URL('/', request.endpoint)
  const headers = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }
  const signed = signSigV4(
    { method: 'POST', url, headers, body },
    { accessKeyId: request.accessKeyId, secretAccessKey: request.accessKeySecret },
    { region: request.region ?? AWS_DEFAULT_REGION, service: 'sts' },
    runtime.now(),
  )
  return {
    url: url.href,
    method: 'POST',
    headers: { ...headers, ...signed.headers, accept: 'text/xml' },
    body,
  }
}

/** Reads AWS's answer (asked for `durationSeconds`): `AssumeRoleResponse` (`judgeAssumedRole`), `ErrorResponse`, or neither. */
export function judgeAwsAnswer(
  host: string,
  answer: StsHttpAnswer,
  now: number,
  durationSeconds: number,
): StsVerdict<AssumedRole> {
  const document = parseXml(answer.body)
  const headerRequestId = answer.headers.get('x-amzn-requestid') ?? undefined
  if (answer.status === 200) {
    if (document?.name !== 'AssumeRoleResponse') {
      return { fail: stsUnavailable(host, 'answered HTTP 200 with something that is not an STS answer') }
    }
    const result = ['AssumeRoleResult']
    const field = (...path: string[]) => xmlText(document, [...result, ...path])
    return judgeAssumedRole(host, now, durationSeconds, {
      accessKeyId: ['Credentials.AccessKeyId', field('Credentials', 'AccessKeyId')],
      accessKeySecret: ['Credentials.SecretAccessKey', field('Credentials', 'SecretAccessKey')],
      securityToken: ['Credentials.SessionToken', field('Credentials', 'SessionToken')],
      expiration: ['Credentials.Expiration', field('Credentials', 'Expiration')],
      assumedRoleId: ['AssumedRoleUser.AssumedRoleId', field('AssumedRoleUser', 'AssumedRoleId')],
      assumedRoleArn: ['AssumedRoleUser.Arn', field('AssumedRoleUser', 'Arn')],
      requestId: xmlText(document, ['ResponseMetadata', 'RequestId']) ?? headerRequestId,
    })
  }
  const code = document?.name === 'ErrorResponse' ? xmlText(document, ['Error', 'Code']) : undefined
  if (code === undefined) return judgeForeignAnswer(host, answer, now)
  return judgeRefusal(
    host,
    {
      status: answer.status,
      code,
      message: xmlText(document, ['Error', 'Message']),
      requestId: xmlText(document, ['RequestId']) ?? headerRequestId,
    },
    answer.headers,
    now,
  )
}

/** The AWS STS client. */
export function createAwsStsClient(runtime: StsRuntime): StsClient {
  return {
    async assumeRole(request: AssumeRoleRequest, signal?: AbortSignal): Promise<AssumedRole> {
      const host = endpointHost(request.endpoint)
      return callSts(
        runtime,
        request.endpoint,
        () => awsAssumeRoleRequest(request, runtime),
        (answer) => judgeAwsAnswer(host, answer, runtime.now(), request.durationSeconds),
        signal,
      )
    },
  }
}
