import { NotFoundError, PermissionError } from './errors.js'

/**
 * Why strongroom refused to hand out a cloud role's STS credentials, one class per condition, each
 * a subclass of the class of its HTTP status (so `instanceof NotFoundError` still holds) with a
 * code of its own. The HTTP layer picks them by the server's `Code` (`http/error-mapping.ts`).
 * The other refusals keep the class of their status with the server's code in `serverCode`:
 * `InsufficientScope` and `PermissionDenied` (a `PermissionError`), `InvalidParameter.DurationSeconds`
 * (a `ValidationError` with `field: 'durationSeconds'`), and the STS failures `StsRefused` and
 * `StsUnavailable` (502), `StsThrottled` (503) and `StsTimeout` (504), each a `ServerError` once
 * the client's retries are spent.
 *
 * @example
 * ```ts
 * try {
 *   await pam.getCloudCredentials('acs:ram::1234567890123456:role/deployer')
 * } catch (err) {
 *   if (err instanceof CloudAccountRoleNotFoundError) console.error('no such role, or not granted')
 *   else if (err instanceof ServerError && err.serverCode === 'StsRefused') console.error(err.message)
 *   throw err
 * }
 * ```
 */

/** 404 `CloudAccountRoleNotFound`: no role with that ARN, or none this application holds a grant on. */
export class CloudAccountRoleNotFoundError extends NotFoundError {
  override readonly code = 'ERR_PAM_CLOUD_ACCOUNT_ROLE_NOT_FOUND' as const
}

/** 403 `CloudAccountRoleDisabled`: an administrator disabled the role. */
export class CloudAccountRoleDisabledError extends PermissionError {
  override readonly code = 'ERR_PAM_CLOUD_ACCOUNT_ROLE_DISABLED' as const
}

/** 403 `CloudAccountDisabled`: an administrator disabled the cloud account the role belongs to. */
export class CloudAccountDisabledError extends PermissionError {
  override readonly code = 'ERR_PAM_CLOUD_ACCOUNT_DISABLED' as const
}
