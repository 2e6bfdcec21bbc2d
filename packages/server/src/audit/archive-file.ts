import { createReadStream } from 'node:fs'
import { basename } from 'node:path'
import { createInterface } from 'node:readline'
import type { AuditEvent } from '@strongroom/protocol'
import { chainedFields, eventHash } from './chain.js'

/**
 * The audit archive format (docs/security-model.md, "Retention"): JSON lines, one header, the
 * events of one chain oldest first, each exactly as stored (with `prevHash` and `hash`), then one
 * trailer. The header says where the stretch starts and what its first event links to; the
 * trailer where it ends, how many events it holds and the last hash, which is the anchor the
 * database keeps and the next event (in the database or the next archive) links to.
 */
export const ARCHIVE_FORMAT = 'strongroom-audit-archive'
export const ARCHIVE_VERSION = 1

export interface ArchiveHeader {
  format: typeof ARCHIVE_FORMAT
  version: typeof ARCHIVE_VERSION
  kind: 'header'
  chain: string
  firstSeq: number
  /** The hash the first event links to: the previous archive's last hash, or 64 zeros. */
  prevHash: string
  /** Events older than this (epoch ms) were archived. */
  before: number
  createdAt: number
}

export interface ArchiveTrailer {
  kind: 'trailer'
  chain: string
  firstSeq: number
  lastSeq: number
  count: number
  lastHash: string
}

/** What checking one archive file found. `ok` only if every link, hash and count agrees. */
export interface ArchiveCheck {
  file: string
  ok: boolean
  chain: string | null
  firstSeq: number | null
  lastSeq: number | null
  /** The hash the first event links to (from the header). */
  prevHash: string | null
  /** The last event's hash: what the anchor and the next event must hold. */
  lastHash: string | null
  /** Events whose hash was recomputed. */
  checked: number
  /** The sequence number of the first broken link (or, for a broken header or trailer, the nearest). */
  firstBrokenSeq: number | null
  problem: string | null
}

const HASH = /^[0-9a-f]{64}$/
const SAFE_CHAIN = /^[A-Za-z0-9_-]{1,64}$/

/** `audit-<chain>-<first seq>-<last seq>.jsonl`, numbers zero-padded so that names sort by sequence. */
export function archiveFileName(chain: string, firstSeq: number, lastSeq: number): string {
  if (!SAFE_CHAIN.test(chain))
    throw new TypeError(`audit chain id "${chain.slice(0, 64)}" cannot name a file`)
  return `audit-${chain}-${pad(firstSeq)}-${pad(lastSeq)}.jsonl`
}

/** The prefix of every archive of `chain` that starts at `firstSeq`. */
export function archiveFilePrefix(chain: string, firstSeq: number): string {
  return `audit-${chain}-${pad(firstSeq)}-`
}

/** Reads the chain and range out of an archive's name; null for any other file. */
export function parseArchiveFileName(
  name: string,
): { chain: string; firstSeq: number; lastSeq: number } | null {
  const match = /^audit-([A-Za-z0-9_-]{1,64})-(\d{12,})-(\d{12,})\.jsonl$/.exec(name)
  if (!match) return null
  return { chain: match[1]!, firstSeq: Number(match[2]), lastSeq: Number(match[3]) }
}

function pad(seq: number): string {
  return String(seq).padStart(12, '0')
}

export function headerLine(header: Omit<ArchiveHeader, 'format' | 'version' | 'kind'>): string {
  const full: ArchiveHeader = { format: ARCHIVE_FORMAT, version: ARCHIVE_VERSION, kind: 'header', ...header }
  return `${JSON.stringify(full)}\n`
}

export function eventLine(event: AuditEvent): string {
  return `${JSON.stringify(event)}\n`
}

export function trailerLine(trailer: Omit<ArchiveTrailer, 'kind'>): string {
  return `${JSON.stringify({ kind: 'trailer', ...trailer } satisfies ArchiveTrailer)}\n`
}

/**
 * Verifies one archive file on its own, reading it line by line (memory stays flat): the header,
 * every event's sequence number, link and hash from the header's `prevHash`, and the trailer's
 * range, count and last hash. `onEvent` sees each event that verified, in order.
 */
