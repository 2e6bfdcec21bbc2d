import { PamError } from '../errors.js'
import { createAlibabaStsClient } from './alibaba-sts.js'
import type { AssumedRole, AssumeRoleRequest, StsClient } from './assume-role.js'
import { createAwsStsClient } from './aws-sts.js'
import { type StsRuntimeOptions, stsRuntime } from './sts-http.js'

/**
 * Options of the STS clients: all optional, injected so tests are deterministic.
 * - `now`: the clock dating the signatures (default `Date.now`);
 * - `fetch`: the HTTP client (default the global `fetch`);
 * - `timeoutMs`: the whole call's deadline, retries included (default 10 000);
 * - `retries`: further attempts for network failures and 5xx answers, 0–2 (default 2);
 * - `random`: in [0, 1), the backoff's jitter (default `Math.random`);
 * - `nonce`: Alibaba's `SignatureNonce` (default `crypto.randomUUID`).
 */
export type StsClientOptions = StsRuntimeOptions

/**
 * The STS client of the server: calls Alibaba Cloud's or AWS's STS `AssumeRole` by
 * `request.vendor`, signing with node:crypto (Alibaba RPC HMAC-SHA1, AWS SigV4). Failures are
 * PamErrors `StsTimeout` 504, `StsUnavailable` 502, `StsRefused` 502, `StsThrottled` 503.
 */
export function createStsClient(options: StsClientOptions = {}): StsClient {
  const runtime = stsRuntime(options)
  const alibaba = createAlibabaStsClient(runtime)
  const aws = createAwsStsClient(runtime)
  return {
    async assumeRole(request: AssumeRoleRequest, signal?: AbortSignal): Promise<AssumedRole> {
      switch (request.vendor) {
        case 'alibaba_cloud':
          return alibaba.assumeRole(request, signal)
        case 'aws':
          return aws.assumeRole(request, signal)
        default:
          throw new PamError('StsUnavailable', `no STS client for vendor ${String(request.vendor)}`)
      }
    },
  }
}
