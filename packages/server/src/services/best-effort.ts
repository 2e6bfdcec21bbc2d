import type { AuditInput } from '../audit/appender.js'
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

/** Runs a write nobody waits for (a last-used time): a failure is logged with what was being done. */
export function writeBestEffort(s: Services, what: string, work: Promise<unknown>): void {
  work.catch((err: unknown) => {
    s.log.warn({ err, what }, 'a best-effort write failed')
  })
}
