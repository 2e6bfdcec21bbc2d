import type { Kysely } from 'kysely'
import { IntegrityError } from '../../errors.js'
import type { Services } from '../../services.js'
import type { AccountTable, Database } from '../../store/schema.js'
import { accountBinding } from './account-record.js'

/** An SSH key as sealed in a version: what was uploaded, and what the server made of it. */
export interface SealedSshKey {
  /** The key text exactly as uploaded (handed out as stored). */
  key: string
  passphrase?: string
  fileName?: string
  /**
   * The private key as unencrypted PKCS#8 PEM, kept when the server could decrypt it at store time,
   * so `decrypt: true` costs no KDF (up to seconds of bcrypt) per retrieval. It is no more exposed
   * than the passphrase sealed beside it.
   */
  pem?: string
  /**
   * The comment of an OpenSSH key (often `user@host`), kept beside `pem` for `format: 'openssh'`:
   * PKCS#8 has no place for it, and an encrypted key keeps it inside its encrypted part.
   */
  comment?: string
}

/** One version's secrets, sealed together as one JSON ciphertext. */
export interface AccountSecrets {
  password?: string
  sshKey?: SealedSshKey
}

/** Seals `secrets` as `version` of the account and stores it, in the caller's transaction. */
export async function insertAccountVersion(
  s: Pick<Services, 'keyring'>,
  trx: Kysely<Database>,
  row: Pick<AccountTable, 'instance_id' | 'id'>,
  version: number,
  secrets: AccountSecrets,
  createdBy: string,
  now: number,
): Promise<void> {
  const sealed = await s.keyring.encrypt(
    trx,
    accountBinding(row, version),
    Buffer.from(JSON.stringify(secrets), 'utf8'),
  )
  await trx
    .insertInto('account_versions')
    .values({
      account_id: row.id,
      version,
      instance_id: row.instance_id,
      has_password: secrets.password === undefined ? 0 : 1,
      has_key: secrets.sshKey === undefined ? 0 : 1,
      key_version: sealed.keyVersion,
      ciphertext: sealed.ciphertext,
      created_at: now,
      created_by: createdBy,
    })
    .execute()
}

/** A version's ciphertext as stored. */
export interface StoredVersion {
  ciphertext: Buffer
  key_version: number
}

/**
 * Opens one stored version of the account (`version`, normally the current one). A missing version
 * or a ciphertext that does not decrypt under its binding (tampering, a swapped row) is an
 * `IntegrityError`.
 */
export async function openSecrets(
  s: Pick<Services, 'keyring'>,
  trx: Kysely<Database>,
  row: Pick<AccountTable, 'instance_id' | 'id'>,
  version: number,
  stored: StoredVersion | undefined,
): Promise<AccountSecrets> {
  if (!stored) throw new IntegrityError(`account ${row.id} has no stored version ${version}`)
  const plaintext = await s.keyring.decrypt(trx, accountBinding(row, version), {
    ciphertext: stored.ciphertext,
    keyVersion: stored.key_version,
  })
  return JSON.parse(plaintext.toString('utf8')) as AccountSecrets
}

/** Reads and opens the account's current version, in the caller's transaction. */
export async function openCurrentSecrets(
  s: Pick<Services, 'keyring'>,
  trx: Kysely<Database>,
  row: Pick<AccountTable, 'instance_id' | 'id' | 'current_version'>,
): Promise<AccountSecrets> {
  const version = Number(row.current_version)
  const stored = await trx
    .selectFrom('account_versions')
    .select(['ciphertext', 'key_version'])
    .where('account_id', '=', row.id)
    .where('version', '=', version)
    .executeTakeFirst()
  return openSecrets(s, trx, row, version, stored)
}
