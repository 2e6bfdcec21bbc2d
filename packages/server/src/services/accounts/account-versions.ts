import type { Account, AccountVersion, ListQuery, PutAccountVersionBody } from '@strongroom/protocol'
import { Conflict } from '../../errors.js'
import type { Caller, Services } from '../../services.js'
import { decodeCursor, type Page, toPage } from '../../store/pagination.js'
import type { AccountTable } from '../../store/schema.js'
import { toAccount } from './account-record.js'
import { type AccountSecrets, insertAccountVersion, openCurrentSecrets } from './account-secrets.js'
import { requireAccount } from './accounts.js'
import { keyColumns } from './key-columns.js'
import { type CheckedSshKey, checkSshKey } from './ssh-key-check.js'

/** What a rotation did to one secret, for the audit event: never the value. */
const change = (given: unknown) => (given === undefined ? 'kept' : given === null ? 'removed' : 'set')

/**
 * Rotation: a new version of the account's secrets becomes current. A field left out keeps the
 * current value (the current version is opened to carry it over), `null` removes it. Old versions
 * stay for the record.
 */
export async function putAccountVersion(
  s: Services,
  caller: Caller,
  instanceId: string,
  ref: string,
  body: PutAccountVersionBody,
): Promise<Account> {
  let key: CheckedSshKey | undefined
  if (body.sshKey) {
    // Reading an encrypted key costs its KDF in CPU: only for a caller who may rotate this account,
    // checked read-only first so that no transaction waits on the KDF. The unit checks again.
    await requireAccount(s.store.db, caller, instanceId, ref)
    key = await checkSshKey(body.sshKey)
  }
  return s.committer.run(async ({ trx, audit }) => {
    const row = await requireAccount(trx, caller, instanceId, ref)
    const keeps = body.password === undefined || body.sshKey === undefined
    const current: AccountSecrets = keeps ? await openCurrentSecrets(s, trx, row) : {}
    const password = body.password === undefined ? current.password : (body.password ?? undefined)
    const sshKey = body.sshKey === undefined ? current.sshKey : key?.sealed
    const secrets: AccountSecrets = {
      ...(password === undefined ? {} : { password }),
      ...(sshKey === undefined ? {} : { sshKey }),
    }
    const now = s.now()
    const version = Number(row.current_version) + 1
    const columns: Partial<AccountTable> = {
      has_password: password === undefined ? 0 : 1,
      ...(body.sshKey === undefined ? {} : keyColumns(key)),
      current_version: version,
      updated_at: now,
    }
    // The version guard, before the new version is written, turns a concurrent rotation into a
    // retryable conflict (PostgreSQL: the second waits on the row, then matches nothing).
    const updated = await trx
      .updateTable('accounts')
      .set(columns)
      .where('id', '=', row.id)
      .where('current_version', '=', row.current_version)
      .executeTakeFirst()
    if (Number(updated.numUpdatedRows) !== 1)
      throw new Conflict('Conflict', 'the account was rotated concurrently; retry')
    await insertAccountVersion(s, trx, row, version, secrets, caller.actor.id, now)
    Object.assign(row, columns)
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'account.rotate',
      resource: { type: 'account', id: row.id },
      outcome: 'success',
      details: { version, password: change(body.password), sshKey: change(body.sshKey) },
      request: caller.request,
    })
    return toAccount(row)
  })
}

/** The account's versions, newest first: which secrets each held, never their values. */
export async function listAccountVersions(
  s: Services,
  caller: Caller,
  instanceId: string,
  ref: string,
  query: ListQuery,
): Promise<Page<AccountVersion>> {
  const row = await requireAccount(s.store.db, caller, instanceId, ref)
  const limit = query.maxResults ?? 20
  const after = decodeCursor(query.nextToken, 'number')
  const current = Number(row.current_version)
  const rows = await s.store.db
    .selectFrom('account_versions')
    .select(['version', 'has_password', 'has_key', 'created_at', 'created_by'])
    .where('account_id', '=', row.id)
    .$if(after !== undefined, (q) => q.where('version', '<', after!))
    .orderBy('version', 'desc')
    .limit(limit + 1)
    .execute()
  return toPage(
    rows,
    limit,
    (v) => Number(v.version),
    (v) => ({
      version: Number(v.version),
      current: Number(v.version) === current,
      hasPassword: Number(v.has_password) === 1,
      hasKey: Number(v.has_key) === 1,
      createTime: Number(v.created_at),
      createdBy: v.created_by,
    }),
  )
}
