// The public shape of the STS stand-ins: what a test starts, configures, and reads back.

/**
 * How the stand-in answers, whatever the request (set with `setMode`, for every request or the next
 * `times` ones):
 * - `normal`: verifies the signature and answers as the vendor does, successes and refusals alike;
 * - `throttle`: the vendor's throttling error (Alibaba `Throttling.User`, AWS `Throttling`, both HTTP
 *   400), with a `Retry-After` header if `retryAfterSeconds` is given;
 * - `internal-error`: HTTP 500 with the vendor's `InternalError` (Alibaba) / `InternalFailure` (AWS);
 * - `unavailable`: HTTP 503 with the vendor's `ServiceUnavailable`;
 * - `slow`: waits `delayMs` (default 2000), then answers as `normal`;
 * - `hang`: never answers (the connection stays open until `close()`): for timeouts;
 * - `not-sts`: HTTP 200 with an HTML page, as a captive portal or a wrong endpoint would;
 * - `missing-field`: a normal AssumeRole, but the answer lacks the security token.
 */
export type StsStandInMode =
  | 'normal'
  | 'throttle'
  | 'internal-error'
  | 'unavailable'
  | 'slow'
  | 'hang'
  | 'not-sts'
  | 'missing-field'

export interface StsStandInModeOptions {
  /** Only for the next `times` requests, then back to `normal` (default: until set again). */
  readonly times?: number
  /** `throttle`: send `Retry-After: <seconds>`. */
  readonly retryAfterSeconds?: number
  /** `slow`: how long to wait before answering (default 2000 ms). */
  readonly delayMs?: number
}

/** A role the stand-in lets be assumed. */
export interface StsStandInRole {
  /** `acs:ram::<account uid>:role/<name>` (Alibaba) or `arn:aws:iam::<account id>:role/<name>` (AWS). */
  readonly arn: string
  /** The long-lived access key ids the role's trust policy allows: no other key may assume it. */
  readonly trustedKeyIds: readonly string[]
  /** The role's maximum session duration in seconds, 900–43200 (default 3600, as both vendors). */
  readonly maxSessionDurationSeconds?: number
  /** An `ExternalId` the trust policy requires; without it the call is refused. */
  readonly externalId?: string
}

export interface StsStandInOptions {
  /** Long-lived access keys: access key id → secret. */
  readonly keys?: Readonly<Record<string, string>>
  readonly roles?: readonly StsStandInRole[]
  /** The stand-in's clock (epoch ms): request freshness and expirations (default `Date.now`). */
  readonly now?: () => number
  /**
   * Serve HTTPS with this certificate and key: PEM text, or paths to PEM files (what
   * `selfSignedCertificate(dir)` of test/support/tls.ts returns). Default: plain HTTP.
   */
  readonly tls?: { readonly cert: string; readonly key: string }
  /** How far a request's timestamp may be from the stand-in's clock (default 15 minutes, as both vendors). */
  readonly maxSkewMs?: number
}

export interface AwsStsStandInOptions extends StsStandInOptions {
  /** The region requests must be signed for (the credential scope's), default `us-east-1`. */
  readonly region?: string
}

/** One request as the stand-in saw it, and what it answered. */
export interface StsStandInRequest {
  /** The stand-in's clock when it arrived. */
  readonly at: number
  readonly method: string
  /** `AssumeRole`, `GetCallerIdentity`, … (`undefined` if the request named none). */
  readonly action: string | undefined
  /** Every parameter (query and form body), except the signature. */
  readonly params: Readonly<Record<string, string>>
  /** The signing access key id (`AccessKeyId`, or the SigV4 credential's). */
  readonly accessKeyId: string | undefined
  readonly roleArn: string | undefined
  readonly sessionName: string | undefined
  /** `DurationSeconds` as sent (`undefined` if left out: the vendor's default 3600 applies). */
  readonly durationSeconds: number | undefined
  /** The HTTP status answered (0: none, the stand-in hung). */
  readonly status: number
  /** The vendor error code answered; `undefined` for a success. */
  readonly code: string | undefined
  /** The mode the request met. */
  readonly mode: StsStandInMode
}

/** Temporary credentials the stand-in issued (and will accept, until they expire). */
export interface StsStandInCredential {
  readonly accessKeyId: string
  readonly accessKeySecret: string
  readonly securityToken: string
  /** Epoch ms, whole seconds. */
  readonly expiration: number
  readonly roleArn: string
  readonly sessionName: string
  readonly durationSeconds: number
  /** The long-lived key that assumed the role. */
  readonly sourceAccessKeyId: string
  readonly assumedRoleId: string
  readonly assumedRoleArn: string
}

/** A running stand-in STS. */
export interface StsStandIn {
  /** The origin to use as an STS endpoint: `http://127.0.0.1:PORT` (`https://` with `tls`). */
  readonly url: string
  /** `127.0.0.1:PORT`. */
  readonly host: string
  /** AssumeRole requests received, whatever they were answered (a refusal counts too). */
  readonly calls: number
  /** Every request received, oldest first. */
  readonly requests: readonly StsStandInRequest[]
  /** Every set of temporary credentials issued, oldest first. */
  readonly issued: readonly StsStandInCredential[]
  /** Changes how requests are answered (see `StsStandInMode`). */
  setMode(mode: StsStandInMode, options?: StsStandInModeOptions): void
  /** Adds (or replaces) a long-lived key. */
  addKey(accessKeyId: string, accessKeySecret: string): void
  /** Adds (or replaces) a role. */
  addRole(role: StsStandInRole): void
  /** Forgets the recorded requests and zeroes `calls` (keys, roles, issued credentials stay). */
  clearRecords(): void
  /** Stops the server, ending any request left hanging. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}
