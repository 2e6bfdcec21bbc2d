import { timingSafeEqual } from 'node:crypto'
import type { ConsoleSession } from '@strongroom/protocol'
import type { RequestMeta } from '../../audit/appender.js'
import {
  hashesEqual,
  isWellFormedSecret,
  keyedHash,
  mintSecret,
  SECRET_PREFIX,
} from '../../crypto/minted-secret.js'
import { InvalidToken } from '../../errors.js'
import { newId } from '../../ids.js'
import { type Services, SYSTEM_CHAIN } from '../../services.js'
import type { AdminTokenTable, ConsoleSessionTable } from '../../store/schema.js'
import { adminTokenUnusable, noteAdminTokenUse } from '../admin-tokens/admin-tokens.js'
import { type AuditFailure, auditBestEffort, shouldAuditFailure, writeBestEffort } from '../best-effort.js'

/** A session ends this long after sign-in whatever happens. */
export const SESSION_LIFETIME_MS = 8 * 60 * 60_000
/** …and this long after its last use. */
export const SESSION_IDLE_MS = 30 * 60_000
/** The idle end is pushed forward on use, written at most this often (like an admin token's last use). */
const IDLE_REFRESH_GRANULARITY_MS = 60_000

/**
 * The CSRF token is an HMAC of the session's secret under the hashing key, behind a label the
 * stored hash never has (the secret starts `srcon_`): nothing more to store, and knowing the
 * token (it is in the page's memory) tells nothing about the cookie.
 */
const CSRF_LABEL = 'strongroom console csrf\u0000'

/** The answer every refused session gets: the reason goes to the audit only. */
const SESSION_REFUSED = 'the console session is missing, expired or ended: sign in again'

/** The admin token behind a session: what the caller of each request is. */
export type SessionToken = Pick<AdminTokenTable, 'id' | 'name' | 'instance_id' | 'last_used_at'>

export interface ActiveSession {
  readonly session: ConsoleSessionTable
  readonly token: SessionToken
}

export function csrfTokenFor(hashKey: Buffer, secret: string): string {
  return keyedHash(hashKey, CSRF_LABEL + secret)
}

