import { NotFoundError, PermissionError, ValidationError } from './errors.js'

/**
 * Why strongroom refused to hand out an account's secret, one class per condition, each a subclass
 * of the class of its HTTP status (so `instanceof NotFoundError` still holds) with a code of its own.
 * The HTTP layer picks them by the server's `Code` (`http/error-mapping.ts`).
 *
 * @example
 * ```ts
 * try {
 *   await pam.getPassword('DB-SERVER/admin')
 * } catch (err) {
 *   if (err instanceof ReasonRequiredError) return pam.getPassword('DB-SERVER/admin', { reason: 'INC-4711' })
 *   throw err
 * }
 * ```
 */

/** 404 `AccountNotFound`: no such account, or none this application holds a grant on. */
export class AccountNotFoundError extends NotFoundError {
  override readonly code = 'ERR_PAM_ACCOUNT_NOT_FOUND' as const
}

/** 404 `PasswordNotSet`: the account exists but holds no password. */
export class PasswordNotSetError extends NotFoundError {
  override readonly code = 'ERR_PAM_PASSWORD_NOT_SET' as const
}

/** 404 `SshKeyNotSet`: the account exists but holds no SSH key. */
export class SshKeyNotSetError extends NotFoundError {
  override readonly code = 'ERR_PAM_SSH_KEY_NOT_SET' as const
}

/** 400 `ReasonRequired` (`field: 'reason'`): the account's policy wants a reason for every retrieval. */
export class ReasonRequiredError extends ValidationError {
  override readonly code = 'ERR_PAM_REASON_REQUIRED' as const
}

/** 403 `AccountDisabled`: an administrator disabled the account; nothing of it is handed out. */
export class AccountDisabledError extends PermissionError {
  override readonly code = 'ERR_PAM_ACCOUNT_DISABLED' as const
}

/**
 * 409 `SshKeyNotSupported`: `decrypt: true` was asked for a key the server cannot turn into PEM;
 * ask for it as stored (`decrypt: false`) and decrypt it with its passphrase yourself.
 */
export class SshKeyNotSupportedError extends ValidationError {
  override readonly code = 'ERR_PAM_SSH_KEY_NOT_SUPPORTED' as const
}
