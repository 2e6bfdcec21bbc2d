import type { Account, AccountSummary, SshKeyFacts } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import type { Binding } from '../../crypto/keyring.js'
import { NotFound } from '../../errors.js'
import type { AccountTable, Database } from '../../store/schema.js'

/** An account id (`acct_…`); a name always holds a slash, so the two never collide. */
export const ACCOUNT_ID = /^acct_[0-9a-z]{26}$/

/** The public facts of the account's current key, as kept in `key_facts` (null without a key). */
export function keyFactsOf(row: Pick<AccountTable, 'key_facts'>): SshKeyFacts | null {
  return row.key_facts === null ? null : (JSON.parse(row.key_facts) as SshKeyFacts)
}

/** The administrators' view: flags and key facts from the row, so it never decrypts anything. */
export function toAccount(row: AccountTable): Account {
  const slash = row.name.indexOf('/')
  return {
    accountId: row.id,
    accountName: row.name,
    target: row.name.slice(0, slash),
    account: row.name.slice(slash + 1),
    displayName: row.display_name,
    description: row.description,
    instanceId: row.instance_id,
    status: row.status,
    requiresReason: Number(row.requires_reason) === 1,
    hasPassword: Number(row.has_password) === 1,
    hasKey: Number(row.has_key) === 1,
    isKeySupported: Number(row.key_supported) === 1,
    sshKey: keyFactsOf(row),
    currentVersion: Number(row.current_version),
    createTime: Number(row.created_at),
    updateTime: Number(row.updated_at),
  }
}

/** A workload's view in `GET /v2/{i}/accounts`: what it may ask for, never a secret. */
export function toAccountSummary(row: AccountTable): AccountSummary {
  return {
    id: row.id,
    name: row.name,
    displayName: row.display_name,
    status: row.status,
    requiresReason: Number(row.requires_reason) === 1,
    hasPassword: Number(row.has_password) === 1,
    hasKey: Number(row.has_key) === 1,
    isKeySupported: Number(row.key_supported) === 1,
  }
}

/**
 * The AEAD binding of one version's sealed secrets: a ciphertext moved to another account, another
 * version or another instance no longer decrypts.
 */
export const accountBinding = (row: Pick<AccountTable, 'instance_id' | 'id'>, version: number): Binding => ({
  instanceId: row.instance_id,
  table: 'account_versions',
  recordId: row.id,
  field: 'secrets',
  version,
})

/** The account named by id (`acct_…`) or name within an instance, or undefined. */
export function findAccount(
  db: Kysely<Database>,
  instanceId: string,
  ref: string,
): Promise<AccountTable | undefined> {
  return db
    .selectFrom('accounts')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .where(ACCOUNT_ID.test(ref) ? 'id' : 'name', '=', ref)
    .executeTakeFirst()
}

export const accountNotFound = (ref: string) =>
  new NotFound('AccountNotFound', `account ${ref} does not exist`)
