import { setTimeout as sleep } from 'node:timers/promises'
import type { AuditEvent } from '@strongroom/protocol'
import type { Command } from 'commander'
import type { Context } from '../context.js'
import { parsePositiveInteger } from '../option-parsers.js'
import { toJson } from '../safe-text.js'
import { auditEventColumns } from '../views.js'
import { AUDIT_PAGE_SIZE } from './audit-filters.js'
import type { ContextFor } from './context-for.js'

const POLL_INTERVAL_MS = 1000

/** `strongroom audit tail [-n N] [--follow]`. */
export function registerAuditTailCommand(audit: Command, contextFor: ContextFor): void {
  audit
    .command('tail')
    .description('show the last events; with --follow, keep printing new ones until Ctrl-C')
    .option('-n, --lines <n>', 'how many of the last events to show', parsePositiveInteger, 20)
    .option('-f, --follow', 'poll every second for new events')
    .action(async (options: { lines: number; follow?: boolean }, command: Command) => {
      await tail(contextFor(command), options.lines, options.follow === true)
    })
}

async function tail(ctx: Context, lines: number, follow: boolean): Promise<void> {
  const client = ctx.client()
  const path = await ctx.instancePath('/audit/events')
  // Newest first, one request per page of up to AUDIT_PAGE_SIZE events, then back into order.
  const newest: AuditEvent[] = []
  for await (const events of client.pages<AuditEvent>(
    path,
    { order: 'desc' },
    { pageSize: Math.min(lines, AUDIT_PAGE_SIZE) },
  )) {
    newest.push(...events)
    if (newest.length >= lines) break
  }
  const last = newest.slice(0, lines).reverse()
  if (!follow) return ctx.out.list(auditEventColumns, last)

  let widths: readonly number[] = []
  let first = true
  const print = async (events: readonly AuditEvent[]) => {
    if (ctx.out.json) {
      // A stream has no end to close an array at: one JSON object per line.
      await ctx.out.write(events.map((event) => `${toJson(event)}\n`).join(''))
      return
    }
    if (!first && events.length === 0) return
    const table = await ctx.out.table(auditEventColumns, events, { minWidths: widths, header: first })
    widths = table.widths
    first = false
  }
  await print(last)

  let afterSeq = last.at(-1)?.seq ?? 0
  const controller = new AbortController()
  const { signal } = controller
  const stopListening = ctx.io.onInterrupt(() => controller.abort())
  try {
    while (!signal.aborted) {
      await sleep(POLL_INTERVAL_MS, undefined, { signal })
      for await (const events of client.pages<AuditEvent>(
        path,
        { afterSeq },
        { pageSize: AUDIT_PAGE_SIZE, signal },
      )) {
        await print(events)
        afterSeq = events.at(-1)?.seq ?? afterSeq
      }
    }
  } catch (error) {
    // Ctrl-C is how --follow ends: not an error.
    if (!signal.aborted) throw error
  } finally {
    stopListening()
  }
}
