import { createHash } from 'node:crypto'
import type { Services } from '../../services.js'

/**
 * The `seenJti` of `verifyProofForRequest` for one instance, shared by every node: the proof's
 * `jti` is recorded in `used_proof_jtis` (its SHA-256, so the row is bounded whatever the client
 * sent) until the proof leaves its window, by one atomic insert-if-absent. The first node to
 * commit the row wins; any other insert of the same id, on any node, inserts nothing and the
 * proof is refused as replayed (RFC 9449 §11.1). Works alike on SQLite and PostgreSQL, where a
 * concurrent insert of the same key waits for the first transaction and then finds the conflict.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-11.1
 */
export function proofReplayGuard(
  s: Pick<Services, 'committer'>,
  instanceId: string,
): (jti: string, exp: number) => Promise<boolean> {
  return async (jti, exp) => {
    const jtiHash = createHash('sha256').update(jti, 'utf8').digest('base64url')
    const result = await s.committer.run(({ trx }) =>
      trx
        .insertInto('used_proof_jtis')
        .values({ instance_id: instanceId, jti_hash: jtiHash, expires_at: exp * 1000 })
        .onConflict((oc) => oc.columns(['instance_id', 'jti_hash']).doNothing())
        .executeTakeFirst(),
    )
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1
  }
}
