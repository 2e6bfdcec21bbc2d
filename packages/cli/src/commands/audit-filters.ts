import type { AuditOutcome, AuditQuery } from '@strongroom/protocol'
import { type Command, Option } from 'commander'
import { compact } from '../compact.js'
import { AUDIT_OUTCOMES, parseTime } from '../option-parsers.js'
import { limitOption } from './context-for.js'

/** The largest page the audit API serves. */
export const AUDIT_PAGE_SIZE = 1000

export interface FilterOptions {
  from?: number
  to?: number
  actor?: string
  action?: string
  resourceType?: string
  resource?: string
  outcome?: AuditOutcome
  limit?: number
}

export function addFilters(command: Command): Command {
  return command
    .option('--from <time>', 'events at or after TIME (ISO 8601 or epoch ms)', parseTime)
    .option('--to <time>', 'events up to TIME (ISO 8601 or epoch ms)', parseTime)
    .option('--actor <id>', 'only events by this actor')
    .option('--action <action>', 'only this action')
    .option('--resource-type <type>', 'only this resource type')
    .option('--resource <id>', 'only this resource')
    .addOption(new Option('--outcome <outcome>', 'only this outcome').choices(AUDIT_OUTCOMES))
    .addOption(limitOption())
}

export function toQuery(options: FilterOptions): Omit<AuditQuery, 'nextToken' | 'maxResults'> {
  return compact({
    from: options.from,
    to: options.to,
    actorId: options.actor,
    action: options.action,
    resourceType: options.resourceType,
    resourceId: options.resource,
    outcome: options.outcome,
  })
}
