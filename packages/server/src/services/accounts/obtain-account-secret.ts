import type {
  ObtainedPassword,
  ObtainedSshKey,
  ObtainPasswordBody,
  ObtainSshKeyBody,
} from '@strongroom/protocol'
import { IntegrityError, InvalidParameter, NotFound, PamError } from '../../errors.js'
import type { Caller, Services, Workload } from '../../services.js'
import type { AccountTable } from '../../store/schema.js'
import { type AuditedUnit, auditedOperation, Refusal } from '../audited-operation.js'
import { type AuthorizedAccount, authorizeAccount } from './account-access.js'
import { keyFactsOf } from './account-record.js'
import { type AccountSecrets, openSecrets } from './account-secrets.js'
import { decryptedSshKey } from './decrypted-ssh-key.js'

type WorkloadCaller = Caller & { workload: Workload }

/**
 * `POST /v2/{i}/accounts/_/actions/obtainPassword`: the current password of an account, to a
 * workload whose token carries `account:obtain` and whose application holds an `obtain` grant on
 * it. One audit event per call, success or refusal, with the caller's reason; fail closed: the
 * password leaves only once that event is committed.
 */
export function obtainPassword(
  s: Services,
  caller: WorkloadCaller,
  instanceId: string,
  body: ObtainPasswordBody,
): Promise<ObtainedPassword> {
  return retrieval(s, caller, instanceId, 'account.obtain_password', body, async (unit, { row, stored }) => {
    const version = Number(row.current_version)
    if (Number(row.has_password) !== 1)
      return unit.refuse(
        new NotFound('PasswordNotSet', `account ${row.name} has no password`),
        'password_not_set',
        { version },
      )
    const secrets = await open(s, unit, row, stored)
    if (secrets instanceof Refusal) return secrets
    if (secrets.password === undefined) return unit.fail(mismatch(row), 'integrity', { version })
    await unit.succeed({ accountId: row.id, version })
    return { accountId: row.id, accountName: row.name, version, password: secrets.password }
  })
}

/**
 * `POST /v2/{i}/accounts/_/actions/obtainSshKey`: the current SSH key of an account, as stored with
 * its passphrase, or with `decrypt: true` unencrypted, as PKCS#8 PEM or (`format: 'openssh'`) as an
 * OpenSSH key (409 `SshKeyNotSupported` when the server cannot decrypt it). Same authorization and
 * audit as `obtainPassword`. `format` without `decrypt: true` is a request that contradicts itself:
 * 400 `InvalidParameter` before anything is looked up, like a body that fails its schema.
 */
export function obtainSshKey(
  s: Services,
  caller: WorkloadCaller,
  instanceId: string,
  body: ObtainSshKeyBody,
): Promise<ObtainedSshKey> {
  const decrypt = body.decrypt === true
  if (body.format !== undefined && !decrypt)
    throw new InvalidParameter(
      'format',
      'is allowed only with decrypt: true (a key as stored is answered in the format it was stored in)',
    )
  const format = body.format ?? 'pem'
  return retrieval(s, caller, instanceId, 'account.obtain_ssh_key', body, async (unit, { row, stored }) => {
    const version = Number(row.current_version)
    const details = { version, decrypt, ...(decrypt ? { format } : {}) }
    const facts = keyFactsOf(row)
    if (Number(row.has_key) !== 1 || facts === null)
      return unit.refuse(
        new NotFound('SshKeyNotSet', `account ${row.name} has no SSH key`),
        'ssh_key_not_set',
        details,
      )
    if (decrypt && Number(row.key_supported) !== 1)
      return unit.refuse(
        new PamError(
          'SshKeyNotSupported',
          `the SSH key of account ${row.name} cannot be decrypted by the server (encrypted without its passphrase, or with a cipher it does not implement); ask for it as stored`,
          { field: 'decrypt', rule: 'needs a key the server can decrypt' },
        ),
        'ssh_key_not_supported',
        details,
      )
    const secrets = await open(s, unit, row, stored)
    if (secrets instanceof Refusal) return secrets
    const key = secrets.sshKey
    if (key === undefined) return unit.fail(mismatch(row), 'integrity', details)
    let answer: string
    try {
      answer = decrypt ? decryptedSshKey(key, format) : key.key
    } catch (error) {
      if (error instanceof IntegrityError) return unit.fail(mismatch(row, error), 'integrity', details)
      throw error
    }
    await unit.succeed({ accountId: row.id, ...details })
    return {
      accountId: row.id,
      accountName: row.name,
      version,
      decrypted: decrypt,
      key: answer,
      ...(decrypt ? { format } : {}),
      passphrase: decrypt ? null : (key.passphrase ?? null),
      fileName: key.fileName ?? null,
      keyType: facts.keyType,
      fingerprint: facts.fingerprint,
      publicKey: facts.publicKey,
    }
  })
}

/** The shared shape of both retrievals: scope, then the account's authorization, then `serve`. */
function retrieval<T>(
  s: Services,
  caller: WorkloadCaller,
  instanceId: string,
  action: string,
  body: { accountName: string; reason?: string | undefined },
  serve: (unit: AuditedUnit, account: AuthorizedAccount) => Promise<T | Refusal>,
): Promise<T> {
  const event = { instanceId, action, details: { accountName: body.accountName }, reason: body.reason }
  // The token's state is read again with the grants (`authorize`), which checks the scope too.
  return auditedOperation(
    s,
    caller,
    event,
    async (unit) => {
      const account = await authorizeAccount(
        s,
        unit,
        caller.workload,
        instanceId,
        body.accountName,
        body.reason,
        ['account:obtain'],
      )
      if (account instanceof Refusal) return account
      return serve(unit, account)
    },
    { workloadState: 'with-grants' },
  )
}

async function open(
  s: Services,
  unit: AuditedUnit,
  row: AccountTable,
  stored: AuthorizedAccount['stored'],
): Promise<AccountSecrets | Refusal> {
  const version = Number(row.current_version)
  try {
    return await openSecrets(s, unit.trx, row, version, stored)
  } catch (error) {
    if (error instanceof IntegrityError) return unit.fail(error, 'integrity', { version })
    throw error
  }
}

/** The row's flags promise a secret its sealed version does not hold. */
const mismatch = (row: AccountTable, cause?: unknown) =>
  new IntegrityError(
    `account ${row.id} version ${row.current_version} does not hold what its row says`,
    cause,
  )
