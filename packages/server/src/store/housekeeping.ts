import { archiveAuditEvents, DAY_MS } from '../audit/archive.js'
import type { AuditRetention } from '../config/config.js'
import type { Services } from '../services.js'
import type { Committer } from './committer.js'
import { HOUR_MS, pruneTokenCounts } from './token-counts-table.js'

/** Rows past their expiry are kept this much longer, beyond any clock skew between nodes. */
const GRACE_MS = 5 * 60_000
const DEFAULT_INTERVAL_MS = 10 * 60_000

/** Rows one unit of pruning deletes at most: each unit holds the writer (on SQLite, the event loop) for it. */
const PRUNE_CHUNK = 5_000

type ExpiringTable =
  | 'used_client_assertions'
  | 'client_secret_tokens'
  | 'used_proof_jtis'
  | 'used_oci_signatures'

/**
 * Deletes the rows of `table` that expired before `before`, oldest first, in units of about
 * `chunk` rows. One DELETE of a day's replay records (a million at a busy node's rate) would hold
 * the writer for seconds, and on SQLite the event loop with it: every request would wait. Each
 * chunk is cut at the expiry of its `chunk`-th oldest row (the expiry index answers it), so it
 * takes a few more only when expiries tie.
 */
export async function pruneInChunks(
  s: { committer: Pick<Committer, 'run'> },
  table: ExpiringTable,
  before: number,
  chunk = PRUNE_CHUNK,
): Promise<number> {
  let total = 0
  for (;;) {
    const deleted = await s.committer.run(async ({ trx }) => {
      const cut = await trx
        .selectFrom(table)
        .select('expires_at')
        .where('expires_at', '<', before)
        .orderBy('expires_at')
        .limit(1)
        .offset(chunk - 1)
        .executeTakeFirst()
      const result = await trx
        .deleteFrom(table)
        .where('expires_at', cut === undefined ? '<' : '<=', cut === undefined ? before : cut.expires_at)
        .executeTakeFirst()
      return { rows: Number(result.numDeletedRows), last: cut === undefined }
    })
    total += deleted.rows
    if (deleted.last || deleted.rows === 0) return total
  }
}

/**
 * Deletes what can no longer matter: used client-assertion ids, revoked access tokens and the
 * record of which client secret obtained which token, once those tokens have expired (an expired
 * assertion or token is refused on its `exp` anyway). A
 * revocation is kept, though, while a session started with that token has not ended: it is what
 * keeps that session revoked (`token_sessions.parent_jti`). Safe on several nodes at once:
 * deletes are idempotent.
 */
export async function pruneExpired(
  s: Pick<Services, 'committer' | 'now'>,
): Promise<{ assertions: number; revocations: number; secretTokens: number }> {
  const before = s.now() - GRACE_MS
  const assertions = await pruneInChunks(s, 'used_client_assertions', before)
  const secretTokens = await pruneInChunks(s, 'client_secret_tokens', before)
  return s.committer.run(async ({ trx }) => {
    const revocations = await trx
      .deleteFrom('revoked_access_tokens')
      .where('expires_at', '<', before)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('token_sessions as ts')
              .select('ts.id')
              .whereRef('ts.parent_jti', '=', 'revoked_access_tokens.jti')
              .where('ts.expires_at', '>=', before),
          ),
        ),
      )
      .executeTakeFirst()
    return { assertions, revocations: Number(revocations.numDeletedRows), secretTokens }
  })
}

/**
 * An ended session is kept this long, so a token of it is still told `SessionExpired` or
 * `SessionRevoked` (not `SessionNotFound`) for a while; its tokens expired with it anyway.
 */
const ENDED_SESSION_RETENTION_MS = 24 * 60 * 60_000

/**
 * Deletes what key-bound tokens leave behind: DPoP proof ids past their window (a proof that old
 * is refused on its `iat`, RFC 9449 §11.1) and sessions that ended more than a day ago. Kept apart
 * from `pruneExpired` so each reports its own counts; idempotent, safe on several nodes.
 */
