import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { AuditBatch } from './audit/appender.js'
import type { AuditDetails } from './audit/chain.js'
import type { Keyring } from './crypto/keyring.js'
import { newId } from './ids.js'
import { insertAccountVersion } from './services/accounts/account-secrets.js'
import { insertVersion } from './services/credentials/credentials.js'
import { generateProviderKey } from './services/providers/provider-keys.js'
import { providerSecretBinding } from './services/providers/providers.js'
import { newJwtSettings } from './services/providers/settings.js'
import type { AccountTable, CredentialTable, Database, GrantTable } from './store/schema.js'

export const DEMO_CREDENTIAL = 'demo/api-key'
export const DEMO_JWT_PROVIDER = 'demo-jwt'
export const DEMO_ACCOUNT = 'demo-db/admin'

/**
 * What the README's first developer-API and SDK examples use, made by the first `npm start`: an
 * `api_key` credential with a random value, a `jwt` credential provider, a privileged account with
 * a random password whose retrieval needs a reason, and the grants the demo application needs on
 * them. Audited like any other change, by the bootstrap.
 */
export async function insertDemoResources(
  trx: Kysely<Database>,
  keyring: Keyring,
  audit: AuditBatch,
  instanceId: string,
  demoApplicationId: string,
  now: number,
): Promise<void> {
  const actor = { type: 'system', id: 'bootstrap' } as const
  const credential: CredentialTable = {
    id: newId('cred', now),
    instance_id: instanceId,
    identifier: DEMO_CREDENTIAL,
    name: 'Demo API key',
    type: 'api_key',
    status: 'enabled',
    description: 'created by npm start for the first SDK examples',
    current_version: 1,
    created_at: now,
    updated_at: now,
  }
  await trx.insertInto('credentials').values(credential).execute()
  const value = { apiKey: `demo-${randomBytes(16).toString('hex')}` }
  await insertVersion({ keyring }, trx, credential, 1, value, actor.id, now)

  const providerId = newId('atp', now)
  const settings = newJwtSettings({})
  const key = generateProviderKey(settings.algorithm)
  const sealed = await keyring.encrypt(
    trx,
    providerSecretBinding({ instance_id: instanceId, id: providerId }),
    key.privateDer,
  )
  await trx
    .insertInto('credential_providers')
    .values({
      id: providerId,
      instance_id: instanceId,
      identifier: DEMO_JWT_PROVIDER,
      name: 'Demo JWT provider',
      description: 'created by npm start for the first SDK examples',
      type: 'jwt',
      status: 'enabled',
      settings: JSON.stringify(settings),
      secret_ciphertext: sealed.ciphertext,
      key_version: sealed.keyVersion,
      public_jwk: JSON.stringify(key.publicJwk),
      created_at: now,
      updated_at: now,
    })
    .execute()

  const account: AccountTable = {
    id: newId('acct', now),
    instance_id: instanceId,
    name: DEMO_ACCOUNT,
    display_name: 'Demo database administrator',
    description: 'created by npm start: its password is handed out with a reason',
    status: 'enabled',
    requires_reason: 1,
    has_password: 1,
    has_key: 0,
    key_supported: 0,
    key_facts: null,
    current_version: 1,
    created_at: now,
    updated_at: now,
  }
  await trx.insertInto('accounts').values(account).execute()
  const password = randomBytes(18).toString('base64url')
  await insertAccountVersion({ keyring }, trx, account, 1, { password }, actor.id, now)

  const grants: GrantTable[] = [
    { resource_type: 'credential', resource: DEMO_CREDENTIAL, actions: 'obtain' },
    { resource_type: 'credential_provider', resource: DEMO_JWT_PROVIDER, actions: 'manage,read,use' },
    { resource_type: 'account', resource: DEMO_ACCOUNT, actions: 'obtain,read' },
  ].map((g) => ({
    ...g,
    id: newId('grant', now),
    instance_id: instanceId,
    application_id: demoApplicationId,
    resource_match: 'exact',
    created_at: now,
  }))
  await trx.insertInto('grants').values(grants).execute()

  const events: [string, { type: string; id: string }, AuditDetails][] = [
    [
      'credential.create',
      { type: 'credential', id: credential.id },
      { identifier: DEMO_CREDENTIAL, credentialType: 'api_key', version: 1 },
    ],
    [
      'credential_provider.create',
      { type: 'credential_provider', id: providerId },
      { identifier: DEMO_JWT_PROVIDER, providerType: 'jwt' },
    ],
    [
      'account.create',
      { type: 'account', id: account.id },
      { accountName: DEMO_ACCOUNT, version: 1, hasPassword: true, hasKey: false, requiresReason: true },
    ],
    ...grants.map((g): [string, { type: string; id: string }, AuditDetails] => [
      'grant.create',
      { type: 'grant', id: g.id },
      {
        applicationId: demoApplicationId,
        resourceType: g.resource_type,
        resourceMatch: g.resource_match,
        resource: g.resource,
        actions: g.actions,
      },
    ]),
  ]
  for (const [action, resource, details] of events) {
    await audit.append({ instanceId, actor, action, resource, outcome: 'success', details })
  }
}
