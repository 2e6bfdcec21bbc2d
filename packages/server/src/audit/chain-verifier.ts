import { hash as sha } from 'node:crypto'
import type { AuditVerifyResult } from '@strongroom/protocol'
import { canonicalJson } from './canonical-json.js'
import { GENESIS_HASH, SYSTEM_CHAIN } from './chain.js'

/**
 * The columns of `audit_events` the verifier reads, in the order `ChainVerifier.next` takes them:
 * the table's, without `instance_id` (rows are asked for by it, and the chain's id is hashed).
 */
export const VERIFIED_COLUMNS = [
  'seq',
  'time',
  'actor_type',
  'actor_id',
  'action',
  'resource_type',
  'resource_id',
  'outcome',
  'reason',
  'request_id',
  'source_ip',
  'user_agent',
  'details',
  'prev_hash',
  'hash',
] as const

/** One stored event as the driver returned it, its values in `VERIFIED_COLUMNS` order. */
export type StoredEventRow = readonly unknown[]

/**
 * Where verification starts when older events were archived: the newest anchor. It must be below
 * the chain's head, and no event may remain at or below it (`checkArchived`, `finish`).
 */
export interface VerifyAnchor {
  seq: number
  hash: string
  file: string
}

/**
 * The one check of an audit chain as stored, shared by every verifier of the database (online,
 * offline on SQLite and PostgreSQL, against archives): fed the chain's rows in sequence order, it
 * names the first broken link, then compares the end with the chain's head.
 *
 * An event verifies when it is the next one, links to the previous hash (or the anchor's), and
 * SHA-256(prevHash ‖ canonical JSON of the event) is its hash, the canonical JSON built straight
 * from the column values: `eventHash(prevHash, chainedFields(rowToEvent(row)))` for every row that
 * passes, without parsing `details` back into an object and serialising it again. That is sound
 * only because the stored `details` text must itself be canonical JSON, byte for byte what was
 * hashed: a text that parses to the same object but is written otherwise (keys in another order,
 * whitespace, other escapes or number forms, a repeated key) is reported as altered. It is: the
 * appender never writes one, and it is how an insider would make SQL (`json_extract`, `->>`, which
 * keep the first of repeated keys where `JSON.parse` keeps the last) see other details than the
 * hash covers. For the same reason `seq` and `time` must be stored as integers (PostgreSQL's
 * `bigint` arrives as its decimal text), and every text column as text or, where it may be, null.
 */
export class ChainVerifier {
  private prevSeq: number
  private prevHash: string
  private checked = 0
  /** Whether the page being read may start with the last event verified once more (`nextPage`). */
  private repeatAllowed = false
  private readonly quotedChain: string
  /**
   * What is hashed, written in place: the previous hash's bytes (`prefix` of them: 32, or fewer
   * for an anchor whose hash is not hex, as `Buffer.from(hash, 'hex')` reads it), then the JSON.
   */
  private buffer = Buffer.alloc(4096)
  private prefix: number

  constructor(
    private readonly instanceId: string,
    private readonly anchor: VerifyAnchor | null,
  ) {
    this.prevSeq = anchor?.seq ?? 0
    this.prevHash = anchor?.hash ?? GENESIS_HASH
    this.prefix = this.buffer.write(this.prevHash, 0, 'hex')
    this.quotedChain = JSON.stringify(instanceId)
  }

  /** The last sequence number verified (or the anchor's): the next row asked for comes after it. */
  get lastSeq(): number {
    return this.prevSeq
  }

  /**
   * Where the next page of rows starts. Past the anchor (or the start) before any event was
   * verified; after that, at the last event verified, inclusive: that row comes again and is
   * passed over once, and any other row of its sequence number is reported. Paging from past it
   * (`seq > last`) could not see a second row of the number that ended a page: an insider who
   * dropped the primary key planted one there, and every verifier said the chain was intact.
   */
  nextPage(): { from: number; inclusive: boolean } {
    this.repeatAllowed = this.checked > 0
    return { from: this.prevSeq, inclusive: this.repeatAllowed }
  }

  /**
   * Before the first row, when the chain starts from an anchor: `remaining` is the lowest
   * sequence number still stored at or below the anchor's (undefined when there is none, as there
   * must be: archiving deletes the events up to an anchor in the transaction that records it).
   * Otherwise a row of `audit_anchors` alone, inserted at the head, would take every stored event
   * out of verification. Null while that holds; otherwise the broken result, and the caller stops.
   */
  checkArchived(remaining: unknown): AuditVerifyResult | null {
    const anchor = this.anchor
    if (anchor === null || remaining === undefined || remaining === null) return null
    const seq = storedInteger(remaining) ?? anchor.seq
    return this.broken(
      seq,
      `event ${seq} is still in the database although the archive anchor at seq ${anchor.seq} (${anchor.file}) records the events up to it as archived: archiving deletes them with the anchor`,
    )
  }

