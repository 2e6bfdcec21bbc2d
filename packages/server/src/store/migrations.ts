import SQLite from 'better-sqlite3'
import { Kysely, type Migration, type MigrationProvider, Migrator, SqliteDialect, sql } from 'kysely'
import { ServiceUnavailable } from '../errors.js'
import type { Dialect, Store } from './connect.js'
import type { Database } from './schema.js'
import { recountTokens } from './token-counts-table.js'

/**
 * The schema, as ordered migrations shared by both engines. Only the column types differ:
 * epoch milliseconds are `bigint` in PostgreSQL, blobs are `bytea`.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer'
  const blob = dialect === 'postgres' ? 'bytea' : 'blob'
  return {
    '0001_foundation': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('meta')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute()
        await db.schema
          .createTable('instances')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('updated_at', time, (c) => c.notNull())
          .execute()
        await db.schema
          .createTable('instance_keys')
          .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('wrapped', blob, (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addPrimaryKeyConstraint('instance_keys_pk', ['instance_id', 'version'])
          .execute()
        await db.schema
          .createTable('admin_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.references('instances.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('hint', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('expires_at', time)
          .addColumn('revoked_at', time)
          .addColumn('last_used_at', time)
          .execute()
        await db.schema
          .createTable('applications')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('updated_at', time, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('applications_instance')
          .on('applications')
          .columns(['instance_id', 'id'])
          .execute()
        await db.schema
          .createIndex('applications_client_id')
          .unique()
          .on('applications')
          .columns(['instance_id', 'client_id'])
          .execute()
        await db.schema
          .createTable('client_secrets')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
          .addColumn('application_id', 'text', (c) => c.notNull().references('applications.id'))
          .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
          .addColumn('hint', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('expires_at', time)
          .addColumn('revoked_at', time)
          .addColumn('last_used_at', time)
          .execute()
        await db.schema
          .createIndex('client_secrets_application')
          .on('client_secrets')
          .columns(['application_id', 'id'])
          .execute()
        await db.schema
          .createTable('credentials')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
          .addColumn('identifier', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('current_version', 'integer', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('updated_at', time, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('credentials_identifier')
          .unique()
          .on('credentials')
          .columns(['instance_id', 'identifier'])
          .execute()
        await db.schema
          .createIndex('credentials_instance')
          .on('credentials')
          .columns(['instance_id', 'id'])
          .execute()
        await db.schema
          .createTable('credential_versions')
          .addColumn('credential_id', 'text', (c) => c.notNull().references('credentials.id'))
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('key_version', 'integer', (c) => c.notNull())
          .addColumn('ciphertext', blob, (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('credential_versions_pk', ['credential_id', 'version'])
          .execute()
        await db.schema
          .createTable('grants')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
          .addColumn('application_id', 'text', (c) => c.notNull().references('applications.id'))
          .addColumn('resource_type', 'text', (c) => c.notNull())
          .addColumn('resource_match', 'text', (c) => c.notNull())
          .addColumn('resource', 'text', (c) => c.notNull())
          .addColumn('actions', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('grants_application')
          .on('grants')
          .columns(['instance_id', 'application_id', 'resource_type'])
          .execute()
        await db.schema
          .createTable('audit_events')
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('seq', time, (c) => c.notNull())
          .addColumn('time', time, (c) => c.notNull())
          .addColumn('actor_type', 'text', (c) => c.notNull())
          .addColumn('actor_id', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('resource_type', 'text')
          .addColumn('resource_id', 'text')
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('request_id', 'text')
          .addColumn('source_ip', 'text')
          .addColumn('user_agent', 'text')
          .addColumn('details', 'text', (c) => c.notNull())
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('audit_events_pk', ['instance_id', 'seq'])
          .execute()
        await db.schema
          .createIndex('audit_events_time')
          .on('audit_events')
          .columns(['instance_id', 'time'])
          .execute()
        await db.schema
          .createTable('audit_heads')
          .addColumn('instance_id', 'text', (c) => c.primaryKey())
          .addColumn('seq', time, (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute()
      },
    },
    '0002_authorization_server': {
      async up(db: Kysely<unknown>) {
        // What an application may ask for (IDaaS scope strings, space-separated) and for how long.
        await db.schema
          .alterTable('applications')
          .addColumn('allowed_scopes', 'text', (c) => c.notNull().defaultTo(''))
          .execute()
        await db.schema
          .alterTable('applications')
          .addColumn('access_token_lifetime', 'integer', (c) => c.notNull().defaultTo(3600))
          .execute()
        // Per-instance signing keys. A key's state follows from time alone, so every node agrees
        // without coordination: the active key is the one activated last; a key activating later
        // is published early; a superseded key stays published one maximum token lifetime more.
        await db.schema
          .createTable('signing_keys')
          .addColumn('kid', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
          .addColumn('alg', 'text', (c) => c.notNull())
          .addColumn('public_jwk', 'text', (c) => c.notNull())
          .addColumn('private_key', blob, (c) => c.notNull())
          .addColumn('key_version', 'integer', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('activate_at', time, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('signing_keys_instance')
          .on('signing_keys')
          .columns(['instance_id', 'activate_at'])
          .execute()
        // Revoked access tokens, by jti, kept until they would have expired anyway.
        await db.schema
          .createTable('revoked_access_tokens')
          .addColumn('jti', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull())
          .execute()
      },
    },
    '0003_client_assertions': {
      async up(db: Kysely<unknown>) {
        // Public keys an application signs its client assertions with (private_key_jwt).
        await db.schema
          .createTable('application_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
          .addColumn('application_id', 'text', (c) => c.notNull().references('applications.id'))
          .addColumn('kid', 'text', (c) => c.notNull())
          .addColumn('public_jwk', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('application_keys_application')
          .unique()
          .on('application_keys')
          .columns(['application_id', 'kid'])
          .execute()
        // Each assertion's jti is accepted once: kept until the assertion itself would have expired.
        await db.schema
          .createTable('used_client_assertions')
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('jti', 'text', (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull())
          .addPrimaryKeyConstraint('used_client_assertions_pk', ['instance_id', 'client_id', 'jti'])
          .execute()
        // client_secret_jwt (HS256) needs the secret itself: new secrets also keep a sealed copy.
        await db.schema.alterTable('client_secrets').addColumn('secret_ciphertext', blob).execute()
        await db.schema.alterTable('client_secrets').addColumn('key_version', 'integer').execute()
        await db.schema
          .createIndex('used_client_assertions_expiry')
          .on('used_client_assertions')
          .column('expires_at')
          .execute()
      },
    },
    '0004_federated_credentials': {
      async up(db: Kysely<unknown>) {
        // External OIDC issuers (Kubernetes, CI systems) whose tokens an application may present.
        await db.schema
          .createTable('federated_credentials')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
          .addColumn('application_id', 'text', (c) => c.notNull().references('applications.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('issuer', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('audiences', 'text', (c) => c.notNull())
          .addColumn('jwks_uri', 'text')
          .addColumn('jwks', 'text')
          .addColumn('created_at', time, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('federated_credentials_name')
          .unique()
          .on('federated_credentials')
          .columns(['application_id', 'name'])
          .execute()
      },
    },
    '0005_credential_providers': {
      async up(db: Kysely<unknown>) {
        // Things that mint tokens for workloads: `oauth` (client credentials upstream) and `jwt`.
        await db.schema
          .createTable('credential_providers')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
          .addColumn('identifier', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          // Non-secret settings as JSON; the secret (upstream client secret, or the JWT signing
          // key as PKCS#8) sealed under the instance's data key.
          .addColumn('settings', 'text', (c) => c.notNull())
          .addColumn('secret_ciphertext', blob, (c) => c.notNull())
          .addColumn('key_version', 'integer', (c) => c.notNull())
          .addColumn('public_jwk', 'text')
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('updated_at', time, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('credential_providers_identifier')
          .unique()
          .on('credential_providers')
          .columns(['instance_id', 'identifier'])
          .execute()
        // Every token a provider minted. The JWT is kept sealed (ObtainJwt returns it); a derived
        // short token and the token itself only as keyed hashes.
        await db.schema
          .createTable('authentication_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
          .addColumn('provider_id', 'text', (c) => c.notNull().references('credential_providers.id'))
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('consumer_id', 'text', (c) => c.notNull())
          .addColumn('consumer_type', 'text', (c) => c.notNull())
          .addColumn('creator_id', 'text', (c) => c.notNull())
          .addColumn('creator_type', 'text', (c) => c.notNull())
          .addColumn('revoked', 'integer', (c) => c.notNull())
          .addColumn('value_hash', 'text', (c) => c.notNull())
          .addColumn('value_ciphertext', blob)
          .addColumn('key_version', 'integer')
          .addColumn('short_token_hash', 'text')
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('updated_at', time, (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull())
          .execute()
        // Lists, and revoke/reinstate by consumer, walk one consumer's tokens of one provider in id order.
        await db.schema
          .createIndex('authentication_tokens_consumer')
          .on('authentication_tokens')
          .columns(['instance_id', 'provider_id', 'consumer_id', 'id'])
          .execute()
        // Only tokens asked with a derived short token have one: most rows hold null.
        await db.schema
          .createIndex('authentication_tokens_short_token')
          .unique()
          .on('authentication_tokens')
          .column('short_token_hash')
          .execute()
      },
    },
    '0006_accounts_and_bound_tokens': {
      async up(db: Kysely<unknown>) {
        // Privileged accounts, `TARGET/account`. What lists show (has a password, has a key, can the
        // key be decrypted, its public facts) is kept beside the sealed versions, so a list never
        // decrypts anything.
        await db.schema
          .createTable('accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('display_name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('requires_reason', 'integer', (c) => c.notNull())
          .addColumn('has_password', 'integer', (c) => c.notNull())
          .addColumn('has_key', 'integer', (c) => c.notNull())
          .addColumn('key_supported', 'integer', (c) => c.notNull())
          .addColumn('key_facts', 'text')
          .addColumn('current_version', 'integer', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('updated_at', time, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('accounts_name')
          .unique()
          .on('accounts')
          .columns(['instance_id', 'name'])
          .execute()
        // Every change of an account's secrets is a version: password and SSH key sealed together.
        await db.schema
          .createTable('account_versions')
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('has_password', 'integer', (c) => c.notNull())
          .addColumn('has_key', 'integer', (c) => c.notNull())
          .addColumn('key_version', 'integer', (c) => c.notNull())
          .addColumn('ciphertext', blob, (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('account_versions_pk', ['account_id', 'version'])
          .execute()
        // Sessions of key-bound session tokens: refreshable until expires_at unless revoked.
        await db.schema
          .createTable('token_sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('application_id', 'text', (c) => c.notNull())
          .addColumn('jkt', 'text', (c) => c.notNull())
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('revoked', 'integer', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('token_sessions_expiry')
          .on('token_sessions')
          .column('expires_at')
          .execute()
        // DPoP proof ids seen by any node (RFC 9449 §11.1), kept until the proof is out of its window.
        await db.schema
          .createTable('used_proof_jtis')
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('jti_hash', 'text', (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull())
          .addPrimaryKeyConstraint('used_proof_jtis_pk', ['instance_id', 'jti_hash'])
          .execute()
        await db.schema
          .createIndex('used_proof_jtis_expiry')
          .on('used_proof_jtis')
          .column('expires_at')
          .execute()
      },
    },
    '0007_session_parent_token': {
      async up(db: Kysely<unknown>) {
        // The access token a session was started with (its `jti`): revoking that token (RFC 7009)
        // ends the session. Null for sessions started before this column existed.
        await db.schema.alterTable('token_sessions').addColumn('parent_jti', 'text').execute()
        // Housekeeping keeps a revocation while a session it ended could still be live.
        await db.schema
          .createIndex('token_sessions_parent_jti')
          .on('token_sessions')
          .column('parent_jti')
          .execute()
      },
    },
    '0008_client_secret_tokens': {
      async up(db: Kysely<unknown>) {
        // The access tokens issued to a client that authenticated with a client secret, by jti,
        // kept until they expire: revoking the secret can revoke them with it (`revokeTokens`).
        await db.schema
          .createTable('client_secret_tokens')
          .addColumn('jti', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('client_secret_id', 'text', (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('client_secret_tokens_secret')
          .on('client_secret_tokens')
          .column('client_secret_id')
          .execute()
        await db.schema
          .createIndex('client_secret_tokens_expiry')
          .on('client_secret_tokens')
          .column('expires_at')
          .execute()
      },
    },
    '0009_cloud_accounts': {
      async up(db: Kysely<unknown>) {
        // Cloud accounts: a vendor's account and its long-lived access key pair, sealed per
        // version in cloud_account_keys (a rotation adds one; the old ones stay for the record).
        await db.schema
          .createTable('cloud_accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('vendor', 'text', (c) => c.notNull())
          .addColumn('vendor_account_id', 'text', (c) => c.notNull())
          .addColumn('access_key_hint', 'text', (c) => c.notNull())
          .addColumn('sts_endpoint', 'text')
          .addColumn('region', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('current_version', 'integer', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('updated_at', time, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('cloud_accounts_name')
          .unique()
          .on('cloud_accounts')
          .columns(['instance_id', 'name'])
          .execute()
        await db.schema
          .createTable('cloud_account_keys')
          .addColumn('cloud_account_id', 'text', (c) => c.notNull().references('cloud_accounts.id'))
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('access_key_hint', 'text', (c) => c.notNull())
          .addColumn('key_version', 'integer', (c) => c.notNull())
          .addColumn('ciphertext', blob, (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('cloud_account_keys_pk', ['cloud_account_id', 'version'])
          .execute()
        // The roles workloads are granted: a workload names one by its ARN, unique in the instance.
        await db.schema
          .createTable('cloud_account_roles')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
          .addColumn('cloud_account_id', 'text', (c) => c.notNull().references('cloud_accounts.id'))
          .addColumn('role_arn', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('default_duration', 'integer', (c) => c.notNull())
          .addColumn('max_duration', 'integer', (c) => c.notNull())
          .addColumn('session_policy', 'text')
          .addColumn('aws_external_id', 'text')
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('updated_at', time, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('cloud_account_roles_arn')
          .unique()
          .on('cloud_account_roles')
          .columns(['instance_id', 'role_arn'])
          .execute()
        await db.schema
          .createIndex('cloud_account_roles_name')
          .unique()
          .on('cloud_account_roles')
          .columns(['cloud_account_id', 'name'])
          .execute()
      },
    },
    '0010_used_oci_signatures': {
      async up(db: Kysely<unknown>) {
        // OCI request signatures seen by any node (services/oci/), kept until their signed date
        // leaves the window: a signature replayed to any node is refused.
        await db.schema
          .createTable('used_oci_signatures')
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('signature_hash', 'text', (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull())
          .addPrimaryKeyConstraint('used_oci_signatures_pk', ['instance_id', 'signature_hash'])
          .execute()
        await db.schema
          .createIndex('used_oci_signatures_expiry')
          .on('used_oci_signatures')
          .column('expires_at')
          .execute()
      },
    },
    '0011_several_nodes': {
      async up(db: Kysely<unknown>) {
        // The durable change sequence (store/changes.ts): what a node caches and another node's
        // change makes wrong, numbered from one counter row so that numbers follow commit order.
        await db.schema
          .createTable('changes')
          .addColumn('seq', 'bigint', (c) => c.primaryKey())
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('at', time, (c) => c.notNull())
          .execute()
        await db.schema.createIndex('changes_at').on('changes').column('at').execute()
        await db.schema
          .createTable('change_head')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .execute()
        await sql`insert into change_head (id, seq) values (1, 0)`.execute(db)
        // Failed client authentications at the OAuth endpoints, per surface and source, shared by
        // every node (http/shared-failure-throttle.ts): a token bucket each.
        await db.schema
          .createTable('auth_failures')
          .addColumn('surface', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('tokens', dialect === 'postgres' ? 'double precision' : 'real', (c) => c.notNull())
          .addColumn('at', time, (c) => c.notNull())
          .addPrimaryKeyConstraint('auth_failures_pk', ['surface', 'source'])
          .execute()
        await db.schema.createIndex('auth_failures_at').on('auth_failures').column('at').execute()
        // Upstream OAuth tokens shared by every node (services/providers/shared-upstream-tokens.ts),
        // per provider and variant (scope and custom parameters): the token, sealed, and the lease
        // of the one node fetching a new one.
        await db.schema
          .createTable('upstream_tokens')
          .addColumn('provider_id', 'text', (c) => c.notNull())
          .addColumn('variant', 'text', (c) => c.notNull())
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('generation', time, (c) => c.notNull())
          .addColumn('fetches', 'integer', (c) => c.notNull())
          .addColumn('token_ciphertext', blob)
          .addColumn('key_version', 'integer')
          .addColumn('token_type', 'text')
          .addColumn('scope', 'text')
          .addColumn('obtained_at', time)
          .addColumn('expires_at', time)
          .addColumn('usable_until', time)
          .addColumn('lease_owner', 'text')
          .addColumn('lease_until', time)
          .addColumn('failed_at', time)
          .addColumn('failure', 'text')
          .addPrimaryKeyConstraint('upstream_tokens_pk', ['provider_id', 'variant'])
          .execute()
        await db.schema
          .createIndex('upstream_tokens_expiry')
          .on('upstream_tokens')
          .column('expires_at')
          .execute()
      },
    },
    '0012_console_sessions': {
      async up(db: Kysely<unknown>) {
        // Sessions of the web console (services/console-sessions/): an admin token exchanged for a
        // cookie. Only the keyed hash of the cookie's secret is stored.
        await db.schema
          .createTable('console_sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
          .addColumn('admin_token_id', 'text', (c) => c.notNull().references('admin_tokens.id'))
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull())
          .addColumn('idle_expires_at', time, (c) => c.notNull())
          .addColumn('ended_at', time)
          .execute()
        await db.schema
          .createIndex('console_sessions_expiry')
          .on('console_sessions')
          .column('expires_at')
          .execute()
      },
    },
    '0013_audit_retention': {
      async up(db: Kysely<unknown>) {
        // Where each archived stretch of an audit chain ends (audit/archive.ts): the sequence
        // number and hash of the last event removed, and the file that holds the stretch. The
        // chain's first remaining event links to the newest anchor's hash.
        await db.schema
          .createTable('audit_anchors')
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('seq', time, (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('first_seq', time, (c) => c.notNull())
          .addColumn('archived_at', time, (c) => c.notNull())
          .addColumn('file', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('audit_anchors_pk', ['instance_id', 'seq'])
          .execute()
      },
    },
    '0014_scale_indexes': {
      async up(db: Kysely<unknown>) {
        // Audit queries by actor and by resource walk only the matching events, in seq order:
        // without this they scanned the chain from its start (650 ms for a page of one actor's
        // events, 2.2 s for a resource with none, over 1M events; npm run bench -- --scale).
        // Not an index on audit_events: that would be maintained in every group commit, on the
        // request path. audit/key-index.ts fills this table in the background, in batches sorted
        // by key; every event of a chain up to audit_key_marks.indexed_seq has its keys here.
        const keys = db.schema
          .createTable('audit_event_keys')
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('seq', time, (c) => c.notNull())
          .addPrimaryKeyConstraint('audit_event_keys_pk', ['instance_id', 'kind', 'key', 'seq'])
        await (dialect === 'sqlite' ? keys.modifyEnd(sql`without rowid`) : keys).execute()
        await db.schema
          .createTable('audit_key_marks')
          .addColumn('instance_id', 'text', (c) => c.primaryKey())
          .addColumn('indexed_seq', time, (c) => c.notNull())
          .execute()
        // The admin list of a provider's tokens (every consumer's) in id order, without sorting them all.
        await db.schema
          .createIndex('authentication_tokens_provider')
          .on('authentication_tokens')
          .columns(['instance_id', 'provider_id', 'id'])
          .execute()
      },
    },
    '0015_token_counts': {
      async up(db: Kysely<unknown>) {
        // ListAuthenticationTokens' totalCount without count(*) over every token ever minted
        // (services/authentication-tokens/token-counts.ts): counts kept by hour and minute of
        // expiry, so "not expired" is a sum of at most ~800 rows and one minute's tokens.
        const counts = db.schema
          .createTable('authentication_token_counts')
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('provider_id', 'text', (c) => c.notNull())
          .addColumn('consumer_id', 'text', (c) => c.notNull())
          .addColumn('revoked', 'integer', (c) => c.notNull())
          .addColumn('width', time, (c) => c.notNull())
          .addColumn('bucket', time, (c) => c.notNull())
          .addColumn('n', time, (c) => c.notNull())
          .addPrimaryKeyConstraint('authentication_token_counts_pk', [
            'instance_id',
            'provider_id',
            'consumer_id',
            'width',
            'bucket',
            'revoked',
          ])
        await (dialect === 'sqlite' ? counts.modifyEnd(sql`without rowid`) : counts).execute()
        // The tokens of a provider that expire within one minute, counted exactly.
        await db.schema
          .createIndex('authentication_tokens_expiry')
          .on('authentication_tokens')
          .columns(['instance_id', 'provider_id', 'expires_at'])
          .execute()
        await recountTokens(db)
      },
    },
    '0016_audit_key_blocks': {
      async up(db: Kysely<unknown>) {
        // The audit key index as posting blocks (audit/key-index.ts): one row per key per indexer
        // step, holding that key's seqs in the step, instead of one row per key per event. Under
        // ObtainCredential load the rows per event cost every request about 10 µs of CPU in the
        // indexer's steps, and its p99 4 ms. The old table is dropped and every chain indexed
        // again from its start, in the background as at any start-up.
        const blocks = db.schema
          .createTable('audit_key_blocks')
          .addColumn('instance_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('first_seq', time, (c) => c.notNull())
          .addColumn('last_seq', time, (c) => c.notNull())
          .addColumn('seqs', blob, (c) => c.notNull())
          .addPrimaryKeyConstraint('audit_key_blocks_pk', ['instance_id', 'kind', 'key', 'first_seq'])
        await (dialect === 'sqlite' ? blocks.modifyEnd(sql`without rowid`) : blocks).execute()
        await db.schema.dropTable('audit_event_keys').execute()
        await sql`delete from audit_key_marks`.execute(db)
      },
    },
    '0017_signing_key_revocation': {
      async up(db: Kysely<unknown>) {
        // A signing key revoked by an administrator (oauth/signing-keys.ts): unpublished at once
        // and trusted for no token, whatever its activation says. Set once, never cleared; the
        // key's other columns still never change.
        await db.schema.alterTable('signing_keys').addColumn('revoked_at', time).execute()
        await db.schema.alterTable('signing_keys').addColumn('revoked_reason', 'text').execute()
      },
    },
  }
}

/** The names of the migrations this version knows, oldest first (the same on both engines). */
export function migrationNames(): string[] {
  return Object.keys(migrations('sqlite'))
}

