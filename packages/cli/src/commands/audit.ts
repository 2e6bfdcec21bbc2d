import { open } from 'node:fs/promises'
import type { AuditEvent } from '@strongroom/protocol'
import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { toJson } from '../safe-text.js'
import { auditEventColumns } from '../views.js'
import { registerAuditArchiveCommand } from './audit-archive.js'
import { AUDIT_PAGE_SIZE, addFilters, type FilterOptions, toQuery } from './audit-filters.js'
import { registerAuditTailCommand } from './audit-tail.js'
import { registerAuditVerifyCommand } from './audit-verify.js'
import type { ContextFor } from './context-for.js'

/** `strongroom audit query|export|tail|verify|archive`. */
export function registerAuditCommands(program: Command, contextFor: ContextFor): void {
  const audit = program.command('audit').description('read and verify the audit log')

  addFilters(audit.command('query').description('list audit events (oldest first)')).action(
    async (options: FilterOptions, command: Command) => {
      const ctx = contextFor(command)
      const client = ctx.client()
      const path = await ctx.instancePath('/audit/events')
      const events = await client.list<AuditEvent>(path, toQuery(options), {
        limit: options.limit,
        pageSize: AUDIT_PAGE_SIZE,
      })
      await ctx.out.list(auditEventColumns, events)
    },
  )

  addFilters(audit.command('export').description('write audit events as JSON lines, page by page'))
    .option('--out <file>', 'write to FILE (created with mode 0600) instead of stdout')
    .action(async (options: FilterOptions & { out?: string }, command: Command) => {
      const ctx = contextFor(command)
      const client = ctx.client()
      const path = await ctx.instancePath('/audit/events')
      const sink = options.out === undefined ? undefined : await openPrivateFile(options.out)
      let count = 0
      try {
        for await (const events of client.pages<AuditEvent>(path, toQuery(options), {
          limit: options.limit,
          pageSize: AUDIT_PAGE_SIZE,
        })) {
          const text = events.map((event) => `${toJson(event)}\n`).join('')
          if (sink === undefined) await ctx.out.write(text)
          else await sink.write(text)
          count += events.length
        }
      } finally {
        await sink?.close()
      }
      if (options.out !== undefined) ctx.out.note(`Exported ${count} audit event(s) to ${options.out}.`)
    })

  registerAuditTailCommand(audit, contextFor)
  registerAuditVerifyCommand(audit, contextFor)
  registerAuditArchiveCommand(audit, contextFor)
}

/** Opens FILE for writing, readable by its owner only, even if it existed with a wider mode. */
async function openPrivateFile(path: string) {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(path, 'w', 0o600)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unwritable'
    throw new CliError('InputUnreadable', `cannot write --out ${path}: ${code}`)
  }
  const stat = await handle.stat()
  if (stat.isFile() && (stat.mode & 0o077) !== 0) await handle.chmod(0o600)
  return handle
}