  /**
   * Checks the chain's next stored event. Null while the chain holds; otherwise the result naming
   * the first broken link, and the caller stops reading.
   */
  next(row: StoredEventRow): AuditVerifyResult | null {
    const seq = storedInteger(row[0])
    if (seq !== undefined && seq === this.prevSeq && this.checked > 0) {
      // The page's first row, the last event verified read again (`nextPage`): passed over once.
      if (this.repeatAllowed && row[14] === this.prevHash) {
        this.repeatAllowed = false
        return null
      }
      return this.broken(
        seq,
        `event ${seq} is stored more than once: another row has its sequence number, which no append writes`,
      )
    }
    this.repeatAllowed = false
    const expected = this.prevSeq + 1
    if (seq !== expected) {
      const present = seq ?? String(row[0])
      return this.broken(expected, `event ${expected} is missing (the next event present is ${present})`)
    }
    const prevHash = row[13]
    if (prevHash !== this.prevHash) {
      return this.broken(
        seq,
        this.anchor !== null && seq === this.anchor.seq + 1
          ? `event ${seq} does not link to the archive anchor at seq ${this.anchor.seq}: its prevHash differs from the anchor's hash`
          : `event ${seq} does not link to event ${this.prevSeq}: its prevHash differs from that event's hash`,
      )
    }
    const details = row[12]
    if (typeof details !== 'string' || !isCanonicalJson(details)) {
      return this.broken(
        seq,
        `event ${seq} was altered: its details are not stored as the canonical JSON its hash covers`,
      )
    }
    const json = canonicalRowJson(row, this.quotedChain, seq, details)
    const hash = row[14]
    if (json === null || typeof hash !== 'string' || this.hashOf(json) !== hash) {
      return this.broken(seq, `event ${seq} was altered: its content does not match its hash`)
    }
    this.prevSeq = seq
    this.prevHash = hash
    // The hash is the one just computed, so 64 hex digits: 32 bytes.
    this.prefix = this.buffer.write(hash, 0, 'hex')
    this.checked++
    return null
  }

  /** After the last row: the chain must end where its head (the recorded last link) says. */
  finish(head: { seq: unknown; hash: unknown } | undefined): AuditVerifyResult {
    // Every chain gets its head with its instance, in the same commit: without one, nothing says
    // where the chain ends, so a cut tail (or a chain rewritten from the start) could not be seen.
    if (!head) {
      return this.result(
        false,
        null,
        'the chain has no head (the record of its last event): where it ends cannot be checked',
      )
    }
    // An instance's chain begins with its `instance.create`, in the commit that makes its head: a
    // head at 0 is a chain emptied and rolled back to its start (every event, anchor and archive
    // of it deleted), which would otherwise verify as a chain with nothing to check.
    if (this.instanceId !== SYSTEM_CHAIN && Number(head.seq) === 0 && this.prevSeq === 0) {
      return this.result(
        false,
        1,
        "the chain's head records no event, but an instance's chain begins with its instance.create event: its events were removed and its head rolled back",
      )
    }
    // Archiving never takes a chain's newest event: an anchor at or past the head is not one it
    // recorded (and would leave nothing after it to check).
    if (this.anchor !== null && !(Number(head.seq) > this.anchor.seq)) {
      return this.broken(
        this.anchor.seq,
        `the archive anchor at seq ${this.anchor.seq} (${this.anchor.file}) is not below the chain's head (seq ${head.seq}): archiving never removes a chain's newest event`,
      )
    }
    if (Number(head.seq) !== this.prevSeq) {
      return Number(head.seq) > this.prevSeq
        ? this.broken(
            this.prevSeq + 1,
            `events ${this.prevSeq + 1} to ${head.seq} are missing: the chain head records ${head.seq} events`,
          )
        : this.broken(
            Number(head.seq) + 1,
            `the chain head records ${head.seq} events but ${this.prevSeq} are present`,
          )
    }
    if (head.hash !== this.prevHash) {
      return this.broken(
        this.prevSeq,
        `event ${this.prevSeq} does not match the hash recorded in the chain head`,
      )
    }
    return this.result(true, null, null)
  }

  /**
   * SHA-256(previous hash's bytes ‖ UTF-8 of `json`) in hex, as `eventHash` computes it: one
   * call into OpenSSL per event instead of four, on a buffer kept from event to event.
   */
  private hashOf(json: string): string {
    const room = this.prefix + json.length * 3
    if (room > this.buffer.length) {
      const larger = Buffer.alloc(Math.max(room, this.buffer.length * 2))
      this.buffer.copy(larger, 0, 0, this.prefix)
      this.buffer = larger
    }
    const length = this.buffer.write(json, this.prefix, 'utf8')
    return sha('sha256', this.buffer.subarray(0, this.prefix + length), 'hex')
  }

  private broken(seq: number, problem: string): AuditVerifyResult {
    return this.result(false, seq, problem)
  }

  private result(ok: boolean, firstBrokenSeq: number | null, problem: string | null): AuditVerifyResult {
    return {
      instanceId: this.instanceId,
      ok,
      checked: this.checked,
      headSeq: this.prevSeq,
      headHash: this.prevHash,
      firstBrokenSeq,
      problem,
      anchor: this.anchor,
    }
  }
}

