import type {
  ClientSecret,
  CreateClientSecretBody,
  CreatedClientSecret,
  ListQuery,
  RevokeClientSecretBody,
  RevokedClientSecret,
} from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import type { Binding } from '../../crypto/keyring.js'
import { keyedHash, mintSecret, SECRET_PREFIX, secretHint } from '../../crypto/minted-secret.js'
import { NotFound } from '../../errors.js'
import { newId } from '../../ids.js'
import type { Caller, Services } from '../../services.js'
import { type Page, pageById } from '../../store/pagination.js'
import type { ClientSecretTable, Database } from '../../store/schema.js'
import { requireApplication } from './applications.js'

export function toClientSecret(row: ClientSecretTable): ClientSecret {
  return {
    clientSecretId: row.id,
    applicationId: row.application_id,
    hint: row.hint,
    revoked: row.revoked_at !== null,
    createTime: Number(row.created_at),
    expirationTime: row.expires_at === null ? null : Number(row.expires_at),
    lastUsedTime: row.last_used_at === null ? null : Number(row.last_used_at),
  }
}

/** Where a client secret's sealed copy lives: bound to its row, so it cannot be moved to another. */
export function clientSecretBinding(instanceId: string, clientSecretId: string): Binding {
  return { instanceId, table: 'client_secrets', recordId: clientSecretId, field: 'secret', version: 1 }
}

/**
 * Mints a client secret. It is looked up by its keyed hash; a copy sealed under the instance's
 * data key lets the server verify client_secret_jwt (HS256) assertions, which need the secret
 * itself. The secret is returned once.
 */
export async function insertClientSecret(
  s: Pick<Services, 'keyring'>,
  trx: Kysely<Database>,
  instanceId: string,
  applicationId: string,
  body: CreateClientSecretBody,
  now: number,
): Promise<CreatedClientSecret> {
  const secret = mintSecret(SECRET_PREFIX.clientSecret)
  const id = newId('cs', now)
  const sealed = await s.keyring.encrypt(
    trx,
    clientSecretBinding(instanceId, id),
    Buffer.from(secret, 'utf8'),
  )
  const row: ClientSecretTable = {
    id,
    instance_id: instanceId,
    application_id: applicationId,
    secret_hash: keyedHash(s.keyring.hashKey, secret),
    secret_ciphertext: sealed.ciphertext,
    key_version: sealed.keyVersion,
    hint: secretHint(secret),
    created_at: now,
    expires_at: body.expiresInSeconds === undefined ? null : now + body.expiresInSeconds * 1000,
    revoked_at: null,
    last_used_at: null,
  }
  await trx.insertInto('client_secrets').values(row).execute()
  return { ...toClientSecret(row), clientSecret: secret }
}

export async function createClientSecret(
  s: Services,
  caller: Caller,
  instanceId: string,
  applicationId: string,
  body: CreateClientSecretBody,
): Promise<CreatedClientSecret> {
  return s.committer.run(async ({ trx, audit }) => {
    await requireApplication(trx, caller, instanceId, applicationId)
    const created = await insertClientSecret(s, trx, instanceId, applicationId, body, s.now())
    await audit.append({
      instanceId,
      actor: caller.actor,
      action: 'client_secret.create',
      resource: { type: 'application', id: applicationId },
      outcome: 'success',
      details: { clientSecretId: created.clientSecretId },
      request: caller.request,
    })
    return created
  })
}

export async function listClientSecrets(
  s: Services,
  caller: Caller,
  instanceId: string,
  applicationId: string,
  query: ListQuery,
): Promise<Page<ClientSecret>> {
  await requireApplication(s.store.db, caller, instanceId, applicationId)
  return pageById(
    query,
    (after, rows) =>
      s.store.db
        .selectFrom('client_secrets')
        .selectAll()
        .where('application_id', '=', applicationId)
        .$if(after !== undefined, (q) => q.where('id', '>', after!))
        .orderBy('id')
        .limit(rows)
        .execute(),
    toClientSecret,
  )
}

/**
 * Revokes a client secret: no client authenticates with it from now on. The access tokens it
 * obtained stay valid until they expire, unless `revokeTokens` is set: then every token issued
 * to a client authenticated by this secret is revoked too, in the same unit of work, and refused
 * by every node at once. Asking again with `revokeTokens` on a revoked secret revokes its tokens.
 */
export async function revokeClientSecret(
  s: Services,
  caller: Caller,
  instanceId: string,
  applicationId: string,
  clientSecretId: string,
  body: RevokeClientSecretBody = {},
): Promise<RevokedClientSecret> {
  return s.committer.run(async ({ trx, audit }) => {
    await requireApplication(trx, caller, instanceId, applicationId)
    // The token endpoint records a secret's tokens under this head too: holding it first, this
    // unit sees every token issued before it, and every later issuance sees the revocation.
    await audit.hold(instanceId)
    const row = await trx
      .selectFrom('client_secrets')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('id', '=', clientSecretId)
      .executeTakeFirst()
    if (!row)
      throw new NotFound(
        'ClientSecretNotFound',
        `client secret ${clientSecretId} does not exist for ${applicationId}`,
      )
    const revokeTokens = body.revokeTokens === true
    const newlyRevoked = row.revoked_at === null
    if (newlyRevoked) {
      row.revoked_at = s.now()
      await trx
        .updateTable('client_secrets')
        .set({ revoked_at: row.revoked_at })
        .where('id', '=', row.id)
        .execute()
    }
    const tokensRevoked = revokeTokens ? await revokeSecretTokens(trx, row.id) : 0
    if (newlyRevoked || revokeTokens) {
      await audit.append({
        instanceId,
        actor: caller.actor,
        action: 'client_secret.revoke',
        resource: { type: 'application', id: applicationId },
        outcome: 'success',
        details: { clientSecretId: row.id, revokeTokens, tokensRevoked },
        request: caller.request,
      })
    }
    return { ...toClientSecret(row), tokensRevoked }
  })
}

/**
 * Adds the tokens the secret obtained to the revocation list every verifier reads; returns how
 * many were not revoked already. Expired ones are included: housekeeping prunes both lists.
 */
async function revokeSecretTokens(trx: Kysely<Database>, clientSecretId: string): Promise<number> {
  const result = await trx
    .insertInto('revoked_access_tokens')
    .columns(['jti', 'instance_id', 'expires_at'])
    .expression(
      trx
        .selectFrom('client_secret_tokens')
        .select(['jti', 'instance_id', 'expires_at'])
        .where('client_secret_id', '=', clientSecretId),
    )
    .onConflict((oc) => oc.column('jti').doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0n)
}
