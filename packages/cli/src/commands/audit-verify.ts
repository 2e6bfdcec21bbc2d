import { resolve } from 'node:path'
import type { AuditVerifyResult } from '@strongroom/protocol'
import type { Command } from 'commander'
import { compact } from '../compact.js'
import { resolveInstanceOption } from '../config.js'
import type { Context } from '../context.js'
import { UsageError } from '../errors.js'
import type { ContextFor } from './context-for.js'

interface VerifyOptions {
  db?: string
  rootKeyFile?: string
  dataDir?: string
}

/** `strongroom audit verify`: online through the API, or offline against the database. */
export function registerAuditVerifyCommand(audit: Command, contextFor: ContextFor): void {
  audit
    .command('verify')
    .description('recompute the hash chain and name the first broken link (exit 1 if broken)')
    .option('--db <url>', 'verify offline against this database (sqlite:PATH or postgres://…)')
    .option('--root-key-file <path>', 'the root key file, with --db')
    .option('--data-dir <dir>', 'verify offline against the embedded default database in DIR')
    .action(async (options: VerifyOptions, command: Command) => {
      const ctx = contextFor(command)
      const offline = options.db !== undefined || options.dataDir !== undefined
      if (!offline && options.rootKeyFile !== undefined) {
        throw new UsageError('--root-key-file is for offline verification: give --db or --data-dir too')
      }
      const results = offline ? await verifyOffline(ctx, options) : [await verifyOnline(ctx)]
      if (ctx.out.json) await ctx.out.printJson(offline ? results : results[0])
      for (const result of results) await report(ctx, result)
    })
}

async function verifyOnline(ctx: Context): Promise<AuditVerifyResult> {
  return ctx.client().get<AuditVerifyResult>(await ctx.instancePath('/audit/verify'))
}

async function verifyOffline(ctx: Context, options: VerifyOptions): Promise<AuditVerifyResult[]> {
  const server = await ctx.io.loadServer()
  // With --data-dir alone the server opens its embedded default, sqlite:DIR/strongroom.db, and
  // refuses a folder without one (rather than creating an empty database to verify).
  return server.verifyAuditOffline(
    compact({
      db: options.db,
      dataDir: options.dataDir === undefined ? undefined : resolve(ctx.io.cwd, options.dataDir),
      rootKeyFile: options.rootKeyFile,
      instanceId: resolveInstanceOption(ctx.globals.instance, ctx.io.env),
    }),
  )
}

/** An intact chain is reported on stdout (unless --json); a broken one on stderr, and the run fails. */
async function report(ctx: Context, result: AuditVerifyResult): Promise<void> {
  if (result.ok) {
    if (!ctx.out.json) {
      await ctx.out.line(
        `Audit chain of ${result.instanceId} is intact: ${result.checked} event(s) checked, head seq ${result.headSeq}.`,
      )
    }
    return
  }
  ctx.fail(1)
  ctx.out.error(
    `audit chain of ${result.instanceId} is broken at seq ${result.firstBrokenSeq ?? '?'}: ${result.problem ?? 'unknown problem'}`,
  )
}
