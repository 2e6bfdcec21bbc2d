import { resolve } from 'node:path'
import { type Command, InvalidArgumentError } from 'commander'
import { compact } from '../compact.js'
import { parseTime } from '../option-parsers.js'
import type { ContextFor } from './context-for.js'

interface ArchiveOptions {
  before: number
  db?: string
  dataDir?: string
  outDir?: string
}

const DAY_MS = 24 * 60 * 60_000

/** `Nd` (N days before now), an ISO 8601 date or time, or epoch milliseconds. */
export function parseBefore(text: string, now: () => number = Date.now): number {
  const days = /^(\d{1,6})d$/.exec(text)
  if (days) return now() - Number(days[1]) * DAY_MS
  try {
    return parseTime(text)
  } catch {
    throw new InvalidArgumentError(
      'expected Nd (N days ago), an ISO 8601 date or time, or epoch milliseconds',
    )
  }
}

/**
 * `strongroom audit archive`: moves old audit events out of the database into archive files,
 * against the database itself (like `backup`), not through the admin API: removing history
 * takes access to the database, never just an admin token, and the files land where the command
 * runs. Safe while servers run on the same database.
 */
export function registerAuditArchiveCommand(audit: Command, contextFor: ContextFor): void {
  audit
    .command('archive')
    .description(
      'move audit events older than a time to archive files (JSON lines) and remove them from the database; every chain still verifies',
    )
    .requiredOption(
      '--before <time>',
      'archive events older than TIME: Nd (N days ago), an ISO 8601 date or time, or epoch ms',
      (text: string) => parseBefore(text),
    )
    .option('--data-dir <dir>', 'the embedded default database in DIR (archives go to DIR/audit-archive)')
    .option('--db <url>', 'this database (sqlite:PATH or postgres://…)')
    .option('--out-dir <dir>', 'where the archive files go (needed with PostgreSQL)')
    .action(async (options: ArchiveOptions, command: Command) => {
      const ctx = contextFor(command)
      const server = await ctx.io.loadServer()
      const result = await server.archiveAuditOffline(
        compact({
          before: options.before,
          db: options.db,
          dataDir: options.dataDir === undefined ? undefined : resolve(ctx.io.cwd, options.dataDir),
          outDir: options.outDir === undefined ? undefined : resolve(ctx.io.cwd, options.outDir),
        }),
      )
      if (ctx.out.json) await ctx.out.printJson(result)
      if (result.locked) {
        ctx.fail(1)
        ctx.out.error('another process is archiving the audit log now: nothing was archived; try again later')
        return
      }
      if (ctx.out.json) return
      if (result.archived.length === 0) {
        await ctx.out.line(`No audit event older than ${new Date(options.before).toISOString()} to archive.`)
        return
      }
      for (const r of result.archived) {
        await ctx.out.line(
          `Archived events ${r.firstSeq}–${r.lastSeq} of chain ${r.chain} (${r.count}) to ${r.file}, last hash ${r.lastHash}${r.resumed ? ' (finished an interrupted run)' : ''}.`,
        )
      }
    })
}
