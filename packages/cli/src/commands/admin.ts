import type { Command } from 'commander'
import { compact } from '../compact.js'
import type { ContextFor } from './context-for.js'

/** `strongroom admin …`: offline maintenance, working on the database directly. */
export function registerAdminCommands(program: Command, contextFor: ContextFor): void {
  const admin = program.command('admin').description('offline maintenance on the database')

  admin
    .command('rotate-root-key')
    .description('rewrap every instance data key with a new root key (values are not touched)')
    .option('--db <url>', 'database URL: sqlite:PATH or postgres://…')
    .option('--root-key-file <path>', 'file holding the current root key')
    .option('--data-dir <dir>', 'folder of the embedded default')
    .option('--new-root-key-file <path>', 'file holding the new root key')
    .action(
      async (
        options: { db?: string; rootKeyFile?: string; dataDir?: string; newRootKeyFile?: string },
        command: Command,
      ) => {
        const ctx = contextFor(command)
        const server = await ctx.io.loadServer()
        const result = await server.rotateRootKey(
          compact({
            db: options.db,
            rootKeyFile: options.rootKeyFile,
            dataDir: options.dataDir,
            newRootKeyFile: options.newRootKeyFile,
          }),
        )
        if (ctx.out.json) return ctx.out.printJson(result)
        await ctx.out.line(
          `Rewrapped ${result.rewrapped} data key(s); the root key is now in ${result.rootKeyFile}.`,
        )
      },
    )
}
