import { renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Kysely } from 'kysely'
import { AuditBatch } from './audit/appender.js'
import type { Keyring } from './crypto/keyring.js'
import { writePrivateFile } from './crypto/root-key.js'
import { insertAdminToken } from './services/admin-tokens/admin-tokens.js'
import { SYSTEM_CHAIN } from './services/context.js'
import { insertInstance } from './services/instances/instances.js'
import type { Dialect } from './store/connect.js'
import type { Database } from './store/schema.js'

export interface BootstrapResult {
  defaultInstanceId: string
  /** The admin token minted by this start, or null when the database was already bootstrapped. */
  adminToken: string | null
  adminTokenFile: string | null
}

/**
 * On the first start of a database: the default instance and an operator admin token, audited
 * on both chains. The token is written to `<dataDir>/admin-token` (0600) before the transaction
 * commits, so a crash can never leave a committed token that nobody holds.
 */
export async function bootstrap(
  trx: Kysely<Database>,
  dialect: Dialect,
  keyring: Keyring,
  now: () => number,
  dataDir: string | null,
): Promise<BootstrapResult> {
  const done = await trx
    .selectFrom('meta')
    .select('value')
    .where('key', '=', 'default_instance_id')
    .executeTakeFirst()
  if (done) return { defaultInstanceId: done.value, adminToken: null, adminTokenFile: null }
  const t = now()
  const instance = await insertInstance(
    { keyring },
    trx,
    { name: 'default', description: 'created by the first start' },
    t,
  )
  const token = await insertAdminToken({ keyring }, trx, { name: 'bootstrap' }, t)
  await trx.insertInto('meta').values({ key: 'default_instance_id', value: instance.id }).execute()
  const audit = new AuditBatch(trx, dialect, now)
  const actor = { type: 'system', id: 'bootstrap' } as const
  for (const chain of [SYSTEM_CHAIN, instance.id]) {
    await audit.append({
      instanceId: chain,
      actor,
      action: 'instance.create',
      resource: { type: 'instance', id: instance.id },
      outcome: 'success',
    })
  }
  await audit.append({
    instanceId: SYSTEM_CHAIN,
    actor,
    action: 'admin_token.create',
    resource: { type: 'admin_token', id: token.adminTokenId },
    outcome: 'success',
    details: { scope: null },
  })
  await audit.finish()
  let adminTokenFile: string | null = null
  if (dataDir !== null) {
    adminTokenFile = join(dataDir, 'admin-token')
    replacePrivateFile(adminTokenFile, `${token.token}\n`)
  }
  return { defaultInstanceId: instance.id, adminToken: token.token, adminTokenFile }
}

/** Atomically replaces `path` with a 0600 file: written beside it, fsynced, then renamed over it. */
export function replacePrivateFile(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`
  rmSync(tmp, { force: true })
  writePrivateFile(tmp, content)
  renameSync(tmp, path)
}
