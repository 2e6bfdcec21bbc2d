import { REDACTED, Redacted } from '../client/redacted.js'
import type { AlibabaCloudStsCredentials } from './cloud-credentials.js'

/** What `AlibabaCloudCredential` names itself as, in `providerName` and `getProviderName()`. */
export const ALIBABA_CLOUD_PROVIDER_NAME = 'strongroom'

/**
 * What `getCredential()` answers: the fields of `@alicloud/credentials`' `CredentialModel`
 * (`accessKeyId`, `accessKeySecret`, `securityToken`, `bearerToken`, `type`, `providerName`), read
 * as properties as the Alibaba Cloud SDK clients read them. The secret and the token are getters
 * and print as `[REDACTED]`.
 */
export class AlibabaCloudCredentialModel extends Redacted {
  readonly accessKeyId: string
  /** Always absent: an STS credential signs, it carries no bearer token. */
  readonly bearerToken: undefined = undefined
  readonly type: 'sts' = 'sts'
  readonly providerName: string = ALIBABA_CLOUD_PROVIDER_NAME
  readonly #accessKeySecret: string
  readonly #securityToken: string

  constructor(credentials: AlibabaCloudStsCredentials) {
    super()
    this.accessKeyId = credentials.accessKeyId
    this.#accessKeySecret = credentials.accessKeySecret
    this.#securityToken = credentials.securityToken
  }

  /** Secret. */
  get accessKeySecret(): string {
    return this.#accessKeySecret
  }

  /** Secret. */
  get securityToken(): string {
    return this.#securityToken
  }

  toJSON(): Record<string, unknown> {
    return {
      accessKeyId: this.accessKeyId,
      accessKeySecret: REDACTED,
      securityToken: REDACTED,
      type: this.type,
      providerName: this.providerName,
    }
  }
}

/**
 * What `getCredentials()` answers: `@alicloud/credentials`' `Credentials`, for the library's own
 * `new Credential(null, provider)`, which takes any object with `getCredentials()` and
 * `getProviderName()`.
 */
export class AlibabaCloudProviderCredentials extends Redacted {
  readonly accessKeyId: string
  readonly providerName: string = ALIBABA_CLOUD_PROVIDER_NAME
  readonly #accessKeySecret: string
  readonly #securityToken: string

  constructor(credentials: AlibabaCloudStsCredentials) {
    super()
    this.accessKeyId = credentials.accessKeyId
    this.#accessKeySecret = credentials.accessKeySecret
    this.#securityToken = credentials.securityToken
  }

  /** Secret. */
  get accessKeySecret(): string {
    return this.#accessKeySecret
  }

  /** Secret. */
  get securityToken(): string {
    return this.#securityToken
  }

  toJSON(): Record<string, unknown> {
    return {
      accessKeyId: this.accessKeyId,
      accessKeySecret: REDACTED,
      securityToken: REDACTED,
      providerName: this.providerName,
    }
  }
}

/**
 * An Alibaba Cloud credential backed by strongroom (`pam.alibabaCloudCredential(roleArn)`): give
 * it to any Alibaba Cloud SDK client as its `credential`. It has the methods of
 * `@alicloud/credentials`' `Credential` the clients call (`getCredential()`, answering an STS
 * credential, type `sts`, and the older `getAccessKeyId()`, `getAccessKeySecret()`,
 * `getSecurityToken()`, `getBearerToken()`, `getType()`), and those of its `CredentialsProvider`
 * (`getCredentials()`, `getProviderName()`), so `new Credential(null, it)` wraps it in the library's
 * own class where a typed `Credential` is wanted. Every call answers from the client's cache, which
 * fetches new STS credentials ahead of expiry: hold on to the object, not to what it answered.
 * The older getters each read the cache, so across a refresh they may answer from two different
 * credentials: prefer `getCredential()`. The SDK does not depend on any Alibaba Cloud package.
 *
 * @example
 * ```ts
 * import Ecs, * as $Ecs from '@alicloud/ecs20140526'
 * import * as $OpenApi from '@alicloud/openapi-client'
 *
 * const credential = pam.alibabaCloudCredential('acs:ram::1234567890123456:role/deployer')
 * const ecs = new Ecs(new $OpenApi.Config({ credential, endpoint: 'ecs.cn-hangzhou.aliyuncs.com' }))
 * await ecs.describeRegions(new $Ecs.DescribeRegionsRequest({}))
 * ```
 */
export class AlibabaCloudCredential {
  /** The role's ARN (`acs:ram::<uid>:role/<name>`). */
  readonly roleExternalId: string
  readonly #fetch: () => Promise<AlibabaCloudStsCredentials>

  /** `fetch` answers the role's current credentials (the client's cache); the client makes these. */
  constructor(roleExternalId: string, fetch: () => Promise<AlibabaCloudStsCredentials>) {
    this.roleExternalId = roleExternalId
    this.#fetch = fetch
    Object.freeze(this)
  }

  /** The role's current STS credential, as `@alicloud/credentials`' `CredentialModel`, type `sts`. */
  async getCredential(): Promise<AlibabaCloudCredentialModel> {
    return new AlibabaCloudCredentialModel(await this.#fetch())
  }

  /** @deprecated as in `@alicloud/credentials`: use {@link getCredential}. */
  async getAccessKeyId(): Promise<string> {
    return (await this.#fetch()).accessKeyId
  }

  /** @deprecated as in `@alicloud/credentials`: use {@link getCredential}. Secret. */
  async getAccessKeySecret(): Promise<string> {
    return (await this.#fetch()).accessKeySecret
  }

  /** @deprecated as in `@alicloud/credentials`: use {@link getCredential}. Secret. */
  async getSecurityToken(): Promise<string> {
    return (await this.#fetch()).securityToken
  }

  /** @deprecated as in `@alicloud/credentials`. Always `undefined`: an STS credential has no bearer token. */
  getBearerToken(): undefined {
    return undefined
  }

  /** `sts`, as the library's STS credential says. */
  getType(): 'sts' {
    return 'sts'
  }

  /** `@alicloud/credentials`' `CredentialsProvider.getCredentials()`: the current credential. */
  async getCredentials(): Promise<AlibabaCloudProviderCredentials> {
    return new AlibabaCloudProviderCredentials(await this.#fetch())
  }

  /** `@alicloud/credentials`' `CredentialsProvider.getProviderName()`: `strongroom`. */
  getProviderName(): string {
    return ALIBABA_CLOUD_PROVIDER_NAME
  }

  /** What `JSON.stringify` and `util.inspect` show: the role and the type, never a credential. */
  toJSON(): Record<string, unknown> {
    return { type: 'sts', providerName: ALIBABA_CLOUD_PROVIDER_NAME, roleExternalId: this.roleExternalId }
  }

  [Symbol.for('nodejs.util.inspect.custom')](
    _depth: number,
    options: unknown,
    inspect?: (value: unknown, options: unknown) => string,
  ): string {
    const shown = this.toJSON()
    return `AlibabaCloudCredential ${inspect === undefined ? JSON.stringify(shown) : inspect(shown, options)}`
  }
}