class StaticProvider implements MigrationProvider {
  constructor(private readonly all: Record<string, Migration>) {}
  async getMigrations() {
    return this.all
  }
}

/**
 * The schema, as SQLite records it (`sqlite_master`: each table, index, trigger and view with the
 * SQL that made it, but SQLite's own objects), that this version's migrations up to `last` make
 * on an empty SQLite database: what `restore` holds a backup's schema to (backup/check-copy.ts).
 */
export async function sqliteSchemaAfter(last: string): Promise<SqliteSchema> {
  const sqlite = new SQLite(':memory:')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
  try {
    const migrator = new Migrator({ db, provider: new StaticProvider(migrations('sqlite')) })
    const { error } = await migrator.migrateTo(last)
    if (error) throw error
    return sqliteSchemaOf(sqlite)
  } finally {
    await db.destroy()
  }
}

/** One entry per schema object, keyed by `type name`, valued by the SQL that made it. */
export type SqliteSchema = Map<string, string | null>

/**
 * SQLite's own tables, made by the engine as it needs them (AUTOINCREMENT, ANALYZE), whatever the
 * migrations did: left out of the comparison. By exact name and type only: SQLite refuses the
 * `sqlite_` prefix to CREATE, but not to an edit of `sqlite_master` under `writable_schema`, so a
 * trigger or view named so must still be seen.
 */
