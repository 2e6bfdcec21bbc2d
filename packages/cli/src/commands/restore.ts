import { resolve } from 'node:path'
import type { Command } from 'commander'
import { compact } from '../compact.js'
import { formatBytes } from './backup.js'
import type { ContextFor } from './context-for.js'

interface RestoreFlags {
  from: string
  db?: string
  dataDir?: string
  rootKeyFile?: string
  force?: boolean
}

/** `strongroom restore`: offline; checks the backup before anything at the target changes. */
export function registerRestoreCommand(program: Command, contextFor: ContextFor): void {
  program
    .command('restore')
    .description('put a backup in place as the database, with the server stopped; refused unless it verifies')
    .requiredOption('--from <file>', 'the backup file (written by strongroom backup)')
    .option('--data-dir <dir>', 'restore as the embedded default database in DIR')
    .option(
      '--db <url>',
      'restore to this database file (sqlite:PATH; for postgres://… it says how to use pg_restore)',
    )
    .option(
      '--root-key-file <path>',
      'check that this root key opens the backup (default: STRONGROOM_ROOT_KEY, else DIR/root.key)',
    )
    .option('--force', 'replace a database already there (it is kept aside as <db>.before-restore-<time>)')
    .action(async (options: RestoreFlags, command: Command) => {
      const ctx = contextFor(command)
      const server = await ctx.io.loadServer()
      const result = await server.restoreDatabase(
        compact({
          from: resolve(ctx.io.cwd, options.from),
          db: options.db,
          dataDir: options.dataDir === undefined ? undefined : resolve(ctx.io.cwd, options.dataDir),
          rootKeyFile:
            options.rootKeyFile === undefined ? undefined : resolve(ctx.io.cwd, options.rootKeyFile),
          force: options.force,
          env: ctx.io.env,
        }),
      )
      const unchecked =
        'No root key was given (--root-key-file, STRONGROOM_ROOT_KEY or DIR/root.key), so the key was not checked: a server started with another key will refuse to start.'
      if (ctx.out.json) {
        await ctx.out.printJson(result)
        if (result.keysChecked === null) ctx.io.stderr.write(`${unchecked}\n`)
        return
      }
      await ctx.out.line(
        `Restored ${resolve(ctx.io.cwd, options.from)} (${formatBytes(result.bytes)}) to ${result.path}.`,
      )
      await ctx.out.line(
        `Audit chains verified before it was put in place: ${result.chains.length} chain(s), ${result.events} event(s).`,
      )
      if (result.keysChecked === null) await ctx.out.line(unchecked)
      else
        await ctx.out.line(
          `The root key from ${result.rootKey} opens all ${result.keysChecked} wrapped key(s).`,
        )
      if (result.previous !== null)
        await ctx.out.line(`The database that was there is kept as ${result.previous}.`)
    })
}
