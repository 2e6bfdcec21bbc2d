import type {
  Account,
  AccountListQuery,
  CreateAccountBody,
  Status,
  UpdateAccountBody,
} from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { Conflict, NotFound } from '../../errors.js'
import { newId } from '../../ids.js'
import type { Caller, Services } from '../../services.js'
import { type Page, pageById } from '../../store/pagination.js'
import type { AccountTable, Database } from '../../store/schema.js'
import { startsWith } from '../../store/starts-with.js'
import { isUniqueViolation, type UniqueIndex } from '../../store/unique-violation.js'
import { requireInstance } from '../instances/instances.js'
import { changeStatus } from '../status.js'
import { findAccount, toAccount } from './account-record.js'
import { type AccountSecrets, insertAccountVersion } from './account-secrets.js'
import { keyColumns } from './key-columns.js'
import { type CheckedSshKey, checkSshKey } from './ssh-key-check.js'

/** The unique index a concurrent create of the same name runs into. */
const ACCOUNTS_NAME: UniqueIndex = {
  name: 'accounts_name',
  table: 'accounts',
  columns: ['instance_id', 'name'],
}

const nameTaken = (name: string) =>
  new Conflict('AccountNameExists', `an account named ${name} already exists`, 'accountName')

/** Whether the instance already has an account of this name (as committed, or in `db`'s transaction). */
async function isNameTaken(db: Kysely<Database>, instanceId: string, name: string): Promise<boolean> {
  const row = await db
    .selectFrom('accounts')
    .select('id')
    .where('instance_id', '=', instanceId)
    .where('name', '=', name)
    .executeTakeFirst()
  return row !== undefined
}

/**
 * Creates an account with its first version. Version 1 exists even without a password or a key, so
 * every account has a current version to rotate from.
 */
export async function createAccount(
  s: Services,
  caller: Caller,
  instanceId: string,
  body: CreateAccountBody,
): Promise<Account> {
  let key: CheckedSshKey | undefined
  if (body.sshKey !== undefined) {
    // Reading an encrypted key costs its KDF in CPU: only for a caller who may create here (and a
    // name still free), checked read-only first so that no transaction waits on the KDF. The unit
    // checks both again.
    await requireInstance(s.store.db, caller, instanceId)
    if (await isNameTaken(s.store.db, instanceId, body.accountName)) throw nameTaken(body.accountName)
    key = await checkSshKey(body.sshKey)
  }
  const secrets: AccountSecrets = {
    ...(body.password === undefined ? {} : { password: body.password }),
    ...(key === undefined ? {} : { sshKey: key.sealed }),
  }
  return s.committer.run(async ({ trx, audit }) => {
    await requireInstance(trx, caller, instanceId)
    if (await isNameTaken(trx, instanceId, body.accountName)) throw nameTaken(body.accountName)
    const now = s.now()
    const row: AccountTable = {
      id: newId('acct', now),
      instance_id: instanceId,
      name: body.accountName,
      display_name: body.displayName ?? body.accountName,
      description: body.description ?? '',
      status: 'enabled',
      requires_reason: body.requiresReason ? 1 : 0,
      has_password: secrets.password === undefined ? 0 : 1,
      ...keyColumns(key),
      current_version: 1,
      created_at: now,
      updated_at: now,
    }
    try {
      await trx.insertInto('accounts').values(row).execute()
    } catch (error) {
      // Another node inserted the name after the check above (PostgreSQL; one SQLite node
      // serializes its units): the same answer as if the check had seen it.
      if (isUniqueViolation(error, ACCOUNTS_NAME)) throw nameTaken(body.accountName)
      throw error
    }
    await insertAccountVersion(s, trx, row, 1, secrets, caller.actor.id, now)
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'account.create',
      resource: { type: 'account', id: row.id },
      outcome: 'success',
      details: {
        accountName: row.name,
        version: 1,
        hasPassword: row.has_password === 1,
        hasKey: row.has_key === 1,
        requiresReason: row.requires_reason === 1,
      },
      request: caller.request,
    })
    return toAccount(row)
  })
}

export async function listAccounts(
  s: Services,
  caller: Caller,
  instanceId: string,
  query: AccountListQuery,
): Promise<Page<Account>> {
  await requireInstance(s.store.db, caller, instanceId)
  const prefix = query.namePrefix
  return pageById(
    query,
    (after, rows) =>
      s.store.db
        .selectFrom('accounts')
        .selectAll()
        .where('instance_id', '=', instanceId)
        .$if(prefix !== undefined, (q) => q.where(startsWith('name', prefix!)))
        .$if(after !== undefined, (q) => q.where('id', '>', after!))
        .orderBy('id')
        .limit(rows)
        .execute(),
    toAccount,
  )
}

/** Finds an account by id (`acct_…`) or name within an instance the caller may administer. */
export async function requireAccount(
  db: Kysely<Database>,
  caller: Caller,
  instanceId: string,
  ref: string,
): Promise<AccountTable> {
  await requireInstance(db, caller, instanceId)
  const row = await findAccount(db, instanceId, ref)
  if (!row) throw new NotFound('AccountNotFound', `account ${ref} does not exist in instance ${instanceId}`)
  return row
}

export async function getAccount(s: Services, caller: Caller, instanceId: string, ref: string) {
  return toAccount(await requireAccount(s.store.db, caller, instanceId, ref))
}

/** Changes the display name, description or reason policy; audited with the names of the fields changed. */
export async function updateAccount(
  s: Services,
  caller: Caller,
  instanceId: string,
  ref: string,
  body: UpdateAccountBody,
): Promise<Account> {
  return s.committer.run(async ({ trx, audit }) => {
    const row = await requireAccount(trx, caller, instanceId, ref)
    const changed = Object.keys(body).sort()
    row.display_name = body.displayName ?? row.display_name
    row.description = body.description ?? row.description
    if (body.requiresReason !== undefined) row.requires_reason = body.requiresReason ? 1 : 0
    row.updated_at = s.now()
    await trx
      .updateTable('accounts')
      .set({
        display_name: row.display_name,
        description: row.description,
        requires_reason: row.requires_reason,
        updated_at: row.updated_at,
      })
      .where('id', '=', row.id)
      .execute()
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'account.update',
      resource: { type: 'account', id: row.id },
      outcome: 'success',
      details: { fields: changed.join(',') },
      request: caller.request,
    })
    return toAccount(row)
  })
}

export async function setAccountStatus(
  s: Services,
  caller: Caller,
  instanceId: string,
  ref: string,
  status: Status,
): Promise<Account> {
  return s.committer.run(async (unit) => {
    const row = await requireAccount(unit.trx, caller, instanceId, ref)
    await changeStatus(unit, caller, { table: 'accounts', resourceType: 'account', row }, status, s.now())
    return toAccount(row)
  })
}