export async function pruneBoundTokens(
  s: Pick<Services, 'committer' | 'now'>,
): Promise<{ proofs: number; sessions: number }> {
  const now = s.now()
  const proofs = await pruneInChunks(s, 'used_proof_jtis', now - GRACE_MS)
  return s.committer.run(async ({ trx }) => {
    const sessions = await trx
      .deleteFrom('token_sessions')
      .where('expires_at', '<', now - ENDED_SESSION_RETENTION_MS)
      .executeTakeFirst()
    return { proofs, sessions: Number(sessions.numDeletedRows) }
  })
}

/**
 * Deletes the records of OCI request signatures (services/oci/signature-replay.ts) whose signed
 * date left the window: such a signature is refused on its date anyway. Idempotent, safe on
 * several nodes.
 */
export async function pruneOciSignatures(s: Pick<Services, 'committer' | 'now'>): Promise<number> {
  return pruneInChunks(s, 'used_oci_signatures', s.now() - GRACE_MS)
}

/**
 * Deletes web console sessions that ended or expired more than a day ago: their cookies are
 * refused on their end anyway; the day keeps the reason (`session_ended`, `session_expired`) in
 * the audit of a late use. Idempotent, safe on several nodes.
 */
export async function pruneConsoleSessions(s: Pick<Services, 'committer' | 'now'>): Promise<number> {
  const before = s.now() - ENDED_SESSION_RETENTION_MS
  return s.committer.run(async ({ trx }) => {
    const deleted = await trx
      .deleteFrom('console_sessions')
      .where((eb) => eb.or([eb('expires_at', '<', before), eb('ended_at', '<', before)]))
      .executeTakeFirst()
    return Number(deleted.numDeletedRows)
  })
}

/** How long the change sequence keeps a change: a node away longer forgets everything it cached. */
const CHANGE_RETENTION_MS = 24 * 60 * 60_000
/** A failure bucket untouched this long is full again (the default refills in 40 s). */
const FAILURE_BUCKET_RETENTION_MS = 60 * 60_000

/**
 * Deletes what the nodes share and no longer need: changes older than a day (never the last one,
 * which tells a node that was away longer that it missed some: store/changes.ts), failure buckets
 * untouched for an hour, and upstream tokens expired for a while and leased by no one.
 * Idempotent, safe on several nodes.
 */
export async function pruneSharedState(
  s: Pick<Services, 'committer' | 'now'>,
): Promise<{ changes: number; failureBuckets: number; upstreamTokens: number; tokenCounts: number }> {
  const now = s.now()
  return s.committer.run(async ({ trx }) => {
    const changes = await trx
      .deleteFrom('changes')
      .where('at', '<', now - CHANGE_RETENTION_MS)
      .where('seq', '<', (eb) =>
        eb.selectFrom('changes as last').select((e) => e.fn.max('last.seq').as('seq')),
      )
      .executeTakeFirst()
    const failureBuckets = await trx
      .deleteFrom('auth_failures')
      .where('at', '<', now - FAILURE_BUCKET_RETENTION_MS)
      .executeTakeFirst()
    const upstreamTokens = await trx
      .deleteFrom('upstream_tokens')
      .where((eb) =>
        eb.and([
          eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]),
          eb(eb.fn.coalesce('expires_at', 'failed_at', 'lease_until', eb.lit(0)), '<', now - GRACE_MS),
        ]),
      )
      .executeTakeFirst()
    // Counts of token expiries by hour and minute are only read for those to come; an hour of
    // margin covers any skew between the nodes' clocks.
    const tokenCounts = await pruneTokenCounts(trx, now, HOUR_MS)
    return {
      changes: Number(changes.numDeletedRows),
      failureBuckets: Number(failureBuckets.numDeletedRows),
      upstreamTokens: Number(upstreamTokens.numDeletedRows),
      tokenCounts,
    }
  })
}

