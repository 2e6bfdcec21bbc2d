import type { AuditVerifyResult } from '@strongroom/protocol'
import SQLite from 'better-sqlite3'
import { ConfigError } from '../errors.js'
import { SYSTEM_CHAIN } from './chain.js'
import { ChainVerifier, type StoredEventRow, VERIFIED_COLUMNS } from './chain-verifier.js'

/**
 * Offline `audit verify` of an SQLite file: the checks of `verifyChain` (the same
 * `ChainVerifier`), with the rows read straight from better-sqlite3 as arrays, a page at a time by
 * sequence number: no Kysely, no object per row, and memory that does not grow with the chain.
 * Synchronous, so for a process that has nothing else to do (the CLI); a server verifies through
 * `verifyChain`, which leaves its event loop free between pages.
 *
 * Every chain (or the one asked for) is read in one read transaction on a read-only connection:
 * a snapshot, so a server writing meanwhile neither blocks it nor shows it half a batch.
 */
export function verifySqliteChains(file: string, instanceId?: string): AuditVerifyResult[] {
  let sqlite: SQLite.Database
  try {
    sqlite = new SQLite(file, { readonly: true, fileMustExist: true })
  } catch (cause) {
    throw new ConfigError(`cannot open SQLite database ${file}: ${(cause as Error).message}`, { cause })
  }
  try {
    sqlite.pragma('busy_timeout = 5000')
    sqlite.exec('begin')
    try {
      return verifyAll(sqlite, instanceId)
    } finally {
      sqlite.exec('commit')
    }
  } finally {
    sqlite.close()
  }
}

/** Rows per read: `all` on a page costs less per row than stepping `iterate` (≈ 8%). */
const PAGE = 1000

function verifyAll(sqlite: SQLite.Database, instanceId: string | undefined): AuditVerifyResult[] {
  const chains =
    instanceId === undefined
      ? // As `listChains`: a chain whose head row was deleted is still verified (and found broken).
        (sqlite
          .prepare(
            `select instance_id from audit_heads union select id from instances
             union select instance_id from audit_events
             union select resource_id from audit_events where instance_id = ? and action = 'instance.create'
               and outcome = 'success' and resource_id is not null
             union select ? order by 1`,
          )
          .pluck()
          .all(SYSTEM_CHAIN, SYSTEM_CHAIN) as string[])
      : [instanceId]
  // As `latestAnchor`: a database from before the anchors table was archived from nothing.
  const hasAnchors =
    sqlite
      .prepare("select 1 from sqlite_master where type in ('table', 'view') and name = 'audit_anchors'")
      .get() !== undefined
  const anchorOf = hasAnchors
    ? sqlite.prepare(
        'select seq, hash, file from audit_anchors where instance_id = ? order by seq desc limit 1',
      )
    : null
  // Past the anchor, then from the last event verified on (`ChainVerifier.nextPage`).
  const eventsPast = sqlite
    .prepare(
      `select ${VERIFIED_COLUMNS.join(', ')} from audit_events where instance_id = ? and seq > ? order by seq limit ${PAGE}`,
    )
    .raw(true)
  const eventsFrom = sqlite
    .prepare(
      `select ${VERIFIED_COLUMNS.join(', ')} from audit_events where instance_id = ? and seq >= ? order by seq limit ${PAGE}`,
    )
    .raw(true)
  const headOf = sqlite.prepare('select seq, hash from audit_heads where instance_id = ?')
  // As `verifyChain`: an event left at or below the anchor (archiving deletes them with it).
  const archivedLeft = sqlite
    .prepare('select seq from audit_events where instance_id = ? and seq <= ? order by seq limit 1')
    .pluck()
  const results: AuditVerifyResult[] = []
  for (const chain of chains) {
    const anchor = anchorOf?.get(chain) as { seq: number; hash: string; file: string } | undefined
    const verifier = new ChainVerifier(
      chain,
      anchor ? { seq: Number(anchor.seq), hash: anchor.hash, file: anchor.file } : null,
    )
    let broken: AuditVerifyResult | null = anchor
      ? verifier.checkArchived(archivedLeft.get(chain, verifier.lastSeq))
      : null
    while (broken === null) {
      const page = verifier.nextPage()
      const rows = (page.inclusive ? eventsFrom : eventsPast).all(chain, page.from) as StoredEventRow[]
      for (const row of rows) {
        broken = verifier.next(row)
        if (broken !== null) break
      }
      if (broken !== null || rows.length < PAGE) break
    }
    results.push(broken ?? verifier.finish(headOf.get(chain) as { seq: unknown; hash: unknown } | undefined))
  }
  return results
}
