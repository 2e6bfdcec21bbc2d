import type { AuditInput, RequestMeta } from '../audit/appender.js'
import { SYSTEM_CHAIN } from '../audit/chain.js'
import type { Services } from '../services.js'

/** The part of a logger the services use: Fastify's (pino) logger satisfies it. */
export interface ServiceLog {
  warn(obj: object, msg: string): void
}

/** Until the HTTP application is built (and in tests that build none), warnings go nowhere. */
export const SILENT_LOG: ServiceLog = { warn() {} }

/**
 * Audits a refusal whose answer must not depend on the audit: by design an audit outage does not
 * turn a 401 into a 503. A failed write is logged, never dropped silently. The log names the
 * event and the error only: an event's details are not repeated there.
 */
export async function auditBestEffort(s: Services, input: AuditInput): Promise<void> {
  await s.committer
    .run(({ audit }) => audit.append(input))
    .catch((err: unknown) => {
      s.log.warn(
        { err, action: input.action, outcome: input.outcome, instanceId: input.instanceId },
        'an audit event for a refusal could not be written',
      )
    })
}

/**
 * Whether a refused authentication is audited one by one: `true`/`false`, or, from the HTTP layer,
 * a function that spends the failure from its address's budget first and answers true (or throws
 * 429 when none was left, so the refusal is not audited): counted before the audit, not after it,
 * attempts in flight together cannot all be audited past the budget.
 */
export type AuditFailure = boolean | (() => Promise<boolean>)

export async function shouldAuditFailure(option: AuditFailure | undefined): Promise<boolean> {
  return typeof option === 'function' ? option() : option !== false
}

/** Runs a write nobody waits for (a last-used time): a failure is logged with what was being done. */
export function writeBestEffort(s: Services, what: string, work: Promise<unknown>): void {
  work.catch((err: unknown) => {
    s.log.warn({ err, what }, 'a best-effort write failed')
  })
}

/**
 * One event when a source address is throttled for failing to authenticate (on the admin API or
 * the developer API), not one per refusal, in the system chain.
 */
export async function auditThrottled(
  s: Services,
  request: RequestMeta,
  action: 'admin.authenticate' | 'pam.authenticate' = 'admin.authenticate',
): Promise<void> {
  await auditBestEffort(s, {
    instanceId: SYSTEM_CHAIN,
    actor: { type: 'anonymous', id: 'unknown' },
    action,
    outcome: 'denied',
    details: { why: 'throttled' },
    request,
  })
}
