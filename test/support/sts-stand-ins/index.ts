// Stand-in STS servers for tests: the outside world, faked at its edge. Each is a real node:http(s)
// server on 127.0.0.1 that verifies every request's signature exactly as its vendor documents it,
// knows a configurable set of long-lived keys and assumable roles, answers in the vendor's format
// (errors included), records every request and remembers the temporary credentials it issued.
//
//   const sts = await startAwsStsStandIn({
//     keys: { AKIAEXAMPLEKEY0001: 'long-lived-secret' },
//     roles: [{ arn: 'arn:aws:iam::123456789012:role/app', trustedKeyIds: ['AKIAEXAMPLEKEY0001'] }],
//   })
//   // point the cloud account's stsEndpoint (or the AWS SDK's endpoint) at sts.url
//   expect(sts.calls).toBe(1)
//   expect(sts.requests[0]).toMatchObject({ action: 'AssumeRole', sessionName: 'app-x', code: undefined })
//   sts.setMode('internal-error', { times: 1 }) // the next request gets HTTP 500
//   await sts.close()
//
// Both check DurationSeconds (900–43200 and at most the role's maximum, default 3600), RoleSessionName
// (2–64 of [\w+=,.@-]), a role's optional ExternalId, request freshness (15 minutes either way of the
// stand-in's clock, `options.now`), and answer GetCallerIdentity for temporary credentials they issued
// (AWS: X-Amz-Security-Token must be the session token; Alibaba: the SecurityToken parameter).

export { startAlibabaStsStandIn } from './alibaba-sts.js'
export { startAwsStsStandIn } from './aws-sts.js'
export {
  alibabaPercentEncode,
  alibabaSignature,
  alibabaStringToSign,
  verifyRpcRequest,
} from './rpc-verify.js'
export {
  awsUriEncode,
  canonicalRequestOf,
  expectedSignature,
  parseAuthorization,
  verifySigV4Request,
} from './sigv4-verify.js'
export type {
  AwsStsStandInOptions,
  StsStandIn,
  StsStandInCredential,
  StsStandInMode,
  StsStandInModeOptions,
  StsStandInOptions,
  StsStandInRequest,
  StsStandInRole,
} from './types.js'
