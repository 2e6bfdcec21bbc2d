import { basename, resolve } from 'node:path'
import type { AuditVerifyResult } from '@strongroom/protocol'
import type { Command } from 'commander'
import { compact } from '../compact.js'
import { resolveInstanceOption } from '../config.js'
import type { Context } from '../context.js'
import { UsageError } from '../errors.js'
import { cellText } from '../table.js'
import type { ContextFor } from './context-for.js'

interface VerifyOptions {
  db?: string
  rootKeyFile?: string
  dataDir?: string
  archive?: string[]
  allowPartial?: boolean
}

/** `strongroom audit verify`: online through the API, or offline against the database. */
export function registerAuditVerifyCommand(audit: Command, contextFor: ContextFor): void {
  audit
    .command('verify')
    .description('recompute the hash chain and name the first broken link (exit 1 if broken)')
    .option('--db <url>', 'verify offline against this database (sqlite:PATH or postgres://…)')
    .option('--root-key-file <path>', 'the root key file, with --db')
    .option('--data-dir <dir>', 'verify offline against the embedded default database in DIR')
    .option(
      '--archive <path...>',
      'verify audit archive files (a folder: the archives in it) and, with --db or --data-dir, that they link to the database',
    )
    .option(
      '--allow-partial',
      "with --archive: accept a chain's archives starting after its first event (older ones kept elsewhere), verifying from the first given",
    )
    .action(async (options: VerifyOptions, command: Command) => {
      const ctx = contextFor(command)
      if (options.archive !== undefined) {
        await verifyArchives(ctx, options, options.archive)
        return
      }
      if (options.allowPartial === true) throw new UsageError('--allow-partial is for --archive')
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

/**
 * An intact chain is reported on stdout (unless --json); a broken one on stderr, and the run fails.
 * What the lines show of the database or an archive file is escaped as table cells are
 * (`cellText`): written as stored, an anchor's file name of escape sequences erased the "broken"
 * line above it and drew "intact" ones in its place (found by a review of the audit chain).
 */
async function report(ctx: Context, result: AuditVerifyResult): Promise<void> {
  if (result.ok) {
    if (!ctx.out.json) {
      const anchor = result.anchor
        ? ` verified from the archive anchor at seq ${result.anchor.seq}, hash ${cellText(result.anchor.hash)} (${cellText(result.anchor.file)}):`
        : ''
      await ctx.out.line(
        `Audit chain of ${cellText(result.instanceId)} is intact:${anchor} ${result.checked} event(s) checked, head seq ${result.headSeq}.`,
      )
    }
    return
  }
  ctx.fail(1)
  ctx.out.error(
    `audit chain of ${result.instanceId} is broken at seq ${result.firstBrokenSeq ?? '?'}: ${result.problem ?? 'unknown problem'}`,
  )
}

/** `audit verify --archive PATH…`: each file, then each chain's files in a row, then (given a database) the link to it. */
async function verifyArchives(ctx: Context, options: VerifyOptions, archives: string[]): Promise<void> {
  if (options.rootKeyFile !== undefined) {
    throw new UsageError('--root-key-file is not needed to verify archives: the audit chain holds no secret')
  }
  const server = await ctx.io.loadServer()
  const result = await server.verifyAuditArchives(
    compact({
      archives: archives.map((path) => resolve(ctx.io.cwd, path)),
      db: options.db,
      dataDir: options.dataDir === undefined ? undefined : resolve(ctx.io.cwd, options.dataDir),
      allowPartial: options.allowPartial,
    }),
  )
  if (ctx.out.json) await ctx.out.printJson(result)
  for (const file of result.files) {
    if (!file.ok) {
      ctx.fail(1)
      ctx.out.error(
        `audit archive is broken at seq ${file.firstBrokenSeq ?? '?'}: ${file.problem ?? 'unknown problem'}`,
      )
    } else if (!ctx.out.json) {
      await ctx.out.line(
        `Archive ${cellText(basename(file.file))} is intact: chain ${cellText(file.chain)}, events ${file.firstSeq}–${file.lastSeq} (${file.checked} checked), last hash ${cellText(file.lastHash)}.`,
      )
    }
  }
  for (const chain of result.chains) {
    if (!chain.ok) {
      ctx.fail(1)
      ctx.out.error(
        `audit history of ${chain.chain} is broken at seq ${chain.firstBrokenSeq ?? '?'}: ${chain.problem ?? 'unknown problem'}`,
      )
      continue
    }
    if (ctx.out.json) continue
    const start = chain.fromFirstEvent
      ? 'from its first event'
      : `from seq ${chain.firstSeq} (--allow-partial: the events before it were not checked)`
    const database = chain.database
      ? `, then the database from the anchor at seq ${chain.lastSeq} to head seq ${chain.database.headSeq}`
      : ''
    await ctx.out.line(
      `Audit history of ${cellText(chain.chain)} verifies ${start}: archived events ${chain.firstSeq}–${chain.lastSeq}${database}.`,
    )
  }
}
