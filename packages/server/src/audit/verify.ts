import type { AuditVerifyResult } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import type { Database } from '../store/schema.js'
import { latestAnchor } from './anchors.js'
import { eventHash, GENESIS_HASH, rowToEvent } from './chain.js'

const PAGE = 1000

/**
 * Recomputes one chain from its first event and names the first broken link: a missing
 * sequence number, a `prevHash` that is not the previous event's hash, a hash that does not match
 * the event's content, or a head (the recorded last link) the events do not reach. When older
 * events were archived (audit/archive.ts) it starts from the newest anchor: the first remaining
 * event must be the one after it and link to its hash (the archive file itself is verified by
 * `verifyArchiveFile`).
 */
export async function verifyChain(db: Kysely<Database>, instanceId: string): Promise<AuditVerifyResult> {
  const found = await latestAnchor(db, instanceId)
  const anchor = found ? { seq: found.seq, hash: found.hash, file: found.file } : null
  let prevSeq = anchor?.seq ?? 0
  let prevHash = anchor?.hash ?? GENESIS_HASH
  let checked = 0
  const broken = (seq: number, problem: string): AuditVerifyResult => ({
    instanceId,
    ok: false,
    checked,
    headSeq: prevSeq,
    headHash: prevHash,
    firstBrokenSeq: seq,
    problem,
    anchor,
  })
  for (;;) {
    const rows = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('seq', '>', prevSeq)
      .orderBy('seq')
      .limit(PAGE)
      .execute()
    for (const row of rows) {
      const event = rowToEvent(row)
      if (event.seq !== prevSeq + 1) {
        return broken(prevSeq + 1, `event ${prevSeq + 1} is missing (the next event present is ${event.seq})`)
      }
      if (event.prevHash !== prevHash && anchor !== null && event.seq === anchor.seq + 1) {
        return broken(
          event.seq,
          `event ${event.seq} does not link to the archive anchor at seq ${anchor.seq}: its prevHash differs from the anchor's hash`,
        )
      }
      if (event.prevHash !== prevHash) {
        return broken(
          event.seq,
          `event ${event.seq} does not link to event ${prevSeq}: its prevHash differs from that event's hash`,
        )
      }
      const { prevHash: _p, hash, ...fields } = event
      if (eventHash(prevHash, fields) !== hash) {
        return broken(event.seq, `event ${event.seq} was altered: its content does not match its hash`)
      }
      prevSeq = event.seq
      prevHash = hash
      checked++
    }
    if (rows.length < PAGE) break
  }
  const head = await db
    .selectFrom('audit_heads')
    .select(['seq', 'hash'])
    .where('instance_id', '=', instanceId)
    .executeTakeFirst()
  if (head && Number(head.seq) !== prevSeq) {
    return Number(head.seq) > prevSeq
      ? broken(
          prevSeq + 1,
          `events ${prevSeq + 1} to ${head.seq} are missing: the chain head records ${head.seq} events`,
        )
      : broken(Number(head.seq) + 1, `the chain head records ${head.seq} events but ${prevSeq} are present`)
  }
  if (head && head.hash !== prevHash)
    return broken(prevSeq, `event ${prevSeq} does not match the hash recorded in the chain head`)
  return {
    instanceId,
    ok: true,
    checked,
    headSeq: prevSeq,
    headHash: prevHash,
    firstBrokenSeq: null,
    problem: null,
    anchor,
  }
}

/** Every chain in the database: the system chain and one per instance. */
export async function listChains(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('audit_heads').select('instance_id').orderBy('instance_id').execute()
  return rows.map((r) => r.instance_id)
}
