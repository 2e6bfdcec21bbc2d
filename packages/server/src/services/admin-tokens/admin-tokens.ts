import {
  type AdminToken,
  type CreateAdminTokenBody,
  type CreatedAdminToken,
  ExpiresIn,
  type ListQuery,
} from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import type { RequestMeta } from '../../audit/appender.js'
import {
  hashesEqual,
  isWellFormedSecret,
  keyedHash,
  mintSecret,
  SECRET_PREFIX,
  secretHint,
} from '../../crypto/minted-secret.js'
import { InvalidParameter, InvalidToken, NotFound } from '../../errors.js'
import { newId } from '../../ids.js'
import { type Caller, type Services, SYSTEM_CHAIN } from '../../services.js'
import { type Page, pageById } from '../../store/pagination.js'
import type { AdminTokenTable, Database } from '../../store/schema.js'
import { type AuditFailure, auditBestEffort, shouldAuditFailure, writeBestEffort } from '../best-effort.js'
import { requireInstance } from '../instances/instances.js'

const LAST_USED_GRANULARITY_MS = 60_000
/** The least `expiresInSeconds` a request may ask for (the protocol's `ExpiresIn`). */
const MIN_EXPIRES_IN_S: number = ExpiresIn.minimum ?? 60

export function toAdminToken(row: AdminTokenTable): AdminToken {
  return {
    adminTokenId: row.id,
    name: row.name,
    instanceId: row.instance_id,
    hint: row.hint,
    revoked: row.revoked_at !== null,
    createTime: Number(row.created_at),
    expirationTime: row.expires_at === null ? null : Number(row.expires_at),
    lastUsedTime: row.last_used_at === null ? null : Number(row.last_used_at),
  }
}

/** Mints an admin token and stores its keyed hash, in the caller's transaction. The token is returned once. */
export async function insertAdminToken(
  s: Pick<Services, 'keyring'>,
  trx: Kysely<Database>,
  body: CreateAdminTokenBody,
  now: number,
): Promise<CreatedAdminToken> {
  const token = mintSecret(SECRET_PREFIX.adminToken)
  const row: AdminTokenTable = {
    id: newId('atk', now),
    instance_id: body.instanceId ?? null,
    name: body.name,
    token_hash: keyedHash(s.keyring.hashKey, token),
    hint: secretHint(token),
    created_at: now,
    expires_at: body.expiresInSeconds === undefined ? null : now + body.expiresInSeconds * 1000,
    revoked_at: null,
    last_used_at: null,
  }
  await trx.insertInto('admin_tokens').values(row).execute()
  return { ...toAdminToken(row), token }
}

export async function createAdminToken(
  s: Services,
  caller: Caller,
  body: CreateAdminTokenBody,
): Promise<CreatedAdminToken> {
  // A token limited to an instance may only mint tokens limited to that same instance.
  const scoped: CreateAdminTokenBody =
    caller.instanceScope === null ? body : { ...body, instanceId: body.instanceId ?? caller.instanceScope }
  return s.committer.run(async ({ trx, audit }) => {
    if (scoped.instanceId !== undefined) await requireInstance(trx, caller, scoped.instanceId)
    const now = s.now()
    const created = await insertAdminToken(s, trx, await withinCallersLifetime(trx, caller, scoped, now), now)
    await audit.append({
      instanceId: SYSTEM_CHAIN,
      actor: caller.actor,
      action: 'admin_token.create',
      resource: { type: 'admin_token', id: created.adminTokenId },
      outcome: 'success',
      details: { scope: created.instanceId },
      request: caller.request,
    })
    return created
  })
}

/**
 * A token that expires may only mint tokens that expire no later: otherwise a short-lived token
 * (or a console session on one) could make itself a permanent successor. Left out, the expiry is
 * the caller's; asked for longer, the request is refused naming how long is left. Read in the
 * transaction that inserts, so it is the caller's token as stored, not as it was when it signed in.
 */
async function withinCallersLifetime(
  trx: Kysely<Database>,
  caller: Caller,
  body: CreateAdminTokenBody,
  now: number,
): Promise<CreateAdminTokenBody> {
  if (caller.actor.type !== 'admin_token') return body
  const parent = await trx
    .selectFrom('admin_tokens')
    .select('expires_at')
    .where('id', '=', caller.actor.id)
    .executeTakeFirst()
  if (parent?.expires_at == null) return body
  const leftS = Math.floor((Number(parent.expires_at) - now) / 1000)
  if (leftS < 1) {
    throw new InvalidParameter(
      'expiresInSeconds',
      'cannot be met: the admin token that creates it expires within a second',
    )
  }
  if (body.expiresInSeconds === undefined) return { ...body, expiresInSeconds: leftS }
  if (body.expiresInSeconds > leftS) {
    throw new InvalidParameter(
      'expiresInSeconds',
      leftS < MIN_EXPIRES_IN_S
        ? `must be left out: the admin token that creates it expires in ${leftS} s, and a token may not outlive it`
        : `must be at most ${leftS}: a token may not outlive the admin token that creates it`,
    )
  }
  return body
}

