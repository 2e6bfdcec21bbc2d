import { linkSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { createPrivateEmptyFile, fsyncPath, tempPathBeside } from '../backup/durable-file.js'
import { ConfigError } from '../errors.js'
import type { Services } from '../services.js'
import { eventLeftAtOrBelow, latestAnchor } from './anchors.js'
import type { Actor } from './appender.js'
import {
  archiveFileName,
  archiveFilePrefix,
  eventLine,
  headerLine,
  MAX_LINE_BYTES,
  trailerLine,
  verifyArchiveFile,
} from './archive-file.js'
import { withArchiveLock } from './archive-lock.js'
import { GENESIS_HASH, rowToEvent, SYSTEM_CHAIN } from './chain.js'
import { ChainVerifier, VERIFIED_COLUMNS } from './chain-verifier.js'

export const DAY_MS = 24 * 60 * 60_000
/** Events per archive file at most: one file's rows are deleted in one transaction, which holds the writer that long. */
export const DEFAULT_EVENTS_PER_FILE = 50_000
const PAGE = 1000

export interface ArchiveOptions {
  /** Events strictly older than this (epoch ms) are archived; never a chain's newest event. */
  before: number
  /** Where the files go (created 0700 if missing). */
  dir: string
  /** Recorded as the actor of each `audit.archive` event in the system chain. */
  actor: Actor
  /** The chains to archive; all by default. */
  chains?: readonly string[]
  maxEventsPerFile?: number
}

/** One stretch of one chain, now in `file` and no longer in the database. */
export interface ArchivedRange {
  chain: string
  firstSeq: number
  lastSeq: number
  count: number
  lastHash: string
  file: string
  /** A file an interrupted run had written, found and finished (its rows deleted) by this one. */
  resumed: boolean
}

export interface ArchiveResult {
  archived: ArchivedRange[]
  /** Another process (or node) was archiving: this run did nothing. */
  locked: boolean
}

type ArchiveServices = Pick<Services, 'store' | 'committer' | 'now'>

/**
 * Moves the audit events older than `before` out of the database into files, one chain at a time,
 * oldest first, keeping every chain verifiable:
 *
 * 1. under a lock only one process or node holds (audit/archive-lock.ts), for each chain, the
 *    events after its newest anchor are read in order, recomputed (a broken stretch is refused,
 *    not archived) and written to a private temporary file, which is fsynced and then linked
 *    into place under a name carrying the chain and range — before any row is deleted;
 * 2. one transaction deletes exactly those rows (their count must match), records the anchor
 *    (last sequence number and hash, the file's name) and appends an `audit.archive` event to
 *    the system chain.
 *
 * A run that stopped between 1 and 2 left a file whose first event follows the anchor: the next
 * run verifies that file against the database and finishes it, so nothing is lost or archived
 * twice. The newest event of a chain is never archived: the chain keeps a tail to append to.
 */
export async function archiveAuditEvents(
  s: ArchiveServices,
  options: ArchiveOptions,
): Promise<ArchiveResult> {
  if (!Number.isFinite(options.before)) throw new TypeError('archive: before must be epoch milliseconds')
  mkdirSync(options.dir, { recursive: true, mode: 0o700 })
  const archived: ArchivedRange[] = []
  const done = await withArchiveLock(s.store, s.committer, s.now, async (renew) => {
    removeTemporaryFiles(options.dir)
    // The chains with a head: only those have anything to archive (`readHeadSeq`), and the heads
    // are one row a chain, where `listChains` (for verification) reads every event's chain.
    const chains = options.chains ?? (await chainsWithHeads(s.store.db))
    for (const chain of chains) {
      // The head as the run finds it: the run's own `audit.archive` events (system chain) wait
      // for the next run, or archiving the system chain would never end.
      const headSeq = await readHeadSeq(s, chain)
      for (;;) {
        const range = await archiveNext(s, options, chain, headSeq)
        if (range === null) break
        archived.push(range)
        await renew()
      }
    }
    return true
  })
  return { archived, locked: done === null }
}

/** Archives the next stretch of `chain` into one file; null when nothing (more) is old enough. */
async function archiveNext(
  s: ArchiveServices,
  options: ArchiveOptions,
  chain: string,
  headSeq: number,
): Promise<ArchivedRange | null> {
  const db = s.store.db
  const anchor = (await latestAnchor(db, chain)) ?? { seq: 0, hash: GENESIS_HASH }
  if (headSeq <= anchor.seq + 1) return null

  if ('file' in anchor) {
    // As every verifier: no event may be left at or below the anchor (chain-verifier.ts).
    const broken = new ChainVerifier(chain, anchor).checkArchived(
      await eventLeftAtOrBelow(db, chain, anchor.seq),
    )
    if (broken !== null) {
      throw new ConfigError(
        `audit chain ${chain} is broken (${broken.problem}): nothing of it was archived; run strongroom audit verify`,
      )
    }
  }
  const leftOver = findLeftOver(options.dir, chain, anchor.seq + 1)
  if (leftOver !== null) return resume(s, options, chain, anchor, headSeq, leftOver)

  const max = options.maxEventsPerFile ?? DEFAULT_EVENTS_PER_FILE
  let handle: Awaited<ReturnType<typeof open>> | null = null
  let temp: string | null = null
  let prevSeq = anchor.seq
  let prevHash = anchor.hash
  let count = 0
  const verifier = new ChainVerifier(chain, 'file' in anchor ? anchor : null)
  try {
    let reachedCutOff = false
    while (!reachedCutOff) {
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .where('instance_id', '=', chain)
        .where('seq', '>', prevSeq)
        .where('seq', '<', headSeq)
        .orderBy('seq')
        .limit(Math.min(PAGE, max - count))
        .execute()
      let text = ''
      for (const row of rows) {
        const event = rowToEvent(row)
        if (event.time >= options.before) {
          reachedCutOff = true
          break
        }
        // The one check every verifier makes (chain-verifier.ts): what is archived verifies there.
        const broken = verifier.next(VERIFIED_COLUMNS.map((column) => row[column]))
        if (broken !== null) {
          throw new ConfigError(
            `audit chain ${chain} is broken (${broken.problem ?? 'a link does not verify'}): nothing of it was archived; run strongroom audit verify`,
          )
        }
        if (handle === null) {
          temp = tempPathBeside(join(options.dir, archiveFileName(chain, anchor.seq + 1, anchor.seq + 1)))
          createPrivateEmptyFile(temp)
          handle = await open(temp, 'w')
          text += headerLine({
            chain,
            firstSeq: anchor.seq + 1,
            prevHash: anchor.hash,
            before: options.before,
            createdAt: s.now(),
          })
        }
        const line = eventLine(event)
        // The verifier reads no longer line (archive-file.ts): such a file could never be verified.
        if (line.length > MAX_LINE_BYTES / 3 && Buffer.byteLength(line) - 1 > MAX_LINE_BYTES) {
          throw new ConfigError(
            `audit event ${event.seq} of chain ${chain} takes more than ${MAX_LINE_BYTES} bytes as an archive line: nothing of the chain was archived from there`,
          )
        }
        text += line
        prevSeq = event.seq
        prevHash = event.hash
        count++
      }
      if (text !== '') await handle!.write(text)
      if (rows.length < PAGE || count >= max) break
    }
    if (handle === null || temp === null) return null
    await handle.write(
      trailerLine({ chain, firstSeq: anchor.seq + 1, lastSeq: prevSeq, count, lastHash: prevHash }),
    )
    await handle.sync()
    await handle.close()
    handle = null
    const file = join(options.dir, archiveFileName(chain, anchor.seq + 1, prevSeq))
    // A link, not a rename: it fails rather than replace a file of the same name.
    linkSync(temp, file)
    fsyncPath(options.dir)
    const range = { chain, firstSeq: anchor.seq + 1, lastSeq: prevSeq, count, lastHash: prevHash, file }
    await commit(s, options, anchor, range)
    return { ...range, resumed: false }
  } finally {
    await handle?.close()
    if (temp !== null) rmSync(temp, { force: true })
  }
}

/**
 * Finishes what an interrupted run left: `file` starts right after the anchor, so its rows were
 * never deleted. It must verify on its own, link to the anchor, have been written for a cut-off no
 * later than this run's (its header's `before`), hold only events older than this run's cut-off,
 * end before the chain's head, and end on the very event the database holds at its last sequence
 * number; then its rows go. A file that fails any of that is refused, not touched.
 */
async function resume(
  s: ArchiveServices,
  options: ArchiveOptions,
  chain: string,
  anchor: { seq: number; hash: string },
  headSeq: number,
  file: string,
): Promise<ArchivedRange> {
  let lastTime = Number.NEGATIVE_INFINITY
  const check = await verifyArchiveFile(file, (event) => {
    lastTime = event.time
  })
  const refuse = (why: string, advice = 'move the file aside and run again') =>
    new ConfigError(
      `${file} was left by an interrupted archive run but ${why}: nothing was archived; ${advice}`,
    )
  if (!check.ok) throw refuse(`does not verify (${check.problem})`)
  if (check.chain !== chain || check.prevHash !== anchor.hash) throw refuse('does not link to the anchor')
  const lastSeq = check.lastSeq!
  // Never events younger than this run's cut-off, whatever the file says of itself.
  if (check.before! > options.before) {
    throw refuse(
      `it was written for a later cut-off (${timeText(check.before!)}) than this run's (${timeText(options.before)})`,
      `finish it with strongroom audit archive --before ${timeText(check.before!)} if that run was meant, else move the file aside`,
    )
  }
  if (lastTime >= options.before) {
    throw refuse(
      `its last event (seq ${lastSeq}, ${timeText(lastTime)}) is not older than this run's cut-off (${timeText(options.before)})`,
    )
  }
  if (lastSeq >= headSeq) throw refuse("reaches the chain's newest event")
  const last = await s.store.db
    .selectFrom('audit_events')
    .select('hash')
    .where('instance_id', '=', chain)
    .where('seq', '=', lastSeq)
    .executeTakeFirst()
  if (last?.hash !== check.lastHash)
    throw refuse(`does not end on the event the database holds at seq ${lastSeq}`)
  const range = {
    chain,
    firstSeq: anchor.seq + 1,
    lastSeq,
    count: check.checked,
    lastHash: check.lastHash!,
    file,
  }
  await commit(s, options, anchor, range)
  return { ...range, resumed: true }
}

/** Deletes the archived rows, records the anchor and the system event, in one transaction. */
async function commit(
  s: ArchiveServices,
  options: ArchiveOptions,
  anchor: { seq: number },
  range: Omit<ArchivedRange, 'resumed'>,
): Promise<void> {
  await s.committer.run(async ({ trx, audit }) => {
    const current = await latestAnchor(trx, range.chain)
    if ((current?.seq ?? 0) !== anchor.seq) {
      throw new ConfigError(`audit chain ${range.chain} was archived by another process meanwhile`)
    }
    // Their keys' blocks (audit/key-index.ts) go with them: for each key of an archived event, its
    // blocks that end by the last archived seq (a delete by seq alone would walk every key of the
    // chain). A block that straddles the cut stays; its archived seqs find no event any more.
    for (const [kind, column] of [
      ['actor', 'actor_id'],
      ['resource', 'resource_id'],
    ] as const) {
      await trx
        .deleteFrom('audit_key_blocks')
        .where('instance_id', '=', range.chain)
        .where('kind', '=', kind)
        .where('key', 'in', (eb) =>
          eb
            .selectFrom('audit_events')
            .select(column)
            .where('instance_id', '=', range.chain)
            .where('seq', '>', anchor.seq)
            .where('seq', '<=', range.lastSeq)
            .where(column, 'is not', null)
            .$narrowType<{ [c in typeof column]: string }>(),
        )
        .where('last_seq', '<=', range.lastSeq)
        .execute()
    }
    const deleted = await trx
      .deleteFrom('audit_events')
      .where('instance_id', '=', range.chain)
      .where('seq', '>', anchor.seq)
      .where('seq', '<=', range.lastSeq)
      .executeTakeFirst()
    if (Number(deleted.numDeletedRows) !== range.count) {
      throw new ConfigError(
        `audit chain ${range.chain}: ${deleted.numDeletedRows} event(s) found to delete between seq ${range.firstSeq} and ${range.lastSeq}, not ${range.count}; nothing was deleted`,
      )
    }
    await trx
      .insertInto('audit_anchors')
      .values({
        instance_id: range.chain,
        seq: range.lastSeq,
        hash: range.lastHash,
        first_seq: range.firstSeq,
        archived_at: s.now(),
        file: basename(range.file),
      })
      .execute()
    await audit.append({
      instanceId: SYSTEM_CHAIN,
      actor: options.actor,
      action: 'audit.archive',
      resource: { type: 'audit_chain', id: range.chain },
      outcome: 'success',
      details: {
        chain: range.chain,
        firstSeq: range.firstSeq,
        lastSeq: range.lastSeq,
        count: range.count,
        lastHash: range.lastHash,
        file: basename(range.file),
      },
    })
  })
}

/** Epoch ms as an ISO time, or as the number when it is no time at all (a header's field, as found). */
function timeText(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms)
}

