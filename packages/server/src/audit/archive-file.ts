import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { basename } from 'node:path'
import type { AuditEvent } from '@strongroom/protocol'
import { canonicalJson } from './canonical-json.js'
import { CHAINED_FIELDS, chainedFields, eventHash } from './chain.js'

/**
 * The audit archive format (docs/security-model.md, "Retention"): JSON lines, one header, the
 * events of one chain oldest first, each exactly as stored (with `prevHash` and `hash`), then one
 * trailer. The header says where the stretch starts and what its first event links to; the
 * trailer where it ends, how many events it holds and the last hash, which is the anchor the
 * database keeps and the next event (in the database or the next archive) links to.
 */
export const ARCHIVE_FORMAT = 'strongroom-audit-archive'
export const ARCHIVE_VERSION = 1
/**
 * The longest line an archive may hold, newline excluded. An event's line is a few KB (an admin
 * request body is at most 256 KiB); the verifier reads no further than this into one line, so a
 * file with an endless line is reported as broken instead of filling the memory.
 */
export const MAX_LINE_BYTES = 1024 * 1024

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
  /** The header's cut-off (epoch ms): the run that wrote the file archived events older than this. */
  before: number | null
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

/**
 * The lines as the archiver writes them: `JSON.stringify` of the fields in a fixed order. The
 * verifier requires every line to be exactly that (`verifyArchiveFile`), so these functions are
 * the format: a line with a repeated key, which `JSON.parse` reads as its last value and SQLite's
 * `json_extract` as its first, or with keys reordered, spaces or other escapes, is not one of them.
 */
export function headerLine(header: Omit<ArchiveHeader, 'format' | 'version' | 'kind'>): string {
  const full: ArchiveHeader = {
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    kind: 'header',
    chain: header.chain,
    firstSeq: header.firstSeq,
    prevHash: header.prevHash,
    before: header.before,
    createdAt: header.createdAt,
  }
  return `${JSON.stringify(full)}\n`
}

/** An event's keys in an archive line: the hashed fields in the table's column order (as `rowToEvent` builds the event), then the two hashes. */
const EVENT_LINE_KEYS = [
  ...CHAINED_FIELDS,
  'prevHash',
  'hash',
] as const satisfies readonly (keyof AuditEvent)[]

export function eventLine(event: AuditEvent): string {
  return `${eventJson(event, event.details)}\n`
}

function eventJson(event: AuditEvent, details: unknown): string {
  const ordered: Record<string, unknown> = {}
  for (const key of EVENT_LINE_KEYS) ordered[key] = key === 'details' ? details : event[key]
  return JSON.stringify(ordered)
}

export function trailerLine(trailer: Omit<ArchiveTrailer, 'kind'>): string {
  const full: ArchiveTrailer = {
    kind: 'trailer',
    chain: trailer.chain,
    firstSeq: trailer.firstSeq,
    lastSeq: trailer.lastSeq,
    count: trailer.count,
    lastHash: trailer.lastHash,
  }
  return `${JSON.stringify(full)}\n`
}

/**
 * Whether `line` (without its newline) is exactly the line the archiver writes for the event it
 * parses to. `details` is written as the archiver has it, parsed from the canonical JSON the
 * database holds (so integer-like keys come first, as `JSON.parse` enumerates them).
 */
function isArchivedEventLine(line: string, event: AuditEvent): boolean {
  if (!hasExactly(event, EVENT_LINE_KEYS)) return false
  let details: unknown
  try {
    details = JSON.parse(canonicalJson(event.details))
  } catch {
    return false
  }
  return eventJson(event, details) === line
}

/** The object's own keys are exactly `keys` (their order is checked by comparing the lines). */
function hasExactly(value: object, keys: readonly string[]): boolean {
  const own = Object.keys(value)
  return own.length === keys.length && keys.every((key) => Object.hasOwn(value, key))
}

const HEADER_KEYS = ['format', 'version', 'kind', 'chain', 'firstSeq', 'prevHash', 'before', 'createdAt']
const TRAILER_KEYS = ['kind', 'chain', 'firstSeq', 'lastSeq', 'count', 'lastHash']

