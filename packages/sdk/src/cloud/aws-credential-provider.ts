import { REDACTED, Redacted } from '../client/redacted.js'
import type { AwsStsCredentials } from './cloud-credentials.js'

/**
 * What an {@link AwsCredentialProvider} resolves with: the AWS SDK v3's `AwsCredentialIdentity`
 * (`accessKeyId`, `secretAccessKey`, `sessionToken`, `expiration`). The secret key and the session
 * token are getters and print as `[REDACTED]`. A new object per call, left extensible: the AWS
 * SDK may note on it where it came from (`$source`).
 */
export class AwsCredentialIdentity extends Redacted {
  readonly accessKeyId: string
  /** When the credentials expire; the AWS SDK asks the provider again 5 minutes before. */
  readonly expiration: Date
  readonly #secretAccessKey: string
  readonly #sessionToken: string

  constructor(credentials: AwsStsCredentials) {
    super()
    this.accessKeyId = credentials.accessKeyId
    this.expiration = new Date(credentials.expiration.getTime())
    this.#secretAccessKey = credentials.secretAccessKey
    this.#sessionToken = credentials.sessionToken
  }

  /** Secret. */
  get secretAccessKey(): string {
    return this.#secretAccessKey
  }

  /** Secret. */
  get sessionToken(): string {
    return this.#sessionToken
  }

  toJSON(): Record<string, unknown> {
    return {
      accessKeyId: this.accessKeyId,
      secretAccessKey: REDACTED,
      sessionToken: REDACTED,
      expiration: this.expiration.toISOString(),
    }
  }
}

/**
 * An AWS SDK v3 credential provider (`AwsCredentialIdentityProvider`), as
 * `pam.awsCredentialProvider(roleArn)` makes one: each call answers the role's current STS
 * credentials from the client's cache, which fetches new ones ahead of expiry. The AWS SDK keeps
 * what it answered and calls again when less than 5 minutes are left. Whatever argument the AWS SDK
 * passes is ignored. The SDK does not depend on any AWS package.
 */
export type AwsCredentialProvider = (
  identityProperties?: Record<string, unknown>,
) => Promise<AwsCredentialIdentity>
