import { randomBytes } from 'node:crypto'
import type { CreateGrantBody } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { Conflict } from './errors.js'
import { createAccount } from './services/accounts/accounts.js'
import { createCredential } from './services/credentials/credentials.js'
import { createGrant } from './services/grants/grants.js'
import { createProvider } from './services/providers/providers.js'
import type { Caller, Services } from './services.js'
import type { Database } from './store/schema.js'

export const DEMO_CREDENTIAL = 'demo/api-key'
export const DEMO_JWT_PROVIDER = 'demo-jwt'
export const DEMO_ACCOUNT = 'demo-db/admin'

/**
 * Set by the bootstrap's transaction together with the demo application, removed once the demo's
 * resources all exist: a start that finds it finishes the demo, whatever an earlier one got to.
 */
const PENDING = 'demo_resources_pending'

/** The bootstrap as the admin API sees a caller: audited as `system/bootstrap`. */
const BOOTSTRAP: Caller = {
  actor: { type: 'system', id: 'bootstrap' },
  instanceScope: null,
  request: { requestId: null, sourceIp: null, userAgent: null },
}

/** Called inside the bootstrap's transaction, with the demo application it creates. */
export async function markDemoPending(trx: Kysely<Database>): Promise<void> {
  await trx.insertInto('meta').values({ key: PENDING, value: '1' }).execute()
}

/**
 * What the README's first developer-API and SDK examples use, made on the first `npm start`: an
 * `api_key` credential with a random value, a `jwt` credential provider, a privileged account with
 * a random password whose retrieval needs a reason, and the grants the demo application needs on
 * them. Each is made by the service the admin API calls, so it is checked, sealed and audited as an
 * admin's would be. Runs once the services are open; a start interrupted half-way is completed by
 * the next one (what exists is kept), and a finished demo is never made again, even if an admin
 * has since deleted part of it.
 */
export async function completeDemo(s: Services): Promise<void> {
  const meta = await s.store.db
    .selectFrom('meta')
    .select(['key', 'value'])
    .where('key', 'in', [PENDING, 'demo_application_id'])
    .execute()
  const applicationId = meta.find((m) => m.key === 'demo_application_id')?.value
  if (!meta.some((m) => m.key === PENDING) || applicationId === undefined) return
  const instanceId = s.defaultInstanceId
  const description = 'created by npm start for the first SDK examples'
  const db = s.store.db
  const has = async (table: 'credentials' | 'credential_providers', identifier: string) =>
    (await db
      .selectFrom(table)
      .select('id')
      .where('instance_id', '=', instanceId)
      .where('identifier', '=', identifier)
      .executeTakeFirst()) !== undefined

  if (!(await has('credentials', DEMO_CREDENTIAL))) {
    await unlessTaken(
      createCredential(s, BOOTSTRAP, instanceId, {
        credentialIdentifier: DEMO_CREDENTIAL,
        credentialName: 'Demo API key',
        credentialType: 'api_key',
        description,
        value: { apiKey: `demo-${randomBytes(16).toString('hex')}` },
      }),
    )
  }
  if (!(await has('credential_providers', DEMO_JWT_PROVIDER))) {
    await unlessTaken(
      createProvider(s, BOOTSTRAP, instanceId, {
        credentialProviderIdentifier: DEMO_JWT_PROVIDER,
        credentialProviderName: 'Demo JWT provider',
        credentialProviderType: 'jwt',
        description,
      }),
    )
  }
  const account = await db
    .selectFrom('accounts')
    .select('id')
    .where('instance_id', '=', instanceId)
    .where('name', '=', DEMO_ACCOUNT)
    .executeTakeFirst()
  if (account === undefined) {
    await unlessTaken(
      createAccount(s, BOOTSTRAP, instanceId, {
        accountName: DEMO_ACCOUNT,
        displayName: 'Demo database administrator',
        description: 'created by npm start: its password is handed out with a reason',
        requiresReason: true,
        password: randomBytes(18).toString('base64url'),
      }),
    )
  }
  const grants: CreateGrantBody[] = [
    { applicationId, resourceType: 'credential', resource: DEMO_CREDENTIAL, actions: ['obtain'] },
    {
      applicationId,
      resourceType: 'credential_provider',
      resource: DEMO_JWT_PROVIDER,
      actions: ['manage', 'read', 'use'],
    },
    { applicationId, resourceType: 'account', resource: DEMO_ACCOUNT, actions: ['obtain', 'read'] },
  ]
  for (const grant of grants) {
    const made = await db
      .selectFrom('grants')
      .select('id')
      .where('instance_id', '=', instanceId)
      .where('application_id', '=', applicationId)
      .where('resource_type', '=', grant.resourceType)
      .where('resource', '=', grant.resource)
      .executeTakeFirst()
    if (made === undefined) await createGrant(s, BOOTSTRAP, instanceId, { ...grant, resourceMatch: 'exact' })
  }
  await s.committer.run(({ trx }) => trx.deleteFrom('meta').where('key', '=', PENDING).execute())
}

/** Another start made it between the check and the write: it exists, which is all that is needed. */
async function unlessTaken(creation: Promise<unknown>): Promise<void> {
  try {
    await creation
  } catch (err) {
    if (!(err instanceof Conflict)) throw err
  }
}