/**
 * Verifies one archive file on its own, reading it line by line (memory stays flat): the header,
 * every event's sequence number, link and hash from the header's `prevHash`, and the trailer's
 * range, count and last hash. Every line must be byte for byte what the archiver writes (valid
 * UTF-8, `headerLine`, `eventLine`, `trailerLine`, each ended by `\n`): a line that parses to
 * the same values but reads otherwise elsewhere (a repeated key) is reported as altered.
 * `onEvent` sees each event that verified, in order.
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
    before: null,
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
  // Opened without blocking (a FIFO named like an archive would wait for a writer forever), and
  // read only if it is a regular file.
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    return broken(null, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`)
  }
  let regular: boolean
  try {
    regular = (await handle.stat()).isFile()
  } catch (err) {
    await handle.close()
    return broken(null, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`)
  }
  if (!regular) {
    await handle.close()
    return broken(null, 'is not a regular file (a FIFO, a device or a folder named like an archive)')
  }
  const stream = handle.createReadStream({ autoClose: false })
  let header: ArchiveHeader | null = null
  let trailer: ArchiveTrailer | null = null
  let prevSeq = 0
  let prevHash = ''
  let lineNo = 0
  try {
    for await (const line of linesOf(stream)) {
      lineNo++
      const parsed = parseLine(line)
      if (header === null) {
        if (!isHeader(parsed)) return broken(null, 'line 1 is not an audit archive header')
        if (`${line}\n` !== headerLine(parsed))
          return broken(null, 'line 1 was altered: it is not the header as the archiver writes it')
        header = parsed
        result.chain = header.chain
        result.firstSeq = header.firstSeq
        result.prevHash = header.prevHash
        result.before = header.before
        prevSeq = header.firstSeq - 1
        prevHash = header.prevHash
        continue
      }
      if (trailer !== null) return broken(prevSeq + 1, `line ${lineNo} follows the trailer`)
      if (isTrailer(parsed)) {
        if (`${line}\n` !== trailerLine(parsed)) {
          return broken(
            prevSeq + 1,
            `line ${lineNo} was altered: it is not the trailer as the archiver writes it`,
          )
        }
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
      if (!isArchivedEventLine(line, event)) {
        return broken(
          event.seq,
          `event ${event.seq} was altered: its line is not the one the archiver writes (a key repeated or reordered, spaces or other escapes)`,
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
    if (err instanceof LineError)
      return broken(header === null ? null : prevSeq + 1, `line ${lineNo + 1} ${err.message}`)
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    return broken(null, `cannot be read (${code})`)
  } finally {
    stream.destroy()
    await handle.close().catch(() => {})
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

/** A line `linesOf` cannot give as text: not UTF-8, or not ended by `\n`. */
class LineError extends Error {}

/**
 * The file's lines, without their `\n`, each decoded as strict UTF-8: invalid bytes are a
 * `LineError` rather than U+FFFD, which would let other bytes pass for the archiver's. Only `\n`
 * ends a line, as the archiver writes it (a `\r` stays in its line, which is then not the
 * archiver's), and the last line must end with one too. A line longer than `MAX_LINE_BYTES` is a
 * `LineError` as soon as that many bytes of it are read: no more of it is kept.
 */
async function* linesOf(stream: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  const text = (bytes: Buffer): string => {
    try {
      return decoder.decode(bytes)
    } catch {
      throw new LineError('is not valid UTF-8')
    }
  }
  const tooLong = () =>
    new LineError(`is longer than 1 MiB (${MAX_LINE_BYTES} bytes), far more than any audit event takes`)
  let pending: Buffer[] = []
  let pendingBytes = 0
  for await (const chunk of stream) {
    let start = 0
    for (let end = chunk.indexOf(0x0a); end >= 0; end = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, end)
      if (pendingBytes + piece.length > MAX_LINE_BYTES) throw tooLong()
      yield text(pending.length === 0 ? piece : Buffer.concat([...pending, piece]))
      pending = []
      pendingBytes = 0
      start = end + 1
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start))
      pendingBytes += chunk.length - start
      if (pendingBytes > MAX_LINE_BYTES) throw tooLong()
    }
  }
  if (pending.length > 0) throw new LineError('does not end with a newline (the file was cut or appended to)')
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
    HASH.test(value.prevHash) &&
    typeof value.before === 'number' &&
    typeof value.createdAt === 'number' &&
    hasExactly(value, HEADER_KEYS)
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
    typeof value.lastHash === 'string' &&
    hasExactly(value, TRAILER_KEYS)
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
