import { ERROR_CODES } from '@strongroom/protocol'
import { describe, expect, it } from 'vitest'
import {
  AccountDisabledError,
  AccountNotFoundError,
  PasswordNotSetError,
  ReasonRequiredError,
  SshKeyNotSetError,
  SshKeyNotSupportedError,
} from '../../src/account-errors.js'
import {
  ProofRejectedError,
  SessionExpiredError,
  SessionNotFoundError,
  SessionRevokedError,
} from '../../src/bound-token-errors.js'
import {
  AuthenticationError,
  NotFoundError,
  PamError,
  PermissionError,
  ServerError,
  ValidationError,
} from '../../src/errors.js'
import { errorFromResponse } from '../../src/http/error-mapping.js'
import { PROOF_ERROR_REASONS } from '../../src/proof/proof-error.js'
import { clientWith, errorResponse, rejectionOf } from './support.js'

/** A strongroom error body with a `field`, as `errorFromResponse` reads it. */
function mapped(status: number, code: string, field?: string): PamError {
  const body = { Code: code, Message: `said ${code}`, RequestId: 'req_7', ...(field ? { field } : {}) }
  return errorFromResponse(
    { status, statusText: '', headers: new Headers(), bodyText: JSON.stringify(body) },
    'POST https://pam.example.test/v2/i/accounts/_/actions/obtainPassword',
  )
}

const CONDITIONS = [
  [404, 'AccountNotFound', AccountNotFoundError, NotFoundError, 'ERR_PAM_ACCOUNT_NOT_FOUND'],
  [404, 'PasswordNotSet', PasswordNotSetError, NotFoundError, 'ERR_PAM_PASSWORD_NOT_SET'],
  [404, 'SshKeyNotSet', SshKeyNotSetError, NotFoundError, 'ERR_PAM_SSH_KEY_NOT_SET'],
  [400, 'ReasonRequired', ReasonRequiredError, ValidationError, 'ERR_PAM_REASON_REQUIRED'],
  [403, 'AccountDisabled', AccountDisabledError, PermissionError, 'ERR_PAM_ACCOUNT_DISABLED'],
  [409, 'SshKeyNotSupported', SshKeyNotSupportedError, ValidationError, 'ERR_PAM_SSH_KEY_NOT_SUPPORTED'],
  [401, 'SessionExpired', SessionExpiredError, AuthenticationError, 'ERR_PAM_SESSION_EXPIRED'],
  [401, 'SessionRevoked', SessionRevokedError, AuthenticationError, 'ERR_PAM_SESSION_REVOKED'],
  [401, 'SessionNotFound', SessionNotFoundError, AuthenticationError, 'ERR_PAM_SESSION_NOT_FOUND'],
] as const

describe('errors of strongroom’s own operations', () => {
  it.each(CONDITIONS)('%i %s → %o, still a %o', (status, serverCode, ErrorClass, Base, code) => {
    const error = mapped(status, serverCode)
    expect(error).toBeInstanceOf(ErrorClass)
    expect(error).toBeInstanceOf(Base)
    expect(error).toBeInstanceOf(PamError)
    expect(error).toMatchObject({ code, status, serverCode, requestId: 'req_7', name: ErrorClass.name })
    expect(error.message).toBe(`said ${serverCode} (request id req_7)`)
  })

  it('ReasonRequired names the field', () => {
    expect(mapped(400, 'ReasonRequired', 'reason')).toMatchObject({ field: 'reason' })
  })

  it.each(PROOF_ERROR_REASONS.filter((reason) => reason.startsWith('Proof')))(
    '401 %s → ProofRejectedError with that reason',
    (reason) => {
      const error = mapped(401, reason)
      expect(error).toBeInstanceOf(ProofRejectedError)
      expect(error).toBeInstanceOf(AuthenticationError)
      expect(error).toMatchObject({ code: 'ERR_PAM_PROOF_REJECTED', reason, serverCode: reason })
    },
  )

  it('every account, session and proof Code of the protocol has a class of its own', () => {
    const own = ERROR_CODES.filter((code) =>
      /^(Account(NotFound|Disabled)|PasswordNotSet|SshKeyNot|ReasonRequired|Session|Proof)/.test(code),
    )
    expect(own).toHaveLength(CONDITIONS.length + 8)
    for (const code of own) {
      const error = mapped(400, code)
      expect(error.code, code).not.toMatch(/^ERR_PAM_(VALIDATION|NOT_FOUND|PERMISSION|AUTHENTICATION)$/)
    }
  })

  it('codes without a class of their own, and 5xx, keep the class of their status', () => {
    expect(mapped(404, 'CredentialNotFound')).toMatchObject({
      code: 'ERR_PAM_NOT_FOUND',
      name: 'NotFoundError',
    })
    expect(mapped(403, 'InsufficientScope')).toMatchObject({
      code: 'ERR_PAM_PERMISSION',
      name: 'PermissionError',
    })
    expect(mapped(403, 'PermissionDenied')).toMatchObject({ code: 'ERR_PAM_PERMISSION' })
    expect(mapped(401, 'toString').constructor).toBe(AuthenticationError)
    expect(mapped(503, 'AccountNotFound')).toBeInstanceOf(ServerError)
  })

  it('a typed error comes out of getPassword with its request id, and is not retried', async () => {
    const { client, fake } = clientWith(() =>
      errorResponse(404, 'PasswordNotSet', 'the account holds no password', 'req_9'),
    )
    const error = await rejectionOf(client.getPassword('DB-SERVER/admin'))
    expect(error).toBeInstanceOf(PasswordNotSetError)
    expect(error).toBeInstanceOf(NotFoundError)
    expect(error).toMatchObject({ code: 'ERR_PAM_PASSWORD_NOT_SET', status: 404, requestId: 'req_9' })
    expect(fake.requests).toHaveLength(1)
    await client.close()
  })

  it('the codes can be switched on', () => {
    const advice = (error: PamError): string => {
      switch (error.code) {
        case 'ERR_PAM_REASON_REQUIRED':
          return 'give a reason'
        case 'ERR_PAM_SESSION_EXPIRED':
          return 'start a new session'
        default:
          return 'other'
      }
    }
    expect(advice(mapped(400, 'ReasonRequired'))).toBe('give a reason')
    expect(advice(mapped(401, 'SessionExpired'))).toBe('start a new session')
    expect(advice(mapped(404, 'AccountNotFound'))).toBe('other')
  })
})
