import { resolve } from 'node:path'
import type { Command } from 'commander'
import { compact } from '../compact.js'
import type { Context } from '../context.js'
import type { ContextFor } from './context-for.js'

interface BackupFlags {
  out: string
  db?: string
  dataDir?: string
  force?: boolean
}

export const ROOT_KEY_REMINDER =
  'The root key is NOT in this backup. Keep root.key (or STRONGROOM_ROOT_KEY) somewhere else: without it the backup cannot decrypt a single secret, and whoever holds both can read them all.'

/** `strongroom backup`: a consistent copy of the SQLite database, safe while the server runs. */
export function registerBackupCommand(program: Command, contextFor: ContextFor): void {
  program
    .command('backup')
    .description('write a consistent copy of the database, while the server runs (the root key is not in it)')
    .requiredOption('--out <file>', 'the backup file to write (created with mode 0600)')
    .option('--data-dir <dir>', 'back up the embedded default database in DIR')
    .option('--db <url>', 'back up this database (sqlite:PATH; for postgres://… it says how to use pg_dump)')
    .option('--force', 'replace --out if it exists')
    .action(async (options: BackupFlags, command: Command) => {
      const ctx = contextFor(command)
      const server = await ctx.io.loadServer()
      const result = await server.backupDatabase(
        compact({
          out: resolve(ctx.io.cwd, options.out),
          db: options.db,
          dataDir: options.dataDir === undefined ? undefined : resolve(ctx.io.cwd, options.dataDir),
          force: options.force,
        }),
      )
      const broken = result.chains.filter((c) => !c.ok)
      if (ctx.out.json) {
        await ctx.out.printJson({ ...result, rootKeyIncluded: false })
        ctx.io.stderr.write(`${ROOT_KEY_REMINDER}\n`)
      } else {
        await ctx.out.line(
          `Backup of ${result.source} written to ${result.path} (${formatBytes(result.bytes)}).`,
        )
        await ctx.out.line(
          `Audit chains in the copy: ${result.chains.length - broken.length} of ${result.chains.length} intact, ${result.events} event(s) checked.`,
        )
        await ctx.out.line(ROOT_KEY_REMINDER)
      }
      reportBroken(ctx, broken)
    })
}

/** The copy is faithful, so a break in it is a break in the database: said loudly, and the run fails. */
function reportBroken(
  ctx: Context,
  broken: { instanceId: string; firstBrokenSeq: number | null; problem: string | null }[],
) {
  for (const chain of broken) {
    ctx.fail(1)
    ctx.out.error(
      `audit chain of ${chain.instanceId} is broken at seq ${chain.firstBrokenSeq ?? '?'} in the database and so in the backup: ${chain.problem ?? 'unknown problem'}`,
    )
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
