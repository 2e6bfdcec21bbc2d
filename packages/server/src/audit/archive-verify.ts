import { readdirSync, statSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import type { AuditVerifyResult } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { ConfigError } from '../errors.js'
import type { Database } from '../store/schema.js'
import { type Anchor, anchoredChains, listAnchors } from './anchors.js'
import { type ArchiveCheck, parseArchiveFileName, verifyArchiveFile } from './archive-file.js'
import { GENESIS_HASH } from './chain.js'
import { verifyChain } from './verify.js'

/** One chain's history as the archives given (and the database, if given) show it. */
export interface ChainHistory {
  chain: string
  ok: boolean
  /**
   * The archived stretch the files cover, together: first and last sequence numbers. Null for a
   * chain the database records archives of when none of its files was given (or verified).
   */
  firstSeq: number | null
  lastSeq: number | null
  /** The files start at the chain's first event (linked to 64 zeros). */
  fromFirstEvent: boolean
  /** The database's own verification, from its anchor; null when no database was given. */
  database: AuditVerifyResult | null
  firstBrokenSeq: number | null
  problem: string | null
}

export interface ArchiveVerifyOptions {
  /**
   * Accept archives that start after a chain's first event (the older ones kept elsewhere or
   * gone): each chain is verified from its first file given. Without it, a chain whose files do
   * not start at its first event is broken.
   */
  allowPartial?: boolean
}

export interface ArchiveVerifyResult {
  files: ArchiveCheck[]
  chains: ChainHistory[]
}

/** Archive files named by `paths`: a file as given; a folder, the archives in it (by name). */
export function archiveFilesIn(paths: readonly string[]): string[] {
  const files: string[] = []
  for (const path of paths.map((p) => resolve(p))) {
    let isDir: boolean
    try {
      isDir = statSync(path).isDirectory()
    } catch (err) {
      throw new ConfigError(
        `cannot read --archive ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      )
    }
    if (!isDir) {
      files.push(path)
      continue
    }
    const names = readdirSync(path).filter((name) => parseArchiveFileName(name) !== null)
    if (names.length === 0)
      throw new ConfigError(`--archive ${path} holds no audit archive (audit-<chain>-…jsonl)`)
    files.push(...names.sort().map((name) => join(path, name)))
  }
  return [...new Set(files)]
}

/**
 * Verifies archive files, each on its own (verifyArchiveFile), then, per chain, that they start at
 * the chain's first event (unless `allowPartial`) and follow one another without gap or overlap
 * (each file's first event links to the previous file's last hash). Given the database, also that
 * every chain it records archives of (`audit_anchors`) has its files among those given: each
 * file's last hash is the anchor recorded for it, every anchor from the chain's first event (or,
 * with `allowPartial`, from the first file given) has its file, the newest file ends at the newest
 * anchor, and the database verifies from there: the whole history is then archives + database.
 */
export async function verifyArchives(
  files: readonly string[],
  db: Kysely<Database> | null,
  options: ArchiveVerifyOptions = {},
): Promise<ArchiveVerifyResult> {
  const checks: ArchiveCheck[] = []
  for (const file of files) checks.push(await verifyArchiveFile(file))
  const byChain = new Map<string, ArchiveCheck[]>()
  // A chain the database records archives of is checked even when none of its files was given.
  if (db !== null) for (const chain of await anchoredChains(db)) byChain.set(chain, [])
  for (const check of checks) {
    if (!check.ok || check.chain === null) continue
    const list = byChain.get(check.chain) ?? []
    list.push(check)
    byChain.set(check.chain, list)
  }
  // Files given that do not verify: an anchor's file among them is named as such, not as missing.
  const unverified = new Set(checks.filter((c) => !c.ok).map((c) => basename(c.file)))
  const chains: ChainHistory[] = []
  for (const [chain, list] of [...byChain].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    list.sort((a, b) => a.firstSeq! - b.firstSeq!)
    chains.push(await chainHistory(chain, list, db, options.allowPartial === true, unverified))
  }
  return { files: checks, chains }
}

async function chainHistory(
  chain: string,
  list: ArchiveCheck[],
  db: Kysely<Database> | null,
  allowPartial: boolean,
  unverified: ReadonlySet<string>,
): Promise<ChainHistory> {
  const first = list[0]
  const last = list.at(-1)
  const history: ChainHistory = {
    chain,
    ok: true,
    firstSeq: first?.firstSeq ?? null,
    lastSeq: last?.lastSeq ?? null,
    fromFirstEvent: first !== undefined && first.firstSeq === 1 && first.prevHash === GENESIS_HASH,
    database: null,
    firstBrokenSeq: null,
    problem: null,
  }
  const broken = (seq: number, problem: string): ChainHistory => ({
    ...history,
    ok: false,
    firstBrokenSeq: seq,
    problem,
  })
  const anchors = db === null ? [] : await listAnchors(db, chain)
  const notGiven = (anchor: Anchor) =>
    `events ${anchor.firstSeq} to ${anchor.seq} were archived to ${anchor.file}, which ${
      unverified.has(anchor.file) ? 'was given but does not verify' : 'is not among the archives given'
    }`
  // Listed for its anchors alone: none of its files was given (or verified).
  if (first === undefined || last === undefined) {
    const missing = allowPartial ? anchors.at(-1)! : anchors[0]!
    return broken(missing.firstSeq, `no archive of chain ${chain} was given: ${notGiven(missing)}`)
  }
  const start = first.firstSeq!
  const end = last.lastSeq!
  // Where the files start: at the chain's first event, unless the operator says otherwise.
  if (start === 1 && first.prevHash !== GENESIS_HASH) {
    return broken(
      1,
      `${basename(first.file)} starts at seq 1 but its first event does not link to 64 zeros, as a chain's first event does`,
    )
  }
  if (start > 1 && !allowPartial) {
    const before = anchors.find((a) => a.seq < start)
    return before !== undefined
      ? broken(before.firstSeq, notGiven(before))
      : broken(
          1,
          `the archives given start at seq ${start}, not at the chain's first event: events 1 to ${start - 1} are in none of them (give them all, or --allow-partial to verify from seq ${start})`,
        )
  }
  for (let i = 1; i < list.length; i++) {
    const before = list[i - 1]!
    const after = list[i]!
    if (after.firstSeq! !== before.lastSeq! + 1) {
      return after.firstSeq! > before.lastSeq! + 1
        ? broken(
            before.lastSeq! + 1,
            `events ${before.lastSeq! + 1} to ${after.firstSeq! - 1} are in none of the archives given (between ${basename(before.file)} and ${basename(after.file)})`,
          )
        : broken(after.firstSeq!, `${basename(after.file)} overlaps ${basename(before.file)}`)
    }
    if (after.prevHash !== before.lastHash) {
      return broken(
        after.firstSeq!,
        `${basename(after.file)} does not link to ${basename(before.file)}: its first event's prevHash is not that file's last hash`,
      )
    }
  }
  if (db === null) return history
  const bySeq = new Map(anchors.map((a) => [a.seq, a]))
  // Each file against the anchor recorded for it.
  for (const check of list) {
    const anchor = bySeq.get(check.lastSeq!)
    if (anchor === undefined) {
      return broken(
        check.lastSeq!,
        `${basename(check.file)} ends at seq ${check.lastSeq} but the database records no archive ending there`,
      )
    }
    if (anchor.hash !== check.lastHash || anchor.firstSeq !== check.firstSeq) {
      return broken(
        check.lastSeq!,
        `${basename(check.file)} does not match the anchor at seq ${anchor.seq}: the anchor's hash or range differs from the file's`,
      )
    }
  }
  // Files that start later (allowPartial) link to the anchor before them, as the database did.
  if (start > 1) {
    const previous = bySeq.get(start - 1)
    if (previous === undefined) {
      return broken(
        start - 1,
        `${basename(first.file)} starts at seq ${start} but the database records no archive ending at seq ${start - 1}`,
      )
    }
    if (previous.hash !== first.prevHash) {
      return broken(
        start,
        `${basename(first.file)} does not link to the anchor at seq ${previous.seq}: its first event's prevHash is not that anchor's hash`,
      )
    }
  }
  // Each anchor (from the first file given on) against a file: none may be missing.
  const ends = new Set(list.map((check) => check.lastSeq!))
  for (const anchor of anchors) {
    if (anchor.seq < start || ends.has(anchor.seq)) continue
    return anchor.seq > end
      ? broken(end + 1, notGiven(anchor))
      : broken(
          anchor.seq,
          `the database records an archive ending at seq ${anchor.seq} (${anchor.file}) but none of the archives given ends there`,
        )
  }
  const database = await verifyChain(db, chain)
  history.database = database
  if (!database.ok) return broken(database.firstBrokenSeq ?? end + 1, database.problem ?? 'broken')
  return history
}
