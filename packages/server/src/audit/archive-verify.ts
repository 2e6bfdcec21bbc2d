import { readdirSync, statSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import type { AuditVerifyResult } from '@strongroom/protocol'
import type { Kysely } from 'kysely'
import { ConfigError } from '../errors.js'
import type { Database } from '../store/schema.js'
import { listAnchors } from './anchors.js'
import { type ArchiveCheck, parseArchiveFileName, verifyArchiveFile } from './archive-file.js'
import { GENESIS_HASH } from './chain.js'
import { verifyChain } from './verify.js'

/** One chain's history as the archives given (and the database, if given) show it. */
export interface ChainHistory {
  chain: string
  ok: boolean
  /** The archived stretch the files cover, together: first and last sequence numbers. */
  firstSeq: number
  lastSeq: number
  /** The files start at the chain's first event (linked to 64 zeros). */
  fromFirstEvent: boolean
  /** The database's own verification, from its anchor; null when no database was given. */
  database: AuditVerifyResult | null
  firstBrokenSeq: number | null
  problem: string | null
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
 * Verifies archive files, each on its own (verifyArchiveFile), then, per chain, that they follow
 * one another without gap or overlap (each file's first event links to the previous file's last
 * hash). Given the database, also that each file's last hash is the anchor recorded for it, that
 * the newest file ends at the newest anchor, and that the database verifies from there: the
 * whole history is then archives + database.
 */
export async function verifyArchives(
  files: readonly string[],
  db: Kysely<Database> | null,
): Promise<ArchiveVerifyResult> {
  const checks: ArchiveCheck[] = []
  for (const file of files) checks.push(await verifyArchiveFile(file))
  const byChain = new Map<string, ArchiveCheck[]>()
  for (const check of checks) {
    if (!check.ok || check.chain === null) continue
    const list = byChain.get(check.chain) ?? []
    list.push(check)
    byChain.set(check.chain, list)
  }
  const chains: ChainHistory[] = []
  for (const [chain, list] of [...byChain].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    list.sort((a, b) => a.firstSeq! - b.firstSeq!)
    chains.push(await chainHistory(chain, list, db))
  }
  return { files: checks, chains }
}

async function chainHistory(
  chain: string,
  list: ArchiveCheck[],
  db: Kysely<Database> | null,
): Promise<ChainHistory> {
  const first = list[0]!
  const history: ChainHistory = {
    chain,
    ok: true,
    firstSeq: first.firstSeq!,
    lastSeq: list[list.length - 1]!.lastSeq!,
    fromFirstEvent: first.firstSeq === 1 && first.prevHash === GENESIS_HASH,
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
  const anchors = new Map((await listAnchors(db, chain)).map((a) => [a.seq, a]))
  for (const check of list) {
    const anchor = anchors.get(check.lastSeq!)
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
  const database = await verifyChain(db, chain)
  history.database = database
  const newest = database.anchor ?? null
  if (newest !== null && newest.seq !== history.lastSeq) {
    return newest.seq > history.lastSeq
      ? broken(
          history.lastSeq + 1,
          `events ${history.lastSeq + 1} to ${newest.seq} were archived (to ${newest.file}) but that archive was not given`,
        )
      : broken(
          newest.seq + 1,
          `the database's newest anchor is at seq ${newest.seq}, before the archives end`,
        )
  }
  if (!database.ok)
    return broken(database.firstBrokenSeq ?? history.lastSeq + 1, database.problem ?? 'broken')
  return history
}