export async function listAdminTokens(
  s: Services,
  caller: Caller,
  query: ListQuery,
): Promise<Page<AdminToken>> {
  const scope = caller.instanceScope
  return pageById(
    query,
    (after, rows) =>
      s.store.db
        .selectFrom('admin_tokens')
        .selectAll()
        .$if(scope !== null, (q) => q.where('instance_id', '=', scope!))
        .$if(after !== undefined, (q) => q.where('id', '>', after!))
        .orderBy('id')
        .limit(rows)
        .execute(),
    toAdminToken,
  )
}

export async function revokeAdminToken(
  s: Services,
  caller: Caller,
  adminTokenId: string,
): Promise<AdminToken> {
  return s.committer.run(async ({ trx, audit }) => {
    const row = await trx
      .selectFrom('admin_tokens')
      .selectAll()
      .where('id', '=', adminTokenId)
      .executeTakeFirst()
    if (!row || (caller.instanceScope !== null && row.instance_id !== caller.instanceScope)) {
      throw new NotFound('AdminTokenNotFound', `admin token ${adminTokenId} does not exist`)
    }
    if (row.revoked_at === null) {
      row.revoked_at = s.now()
      await trx
        .updateTable('admin_tokens')
        .set({ revoked_at: row.revoked_at })
        .where('id', '=', row.id)
        .execute()
      await audit.append({
        instanceId: SYSTEM_CHAIN,
        actor: caller.actor,
        action: 'admin_token.revoke',
        resource: { type: 'admin_token', id: row.id },
        outcome: 'success',
        request: caller.request,
      })
    }
    return toAdminToken(row)
  })
}

/**
 * Checks a presented admin token: shape and checksum first (no database work for garbage), then
 * the keyed hash, revocation and expiry. Every failure is audited on the system chain, never
 * with the presented value, and answered with the same 401 so a caller learns nothing.
 */
export async function authenticateAdminToken(
  s: Services,
  presented: string | undefined,
  request: RequestMeta,
  options: { auditFailure?: AuditFailure } = {},
): Promise<AdminTokenTable> {
  const failure = async (why: string, tokenId: string | null) => {
    if (!(await shouldAuditFailure(options.auditFailure))) return new InvalidToken()
    // Refusing is what matters here; an audit outage must not turn a 401 into something else.
    await auditBestEffort(s, {
      instanceId: SYSTEM_CHAIN,
      actor: { type: 'anonymous', id: tokenId ?? 'unknown' },
      action: 'admin.authenticate',
      outcome: 'failure',
      details: { why },
      request,
    })
    return new InvalidToken()
  }
  if (presented === undefined) throw await failure('missing', null)
  if (!isWellFormedSecret(presented, SECRET_PREFIX.adminToken)) throw await failure('malformed', null)
  const hash = keyedHash(s.keyring.hashKey, presented)
  const row = await s.store.db
    .selectFrom('admin_tokens')
    .selectAll()
    .where('token_hash', '=', hash)
    .executeTakeFirst()
  if (!row || !hashesEqual(row.token_hash, hash)) throw await failure('unknown', null)
  const now = s.now()
  const unusable = adminTokenUnusable(row, now)
  if (unusable) throw await failure(unusable, row.id)
  noteAdminTokenUse(s, row, now)
  return row
}

/**
 * Why a stored admin token can no longer be used at `now`, or null when it can: checked on every
 * request, whether the token is presented or stands behind a console session.
 */
export function adminTokenUnusable(
  row: Pick<AdminTokenTable, 'revoked_at' | 'expires_at'>,
  now: number,
): 'revoked' | 'expired' | null {
  if (row.revoked_at !== null) return 'revoked'
  if (row.expires_at !== null && Number(row.expires_at) <= now) return 'expired'
  return null
}

/** Records that the token was used, at most once a minute, without making anyone wait. */
export function noteAdminTokenUse(
  s: Services,
  row: Pick<AdminTokenTable, 'id' | 'last_used_at'>,
  now: number,
): void {
  if (row.last_used_at !== null && now - Number(row.last_used_at) <= LAST_USED_GRANULARITY_MS) return
  writeBestEffort(
    s,
    'admin token last-used time',
    s.committer.run(({ trx }) =>
      trx.updateTable('admin_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute(),
    ),
  )
}