export async function verifyArchiveFile(
  file: string,
  onEvent?: (event: AuditEvent) => void,
): Promise<ArchiveCheck> {
  const result: ArchiveCheck = {
    file,
    ok: false,
    chain: null,
    firstSeq: null,
    lastSeq: null,
    prevHash: null,
    lastHash: null,
    checked: 0,
    firstBrokenSeq: null,
    problem: null,
  }
  const broken = (seq: number | null, problem: string): ArchiveCheck => ({
    ...result,
    ok: false,
    firstBrokenSeq: seq,
    problem: `${basename(file)}: ${problem}`,
  })
  const stream = createReadStream(file, { encoding: 'utf8' })
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })
  let header: ArchiveHeader | null = null
  let trailer: ArchiveTrailer | null = null
  let prevSeq = 0
  let prevHash = ''
  let lineNo = 0
  try {
    for await (const line of lines) {
      lineNo++
      const parsed = parseLine(line)
      if (header === null) {
        if (!isHeader(parsed)) return broken(null, 'line 1 is not an audit archive header')
        header = parsed
        result.chain = header.chain
        result.firstSeq = header.firstSeq
        result.prevHash = header.prevHash
        prevSeq = header.firstSeq - 1
        prevHash = header.prevHash
        continue
      }
      if (trailer !== null) return broken(prevSeq + 1, `line ${lineNo} follows the trailer`)
      if (isTrailer(parsed)) {
        trailer = parsed
        continue
      }
      if (!isEvent(parsed)) return broken(prevSeq + 1, `line ${lineNo} is not an audit event`)
      const event = parsed
      if (event.instanceId !== header.chain) {
        return broken(
          event.seq,
          `event ${event.seq} belongs to chain ${event.instanceId}, not ${header.chain}`,
        )
      }
      if (event.seq !== prevSeq + 1) {
        return broken(prevSeq + 1, `event ${prevSeq + 1} is missing (the next event present is ${event.seq})`)
      }
      if (event.prevHash !== prevHash) {
        return broken(
          event.seq,
          event.seq === header.firstSeq
            ? `event ${event.seq} does not link to the header's prevHash`
            : `event ${event.seq} does not link to event ${prevSeq}: its prevHash differs from that event's hash`,
        )
      }
      if (eventHash(prevHash, chainedFields(event)) !== event.hash) {
        return broken(event.seq, `event ${event.seq} was altered: its content does not match its hash`)
      }
      prevSeq = event.seq
      prevHash = event.hash
      result.checked++
      result.lastSeq = event.seq
      result.lastHash = event.hash
      onEvent?.(event)
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    return broken(null, `cannot be read (${code})`)
  } finally {
    lines.close()
    stream.destroy()
  }
  if (header === null) return broken(null, 'the file is empty')
  if (trailer === null) {
    return broken(prevSeq + 1, `the file ends after event ${prevSeq} without its trailer (truncated?)`)
  }
  if (result.checked === 0) return broken(header.firstSeq, 'the archive holds no event')
  if (
    trailer.chain !== header.chain ||
    trailer.firstSeq !== header.firstSeq ||
    trailer.lastSeq !== prevSeq ||
    trailer.count !== result.checked
  ) {
    return broken(
      prevSeq + 1,
      `the trailer says events ${trailer.firstSeq} to ${trailer.lastSeq} (${trailer.count}) but the file holds ${header.firstSeq} to ${prevSeq} (${result.checked})`,
    )
  }
  if (trailer.lastHash !== prevHash) {
    return broken(prevSeq, `the trailer's lastHash is not the hash of event ${prevSeq}`)
  }
  return { ...result, ok: true }
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line)
  } catch {
    return undefined
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1
}

function isHeader(value: unknown): value is ArchiveHeader {
  return (
    isRecord(value) &&
    value.format === ARCHIVE_FORMAT &&
    value.version === ARCHIVE_VERSION &&
    value.kind === 'header' &&
    typeof value.chain === 'string' &&
    isSeq(value.firstSeq) &&
    typeof value.prevHash === 'string' &&
    HASH.test(value.prevHash)
  )
}

function isTrailer(value: unknown): value is ArchiveTrailer {
  return (
    isRecord(value) &&
    value.kind === 'trailer' &&
    typeof value.chain === 'string' &&
    isSeq(value.firstSeq) &&
    isSeq(value.lastSeq) &&
    isSeq(value.count) &&
    typeof value.lastHash === 'string'
  )
}

/** Enough of an event's shape to hash it; a field of the wrong type makes the hash differ anyway. */
function isEvent(value: unknown): value is AuditEvent {
  return (
    isRecord(value) &&
    !('kind' in value) &&
    typeof value.instanceId === 'string' &&
    isSeq(value.seq) &&
    typeof value.prevHash === 'string' &&
    typeof value.hash === 'string' &&
    isRecord(value.details)
  )
}
