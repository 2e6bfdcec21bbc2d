import type { CloudVendor } from '@strongroom/protocol'

/**
 * One STS `AssumeRole` call, vendor-neutral: what the cloud-account slice hands the STS clients.
 * The long-lived key pair is here only for the duration of the call; nothing here is logged.
 */
export interface AssumeRoleRequest {
  readonly vendor: CloudVendor
  /** The STS endpoint's origin (`https://sts.aliyuncs.com`), already checked: https, or http on loopback. */
  readonly endpoint: string
  /** Alibaba: the optional `RegionId`; AWS: the SigV4 signing region (default `us-east-1`). */
  readonly region: string | undefined
  readonly accessKeyId: string
  readonly accessKeySecret: string
  /** The role's ARN. */
  readonly roleArn: string
  /** 2–64 characters of `[\w+=,.@-]`: names the workload in the cloud's own trail. */
  readonly roleSessionName: string
  readonly durationSeconds: number
  /** A session policy (JSON text), narrowing the role. */
  readonly policy: string | undefined
  /** AWS only: the role's required `ExternalId`. */
  readonly externalId: string | undefined
}

/** What STS answered: the temporary key pair, its token and when it expires. */
export interface AssumedRole {
  readonly accessKeyId: string
  readonly accessKeySecret: string
  readonly securityToken: string
  /** Epoch milliseconds, whole seconds (the vendors answer `…T…Z`). */
  readonly expiration: number
  /** `AssumedRoleUser.AssumedRoleId`: recorded in the audit event, it is not a secret. */
  readonly assumedRoleId: string
  /** `AssumedRoleUser.Arn`. */
  readonly assumedRoleArn: string
  /** The vendor's request id, for the audit event and support cases. */
  readonly requestId: string | undefined
}

/** Calls STS `AssumeRole` for one vendor. Throws `PamError`s with the `Sts…` codes, never the key. */
export interface StsClient {
  assumeRole(request: AssumeRoleRequest, signal?: AbortSignal): Promise<AssumedRole>
}
