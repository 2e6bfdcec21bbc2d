import { renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_AUTHORIZATION_SERVER, PAM_AUDIENCE } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { AuditBatch } from './audit/appender.js'
import { markDemoPending } from './bootstrap-demo.js'
import type { Keyring } from './crypto/keyring.js'
import { writePrivateFile } from './crypto/root-key.js'
import { insertAdminToken } from './services/admin-tokens/admin-tokens.js'
import { insertApplication } from './services/applications/applications.js'
import { insertClientSecret } from './services/applications/client-secrets.js'
import { insertInstance } from './services/instances/instances.js'
import { SYSTEM_CHAIN } from './services.js'
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
    dialect,
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
  let adminTokenFile: string | null = null
  if (dataDir !== null) {
    // The embedded default comes with a demo workload: an application allowed the PAM scopes, a
    // client secret, a credential, a JWT provider and an account it is granted, so the SDK's first
    // example works right after `npm start`.
    const demo = await insertApplication(
      trx,
      instance.id,
      {
        name: 'demo',
        description: 'created by npm start for the first SDK examples',
        allowedScopes: [`${PAM_AUDIENCE}|.all`],
      },
      t,
    )
    const secret = await insertClientSecret({ keyring }, trx, instance.id, demo.id, {}, t)
    await trx.insertInto('meta').values({ key: 'demo_application_id', value: demo.id }).execute()
    for (const [action, details] of [
      ['application.create', {}],
      ['client_secret.create', { clientSecretId: secret.clientSecretId }],
    ] as const) {
      await audit.append({
        instanceId: instance.id,
        actor,
        action,
        resource: { type: 'application', id: demo.id },
        outcome: 'success',
        details,
      })
    }
    // Its credential, provider, account and grants are made through the services once they are
    // open (`completeDemo`), like an admin's: this only records that they are owed.
    await markDemoPending(trx)
    replacePrivateFile(join(dataDir, DEMO_SECRET_FILE), `${secret.clientSecret}\n`)
    adminTokenFile = join(dataDir, 'admin-token')
    replacePrivateFile(adminTokenFile, `${token.token}\n`)
  }
  await audit.finish()
  return { defaultInstanceId: instance.id, adminToken: token.token, adminTokenFile }
}

export const DEMO_SECRET_FILE = 'client-secret'
export const DEMO_CONFIG_FILE = 'client-config.json'
/** The environment variable the demo client configuration names for its secret. */
export const DEMO_SECRET_ENV = 'IDAAS_CLIENT_SECRET'

/**
 * Writes `<dataDir>/client-config.json` for the demo application, in the IDaaS client
 * configuration format the SDKs read, pointing at this server as it listens now (the port may
 * differ between starts). It holds no secret: only the name of the variable that does.
 */
export async function writeDemoClientConfig(
  db: Kysely<Database>,
  dataDir: string,
  instanceId: string,
  publicUrl: string,
): Promise<string | null> {
  const demo = await db
    .selectFrom('meta')
    .select('value')
    .where('key', '=', 'demo_application_id')
    .executeTakeFirst()
  if (!demo) return null
  const issuer = `${publicUrl}/v2/${instanceId}/authorizationServer/${DEFAULT_AUTHORIZATION_SERVER}`
  const config = {
    idaasInstanceId: instanceId,
    clientId: demo.value,
    issuer,
    tokenEndpoint: `${issuer}/oauth2/token`,
    scope: `${PAM_AUDIENCE}|.all`,
    developerApiEndpoint: publicUrl,
    authnConfiguration: {
      identityType: 'CLIENT',
      authnMethod: 'CLIENT_SECRET_POST',
      clientSecretEnvVarName: DEMO_SECRET_ENV,
    },
    httpConfiguration: { connectTimeout: 5000, readTimeout: 10000 },
  }
  const path = join(dataDir, DEMO_CONFIG_FILE)
  replacePrivateFile(path, `${JSON.stringify(config, null, 2)}\n`)
  return path
}

/** Atomically replaces `path` with a 0600 file: written beside it, fsynced, then renamed over it. */
export function replacePrivateFile(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`
  rmSync(tmp, { force: true })
  writePrivateFile(tmp, content)
  renameSync(tmp, path)
}
