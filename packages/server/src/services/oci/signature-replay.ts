import { createHash } from 'node:crypto'
import type { Services } from '../../services.js'

/**
 * Records an OCI request signature as used, for every node: the SHA-256 of what was signed (the
 * key that signed it and the signing string) goes into `used_oci_signatures` until `expiresAt`
 * (when the signed date leaves the window and the signature is refused on its date anyway), by
 * one atomic insert-if-absent. True the first time; false when any node recorded it before, the
 * signature then being a replay. What was signed is recorded rather than the signature's base64,
 * which could be re-encoded; and since RSASSA-PKCS1-v1_5 is deterministic, one signed content is
 * one signature. A new request has a new date or target or body digest, so a new signing string.
 */
export async function firstUseOfSignature(
  s: Pick<Services, 'committer'>,
  instanceId: string,
  signed: { applicationKeyId: string; signingString: string },
  expiresAt: number,
): Promise<boolean> {
  const signatureHash = createHash('sha256')
    .update(`${signed.applicationKeyId}\n${signed.signingString}`, 'utf8')
    .digest('base64url')
  const result = await s.committer.run(({ trx }) =>
    trx
      .insertInto('used_oci_signatures')
      .values({ instance_id: instanceId, signature_hash: signatureHash, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['instance_id', 'signature_hash']).doNothing())
      .executeTakeFirst(),
  )
  return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1
}
