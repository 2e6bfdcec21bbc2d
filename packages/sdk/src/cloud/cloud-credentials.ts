import { REDACTED, Redacted } from '../client/redacted.js'

/**
 * What `getCloudCredentials` resolves with: a cloud role's short-lived STS credentials
 * (ObtainCloudAccountRoleAccessCredential), one class per vendor, told apart by `vendor`. The
 * secret parts (the secret key, the security or session token) are getters and print as
 * `[REDACTED]` (`util.inspect`, `JSON.stringify`); the ids, the access key id and the expiry are
 * plain properties.
 */

/** The clouds whose roles strongroom hands out STS credentials for. */
export type CloudVendor = 'alibaba_cloud' | 'aws'

/** What a cloud credential says of itself, none of it secret. */
export interface CloudCredentialFacts {
  /** `ca_…`: the cloud account the role belongs to. */
  readonly cloudAccountId: string
  /** `car_…`. */
  readonly cloudAccountRoleId: string
  readonly cloudAccountRoleName: string
  /** The role's ARN: `acs:ram::<uid>:role/<name>` or `arn:aws:iam::<account>:role/<name>`. */
  readonly cloudAccountRoleExternalId: string
  /** The temporary access key id (`STS.…`, `ASIA…`); not a secret, it names the key in the cloud's logs. */
  readonly accessKeyId: string
  /** When the credentials stop working (the STS token's own expiration, to the second). */
  readonly expiration: Date
  /** The same moment as the server states it, in epoch **seconds** (`accessCredentialExpiresAt`). */
  readonly expiresAt: number
}

/**
 * What both vendors' credentials share: the facts, copied from the parsed answer. Each subclass
 * adds its vendor's two secrets as private fields and freezes itself.
 */
abstract class CloudStsCredentials extends Redacted implements CloudCredentialFacts {
  readonly vendor: CloudVendor
  readonly cloudAccountId: string
  readonly cloudAccountRoleId: string
  readonly cloudAccountRoleName: string
  readonly cloudAccountRoleExternalId: string
  readonly accessKeyId: string
  readonly expiration: Date
  readonly expiresAt: number

  constructor(vendor: CloudVendor, fields: CloudCredentialFacts) {
    super()
    this.vendor = vendor
    this.cloudAccountId = fields.cloudAccountId
    this.cloudAccountRoleId = fields.cloudAccountRoleId
    this.cloudAccountRoleName = fields.cloudAccountRoleName
    this.cloudAccountRoleExternalId = fields.cloudAccountRoleExternalId
    this.accessKeyId = fields.accessKeyId
    this.expiration = new Date(fields.expiration.getTime())
    this.expiresAt = fields.expiresAt
  }

  /** The facts as JSON, with the vendor's two secrets `[REDACTED]` under their own names. */
  protected redactedJson(secretNames: readonly [string, string]): Record<string, unknown> {
    return {
      vendor: this.vendor,
      cloudAccountId: this.cloudAccountId,
      cloudAccountRoleId: this.cloudAccountRoleId,
      cloudAccountRoleName: this.cloudAccountRoleName,
      cloudAccountRoleExternalId: this.cloudAccountRoleExternalId,
      accessKeyId: this.accessKeyId,
      expiration: this.expiration.toISOString(),
      expiresAt: this.expiresAt,
      [secretNames[0]]: REDACTED,
      [secretNames[1]]: REDACTED,
    }
  }
}

/** An Alibaba Cloud role's STS token: what an Alibaba Cloud SDK client signs with. */
export class AlibabaCloudStsCredentials extends CloudStsCredentials {
  declare readonly vendor: 'alibaba_cloud'
  readonly #accessKeySecret: string
  readonly #securityToken: string

  constructor(fields: CloudCredentialFacts, accessKeySecret: string, securityToken: string) {
    super('alibaba_cloud', fields)
    this.#accessKeySecret = accessKeySecret
    this.#securityToken = securityToken
    Object.freeze(this)
  }

  /** The temporary access key secret. Secret. */
  get accessKeySecret(): string {
    return this.#accessKeySecret
  }

  /** The STS security token, sent with every signed request. Secret. */
  get securityToken(): string {
    return this.#securityToken
  }

  toJSON(): Record<string, unknown> {
    return this.redactedJson(['accessKeySecret', 'securityToken'])
  }
}

/** An AWS role's STS credentials: what an AWS SDK client signs with. */
export class AwsStsCredentials extends CloudStsCredentials {
  declare readonly vendor: 'aws'
  readonly #secretAccessKey: string
  readonly #sessionToken: string

  constructor(fields: CloudCredentialFacts, secretAccessKey: string, sessionToken: string) {
    super('aws', fields)
    this.#secretAccessKey = secretAccessKey
    this.#sessionToken = sessionToken
    Object.freeze(this)
  }

  /** The temporary secret access key. Secret. */
  get secretAccessKey(): string {
    return this.#secretAccessKey
  }

  /** The STS session token, sent with every signed request. Secret. */
  get sessionToken(): string {
    return this.#sessionToken
  }

  toJSON(): Record<string, unknown> {
    return this.redactedJson(['secretAccessKey', 'sessionToken'])
  }
}

/** A role's STS credentials, by vendor: narrow on `vendor`. */
export type CloudCredentials = AlibabaCloudStsCredentials | AwsStsCredentials