const ENGINE_TABLES = new Set([
  'sqlite_sequence',
  'sqlite_stat1',
  'sqlite_stat2',
  'sqlite_stat3',
  'sqlite_stat4',
])

/**
 * What `sqlite_master` records of `sqlite`'s schema, SQLite's own tables left out. Throws if two
 * objects share a type and a name (only an edited `sqlite_master` can hold that).
 */
export function sqliteSchemaOf(sqlite: SQLite.Database): SqliteSchema {
  const rows = sqlite.prepare('select type, name, sql from sqlite_master').all() as {
    type: string
    name: string
    sql: string | null
  }[]
  const schema: SqliteSchema = new Map()
  for (const { type, name, sql } of rows) {
    if (type === 'table' && ENGINE_TABLES.has(name)) continue
    const key = `${type} ${name}`
    if (schema.has(key)) throw new Error(`the schema names ${key} twice`)
    schema.set(key, sql)
  }
  return schema
}

/**
 * Brings the schema up to date. Kysely takes its migration lock first (a PostgreSQL advisory
 * lock; SQLite's write lock), so several nodes starting at once migrate exactly once.
 */
export async function migrate(store: Store): Promise<string[]> {
  const migrator = new Migrator({ db: store.db, provider: new StaticProvider(migrations(store.dialect)) })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    throw new ServiceUnavailable(
      `database migration failed: ${(error as Error).message ?? String(error)}`,
      error,
    )
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/** Runs `fn` in a transaction holding a cluster-wide lock (PostgreSQL advisory lock; SQLite is single-writer). */
export async function withStartupLock<T>(
  store: Store,
  fn: (trx: Kysely<import('./schema.js').Database>) => Promise<T>,
) {
  return store.db.transaction().execute(async (trx) => {
    if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(7303012315172)`.execute(trx)
    return fn(trx)
  })
}
