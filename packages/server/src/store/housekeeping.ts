import type { Services } from '../services/context.js'

/** Rows past their expiry are kept this much longer, beyond any clock skew between nodes. */
const GRACE_MS = 5 * 60_000
const DEFAULT_INTERVAL_MS = 10 * 60_000

/**
 * Deletes what can no longer matter: used client-assertion ids and revoked access tokens whose
 * tokens have expired (an expired assertion or token is refused on its `exp` anyway). Safe on
 * several nodes at once: deletes are idempotent.
 */
export async function pruneExpired(
  s: Pick<Services, 'committer' | 'now'>,
): Promise<{ assertions: number; revocations: number }> {
  const before = s.now() - GRACE_MS
  return s.committer.run(async ({ trx }) => {
    const assertions = await trx
      .deleteFrom('used_client_assertions')
      .where('expires_at', '<', before)
      .executeTakeFirst()
    const revocations = await trx
      .deleteFrom('revoked_access_tokens')
      .where('expires_at', '<', before)
      .executeTakeFirst()
    return { assertions: Number(assertions.numDeletedRows), revocations: Number(revocations.numDeletedRows) }
  })
}

/** Runs `pruneExpired` every `intervalMs` in the background; the returned function stops it. */
export function startHousekeeping(
  s: Pick<Services, 'committer' | 'now'>,
  log: { warn(obj: object, msg: string): void },
  intervalMs = DEFAULT_INTERVAL_MS,
): () => void {
  const timer = setInterval(() => {
    pruneExpired(s).catch((err: unknown) => log.warn({ err }, 'housekeeping failed; it will try again'))
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
