import { invalidArgument } from '../http/invalid-argument.js'

/** What the vendors' STS accept as a session's lifetime, in seconds (the server checks the role's maximum). */
export const MIN_CLOUD_DURATION_SECONDS = 900
export const MAX_CLOUD_DURATION_SECONDS = 43_200

/** `alibabaCloudCredential`, `awsCredentialProvider`: which credentials to ask for. */
export interface CloudCredentialOptions {
  /**
   * The STS session's lifetime in seconds, 900–43200 and at most the role's maximum; the role's
   * default (usually 3600) when absent. Each (role, duration) is cached apart.
   */
  durationSeconds?: number | undefined
  /**
   * Stops the calls made with these options waiting: they reject with its reason. A fetch other
   * callers share goes on (it stops only when the client closes).
   */
  signal?: AbortSignal | undefined
}

/** `getCloudCredentials`. */
export interface GetCloudCredentialsOptions extends CloudCredentialOptions {
  /**
   * Fetch new credentials now, even if the held ones are fresh (e.g. after the cloud refused them),
   * and keep them; joins a fetch already under way.
   */
  forceRefresh?: boolean | undefined
}

/** Checks a role and its options before any request: a mistake is a `TypeError` with a `code`. */
export function checkCloudCredentialArguments(
  roleExternalId: unknown,
  options: CloudCredentialOptions,
): void {
  if (typeof roleExternalId !== 'string' || roleExternalId.trim() === '')
    throw invalidArgument("roleExternalId must be the role's ARN, a non-empty string")
  const { durationSeconds } = options
  if (
    durationSeconds !== undefined &&
    (!Number.isInteger(durationSeconds) ||
      durationSeconds < MIN_CLOUD_DURATION_SECONDS ||
      durationSeconds > MAX_CLOUD_DURATION_SECONDS)
  )
    throw invalidArgument(
      `durationSeconds must be a whole number of seconds from ${MIN_CLOUD_DURATION_SECONDS} to ${MAX_CLOUD_DURATION_SECONDS}`,
    )
}