/**
 * Archives the audit events older than the retention (audit/archive.ts). The cut-off is the start
 * of a UTC day, so runs within a day find nothing new and each day's run writes one file per
 * chain. Safe on several nodes: one archives, the others find the lock taken and skip.
 */
export async function archiveExpiredAudit(
  s: Pick<Services, 'store' | 'committer' | 'now'>,
  retention: AuditRetention,
): ReturnType<typeof archiveAuditEvents> {
  const before = Math.floor((s.now() - retention.days * DAY_MS) / DAY_MS) * DAY_MS
  return archiveAuditEvents(s, {
    before,
    dir: retention.archiveDir,
    actor: { type: 'system', id: 'audit-retention' },
  })
}

/**
 * Logs the head (sequence number and hash) of every audit chain that moved since the last round:
 * a record of the chain's end outside the database. Someone who can write the database can cut a
 * chain's tail and roll its head back so that `audit verify` finds nothing amiss; a head logged
 * earlier, in logs shipped off the machine, shows the event that should be there. One line per
 * chain that moved, so an idle instance costs nothing.
 */
export async function logChangedHeads(
  s: Pick<Services, 'store'>,
  logged: Map<string, number>,
  info: (obj: object, msg: string) => void,
  warn: (obj: object, msg: string) => void = info,
): Promise<void> {
  const heads = await s.store.db.selectFrom('audit_heads').select(['instance_id', 'seq', 'hash']).execute()
  const present = new Set<string>()
  for (const head of heads) {
    const seq = Number(head.seq)
    present.add(head.instance_id)
    const before = logged.get(head.instance_id)
    if (before === seq) continue
    logged.set(head.instance_id, seq)
    // A head only moves forward (archiving leaves it): one that went back is a tail cut from
    // the database, the very thing these lines are kept to show. Said at warn level, to be seen.
    if (before !== undefined && seq < before) {
      warn(
        { chain: head.instance_id, seq, hash: head.hash, loggedSeq: before },
        'audit chain head went back: events were removed from the database',
      )
    } else info({ chain: head.instance_id, seq, hash: head.hash }, 'audit chain head')
  }
  for (const [chain, seq] of logged) {
    if (present.has(chain)) continue
    logged.delete(chain)
    warn({ chain, loggedSeq: seq }, 'audit chain head is gone: the chain was removed from the database')
  }
}

/**
 * Runs `logChangedHeads`, `pruneExpired`, `pruneBoundTokens`, `pruneOciSignatures`,
 * `pruneSharedState` and `pruneConsoleSessions` every `intervalMs` in the background, and
 * `archiveExpiredAudit` when a retention is set (one run at a time); the returned function stops it.
 */
export function startHousekeeping(
  s: Pick<Services, 'store' | 'committer' | 'now'>,
  log: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void },
  intervalMs = DEFAULT_INTERVAL_MS,
  retention: AuditRetention | null = null,
): () => void {
  const failed = (err: unknown) => log.warn({ err }, 'housekeeping failed; it will try again')
  let archiving: Promise<void> | null = null
  const logged = new Map<string, number>()
  const timer = setInterval(() => {
    if (log.info) logChangedHeads(s, logged, log.info.bind(log), log.warn.bind(log)).catch(failed)
    pruneExpired(s).catch(failed)
    pruneBoundTokens(s).catch(failed)
    pruneOciSignatures(s).catch(failed)
    pruneSharedState(s).catch(failed)
    pruneConsoleSessions(s).catch(failed)
    if (retention !== null && archiving === null) {
      archiving = archiveExpiredAudit(s, retention)
        .then(({ archived }) => {
          for (const r of archived) {
            log.info?.(
              { chain: r.chain, firstSeq: r.firstSeq, lastSeq: r.lastSeq, count: r.count, file: r.file },
              'audit events archived',
            )
          }
        })
        .catch((err: unknown) => log.warn({ err }, 'audit archiving failed; it will try again'))
        .finally(() => {
          archiving = null
        })
    }
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