/**
 * An integer column's value as stored: a safe integer (SQLite), or the decimal text of one
 * (PostgreSQL's `bigint`, and only in the form it writes). Null for anything else.
 */
export function storedInteger(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null
  if (typeof value !== 'string') return null
  const n = Number(value)
  return Number.isSafeInteger(n) && String(n) === value ? n : null
}

/**
 * `canonicalJson(JSON.parse(text)) === text`, false where either throws. What the appender
 * stores, a flat object whose texts need no escape, is read once, in place (`isPlainCanonical`);
 * anything else is parsed and written again.
 */
export function isCanonicalJson(text: string): boolean {
  if (isPlainCanonical(text)) return true
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return false
  }
  try {
    return canonicalJson(parsed) === text
  } catch {
    return false
  }
}

const QUOTE = 0x22
const COMMA = 0x2c
const COLON = 0x3a
const BACKSLASH = 0x5c
const OPEN = 0x7b
const CLOSE = 0x7d

/**
 * True only for `{}` or `{"k":v,…}` with the keys in strictly increasing code-unit order (so none
 * repeats), no whitespace, every key and string value free of what `JSON.stringify` escapes (and
 * of surrogates, to keep the rule simple), every other value `true`, `false`, `null` or a finite
 * number written as `String` writes it: text that `JSON.parse` reads back into an object whose
 * `canonicalJson` is the text itself. False means "not shown here", not "not canonical".
 */
function isPlainCanonical(text: string): boolean {
  const n = text.length
  if (n < 2 || text.charCodeAt(0) !== OPEN || text.charCodeAt(n - 1) !== CLOSE) return false
  if (n === 2) return true
  let i = 1
  let previousKey: string | null = null
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return false
    const keyEnd = plainStringEnd(text, i + 1)
    if (keyEnd < 0) return false
    const key = text.slice(i + 1, keyEnd)
    if (previousKey !== null && !(previousKey < key)) return false
    previousKey = key
    i = keyEnd + 1
    if (text.charCodeAt(i) !== COLON) return false
    i++
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = plainStringEnd(text, i + 1)
      if (end < 0) return false
      i = end + 1
    } else if (text.startsWith('true', i)) i += 4
    else if (text.startsWith('false', i)) i += 5
    else if (text.startsWith('null', i)) i += 4
    else {
      let end = i
      while (end < n && text.charCodeAt(end) !== COMMA && text.charCodeAt(end) !== CLOSE) end++
      const token = text.slice(i, end)
      const value = Number(token)
      if (token === '' || !Number.isFinite(value) || String(value) !== token) return false
      i = end
    }
    const next = text.charCodeAt(i)
    if (next === CLOSE) return i === n - 1
    if (next !== COMMA) return false
    i++
  }
}

/** Where the string starting at `from` (after its opening quote) ends: its closing quote; -1 if it holds anything `JSON.stringify` would escape, a surrogate, or no end. */
function plainStringEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) return i
    if (c === BACKSLASH || c < 0x20 || (c >= 0xd800 && c <= 0xdfff)) return -1
  }
  return -1
}

/**
 * `canonicalEventJson` of the event the row holds, its keys written in their sorted order, with
 * `details` as stored (the caller checked it is canonical). Null when a value has a type no event
 * was ever hashed with: an integer column holding anything but an integer, a text column anything
 * but text (or null where the column may be null).
 */
function canonicalRowJson(
  row: StoredEventRow,
  quotedChain: string,
  seq: number,
  details: string,
): string | null {
  const time = storedInteger(row[1])
  const actorType = row[2]
  const actorId = row[3]
  const action = row[4]
  const outcome = row[7]
  if (
    time === null ||
    typeof actorType !== 'string' ||
    typeof actorId !== 'string' ||
    typeof action !== 'string' ||
    typeof outcome !== 'string'
  ) {
    return null
  }
  const resourceType = optional(row[5])
  const resourceId = optional(row[6])
  const reason = optional(row[8])
  const requestId = optional(row[9])
  const sourceIp = optional(row[10])
  const userAgent = optional(row[11])
  if (
    resourceType === undefined ||
    resourceId === undefined ||
    reason === undefined ||
    requestId === undefined ||
    sourceIp === undefined ||
    userAgent === undefined
  ) {
    return null
  }
  return (
    `{"action":${quoted(action)},"actorId":${quoted(actorId)},"actorType":${quoted(actorType)}` +
    `,"details":${details},"instanceId":${quotedChain},"outcome":${quoted(outcome)}` +
    `,"reason":${reason},"requestId":${requestId},"resourceId":${resourceId},"resourceType":${resourceType}` +
    `,"seq":${seq},"sourceIp":${sourceIp},"time":${time},"userAgent":${userAgent}}`
  )
}

/** A nullable text column as JSON; undefined when it holds anything else. */
function optional(value: unknown): string | undefined {
  if (value === null) return 'null'
  return typeof value === 'string' ? quoted(value) : undefined
}

/** What `JSON.stringify` escapes (and surrogates, which it escapes only when alone). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

/** `JSON.stringify(text)`, without its cost for the common text that needs no escape. */
function quoted(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`
}