/** Whether `presented` is the CSRF token of the session whose secret is `secret`, in constant time. */
export function csrfTokenMatches(hashKey: Buffer, secret: string, presented: string): boolean {
  const expected = Buffer.from(csrfTokenFor(hashKey, secret), 'utf8')
  const given = Buffer.from(presented, 'utf8')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** Whether a cookie value has the shape and checksum of a session secret (no database work for garbage). */
export function isSessionSecret(value: string): boolean {
  return isWellFormedSecret(value, SECRET_PREFIX.consoleSession)
}

/** What the console is told about its session. */
export function sessionView(
  s: Pick<Services, 'keyring'>,
  secret: string,
  active: ActiveSession,
): ConsoleSession {
  return {
    csrfToken: csrfTokenFor(s.keyring.hashKey, secret),
    expiresAt: Number(active.session.expires_at),
    idleExpiresAt: Number(active.session.idle_expires_at),
    adminTokenId: active.token.id,
    adminTokenName: active.token.name,
    instanceScope: active.token.instance_id,
  }
}

/**
 * Opens a session for an admin token that has just authenticated. The secret is returned once,
 * for the cookie; the database keeps its keyed hash. A session never outlives its token.
 */
export async function createConsoleSession(
  s: Services,
  token: AdminTokenTable,
  request: RequestMeta,
): Promise<{ secret: string; active: ActiveSession }> {
  const secret = mintSecret(SECRET_PREFIX.consoleSession)
  const now = s.now()
  const tokenEnd = token.expires_at === null ? Number.POSITIVE_INFINITY : Number(token.expires_at)
  const expiresAt = Math.min(now + SESSION_LIFETIME_MS, tokenEnd)
  const session: ConsoleSessionTable = {
    id: newId('cs', now),
    secret_hash: keyedHash(s.keyring.hashKey, secret),
    admin_token_id: token.id,
    created_at: now,
    expires_at: expiresAt,
    idle_expires_at: Math.min(now + SESSION_IDLE_MS, expiresAt),
    ended_at: null,
  }
  await s.committer.run(async ({ trx, audit }) => {
    await trx.insertInto('console_sessions').values(session).execute()
    await audit.append({
      instanceId: SYSTEM_CHAIN,
      actor: { type: 'admin_token', id: token.id },
      action: 'console.session.create',
      resource: { type: 'console_session', id: session.id },
      outcome: 'success',
      details: { expiresAt, scope: token.instance_id },
      request,
    })
  })
  return { secret, active: { session, token } }
}

/**
 * The session a cookie's secret names, read from the database on every request (no node caches
 * it, so a sign-out or a revoked token applies at once on every node): it must exist, not be
 * ended, expired or idle too long, and its admin token must still be usable. Every refusal is the
 * same 401 and is audited in the system chain with its reason, never with the secret. Pushes the
 * idle end forward, at most once a minute.
 */
export async function authenticateConsoleSession(
  s: Services,
  secret: string,
  request: RequestMeta,
  options: { auditFailure?: AuditFailure } = {},
): Promise<ActiveSession> {
  const failure = async (why: string, found?: { id: string; admin_token_id: string }) => {
    if (!(await shouldAuditFailure(options.auditFailure))) return new InvalidToken(SESSION_REFUSED)
    await auditBestEffort(s, {
      instanceId: SYSTEM_CHAIN,
      actor: { type: 'anonymous', id: found?.admin_token_id ?? 'unknown' },
      action: 'admin.authenticate',
      ...(found ? { resource: { type: 'console_session', id: found.id } } : {}),
      outcome: 'failure',
      details: { why, via: 'console_session' },
      request,
    })
    return new InvalidToken(SESSION_REFUSED)
  }
  if (!isSessionSecret(secret)) throw await failure('malformed')
  const hash = keyedHash(s.keyring.hashKey, secret)
  const row = await s.store.db
    .selectFrom('console_sessions as cs')
    .innerJoin('admin_tokens as t', 't.id', 'cs.admin_token_id')
    .selectAll('cs')
    .select([
      't.name as token_name',
      't.instance_id as token_instance_id',
      't.revoked_at as token_revoked_at',
      't.expires_at as token_expires_at',
      't.last_used_at as token_last_used_at',
    ])
    .where('cs.secret_hash', '=', hash)
    .executeTakeFirst()
  if (!row || !hashesEqual(row.secret_hash, hash)) throw await failure('unknown')
  const now = s.now()
  if (row.ended_at !== null) throw await failure('session_ended', row)
  if (Number(row.expires_at) <= now) throw await failure('session_expired', row)
  if (Number(row.idle_expires_at) <= now) throw await failure('session_idle', row)
  const unusable = adminTokenUnusable(
    { revoked_at: row.token_revoked_at, expires_at: row.token_expires_at },
    now,
  )
  if (unusable) throw await failure(`token_${unusable}`, row)
  const session: ConsoleSessionTable = {
    id: row.id,
    secret_hash: row.secret_hash,
    admin_token_id: row.admin_token_id,
    created_at: Number(row.created_at),
    expires_at: Number(row.expires_at),
    idle_expires_at: Number(row.idle_expires_at),
    ended_at: null,
  }
  const token: SessionToken = {
    id: row.admin_token_id,
    name: row.token_name,
    instance_id: row.token_instance_id,
    last_used_at: row.token_last_used_at,
  }
  const idleEnd = Math.min(now + SESSION_IDLE_MS, session.expires_at)
  if (idleEnd - session.idle_expires_at >= IDLE_REFRESH_GRANULARITY_MS) {
    session.idle_expires_at = idleEnd
    writeBestEffort(
      s,
      'console session idle expiry',
      s.committer.run(({ trx }) =>
        trx
          .updateTable('console_sessions')
          .set({ idle_expires_at: idleEnd })
          .where('id', '=', session.id)
          .where('ended_at', 'is', null)
          .execute(),
      ),
    )
  }
  noteAdminTokenUse(s, token, now)
  return { session, token }
}

/** Ends a session at sign-out: any later use of its cookie is refused. Audited. */
export async function endConsoleSession(
  s: Services,
  active: ActiveSession,
  request: RequestMeta,
): Promise<void> {
  await s.committer.run(async ({ trx, audit }) => {
    await trx
      .updateTable('console_sessions')
      .set({ ended_at: s.now() })
      .where('id', '=', active.session.id)
      .where('ended_at', 'is', null)
      .execute()
    await audit.append({
      instanceId: SYSTEM_CHAIN,
      actor: { type: 'admin_token', id: active.token.id },
      action: 'console.session.end',
      resource: { type: 'console_session', id: active.session.id },
      outcome: 'success',
      request,
    })
  })
}
