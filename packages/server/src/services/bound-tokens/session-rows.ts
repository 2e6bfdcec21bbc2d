import type { Kysely } from 'kysely'
import { prepare } from '../../store/prepared.js'
import type { Database, TokenSessionTable } from '../../store/schema.js'

/** Records a new session. */
export async function insertSession(trx: Kysely<Database>, row: TokenSessionTable): Promise<void> {
  await trx.insertInto('token_sessions').values(row).execute()
}

/** Ends a session early; idempotent. */
export async function revokeSession(trx: Kysely<Database>, instanceId: string, id: string): Promise<void> {
  await trx
    .updateTable('token_sessions')
    .set({ revoked: 1 })
    .where('id', '=', id)
    .where('instance_id', '=', instanceId)
    .execute()
}

/**
 * Everything a session token's renewal depends on, in one statement that always returns one row:
 * the session (in this instance), its application as it is now, whether the presented token
 * itself was revoked (RFC 7009), and whether the token that started the session was.
 */
export const sessionForRenewal = prepare(['sessionId', 'instanceId', 'jti'], (db, p) =>
  db
    .selectFrom(db.selectNoFrom((eb) => eb.lit(1).as('one')).as('one'))
    .leftJoin('token_sessions as ts', (join) =>
      join.on('ts.id', '=', p.sessionId).on('ts.instance_id', '=', p.instanceId),
    )
    .leftJoin('applications as a', (join) =>
      join.onRef('a.id', '=', 'ts.application_id').on('a.instance_id', '=', p.instanceId),
    )
    .leftJoin('revoked_access_tokens as r', (join) => join.on('r.jti', '=', p.jti))
    .leftJoin('revoked_access_tokens as pr', 'pr.jti', 'ts.parent_jti')
    .select([
      'ts.id as sessionId',
      'ts.application_id as applicationId',
      'ts.jkt as jkt',
      'ts.scope as scope',
      'ts.revoked as revoked',
      'ts.expires_at as expiresAt',
      'a.client_id as clientId',
      'a.status as applicationStatus',
      'a.allowed_scopes as allowedScopes',
      'r.jti as tokenRevoked',
      'pr.jti as parentRevoked',
    ]),
)

/**
 * A session's state (`SessionState`) as a unit of work sees it, for the answer that unit commits
 * to. Read after `audit.hold`: every revocation (of the session, or of the token that started
 * it) is committed with an audit event of the session's instance, so it is either seen here or
 * comes after this unit's commit.
 */
export const sessionStateInUnit = prepare(['sessionId', 'instanceId'], (db, p) =>
  db
    .selectFrom('token_sessions as ts')
    .leftJoin('revoked_access_tokens as pr', 'pr.jti', 'ts.parent_jti')
    .select(['ts.revoked as revoked', 'ts.expires_at as expiresAt', 'pr.jti as parentRevoked'])
    .where('ts.id', '=', p.sessionId)
    .where('ts.instance_id', '=', p.instanceId),
)