/** The archive of `chain` starting at `firstSeq` that an interrupted run left, if any. */
function findLeftOver(dir: string, chain: string, firstSeq: number): string | null {
  const prefix = archiveFilePrefix(chain, firstSeq)
  const found = readdirSync(dir).filter((name) => name.startsWith(prefix) && name.endsWith('.jsonl'))
  if (found.length > 1) {
    throw new ConfigError(
      `${dir} holds ${found.length} archives of chain ${chain} starting at seq ${firstSeq} (${found.join(', ')}): keep one`,
    )
  }
  return found[0] === undefined ? null : join(dir, found[0])
}

/** Temporary files of runs that stopped before their rename: never referenced, safe to remove under the lock. */
function removeTemporaryFiles(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (/^\.audit-.*\.jsonl\.tmp-[0-9a-f]+$/.test(name)) rmSync(join(dir, name), { force: true })
  }
}

/** The sequence number of the chain's newest event (0 for a chain without one). */
async function chainsWithHeads(db: ArchiveServices['store']['db']): Promise<string[]> {
  const rows = await db.selectFrom('audit_heads').select('instance_id').orderBy('instance_id').execute()
  return rows.map((r) => r.instance_id)
}

async function readHeadSeq(s: ArchiveServices, chain: string): Promise<number> {
  const head = await s.store.db
    .selectFrom('audit_heads')
    .select('seq')
    .where('instance_id', '=', chain)
    .executeTakeFirst()
  return head ? Number(head.seq) : 0
}
