import type { FastifyRequest } from 'fastify'
import type { RequestMeta } from '../../audit/appender.js'
import { PamError } from '../../errors.js'
import { type AuditFailure, auditBestEffort, shouldAuditFailure } from '../../services/best-effort.js'
import {
  type ActiveSession,
  authenticateConsoleSession,
  csrfTokenMatches,
} from '../../services/console-sessions/console-sessions.js'
import { type Services, SYSTEM_CHAIN } from '../../services.js'
import { readCookie, sessionCookieName } from './session-cookie.js'

/** The header that carries the session's CSRF token on every request made with its cookie. */
export const CSRF_HEADER = 'x-csrf-token'

/** The session secret in the request's cookie, or `undefined` when it carries none. */
export function presentedSessionSecret(request: FastifyRequest, secure: boolean): string | undefined {
  return readCookie(request.headers.cookie, sessionCookieName(secure))
}

/**
 * The origins this server answers as: the request's own (its scheme and `Host`, or what a
 * trusted proxy says they were) and the configured public URL's.
 */
function ownOrigins(request: FastifyRequest, publicUrl: string): string[] {
  const origins: string[] = []
  for (const url of [`${request.protocol}://${request.host}`, publicUrl]) {
    try {
      origins.push(new URL(url).origin)
    } catch {
      // A Host header that is no host names no origin of ours.
    }
  }
  return origins
}

/**
 * Why a request made with the session's cookie looks cross-site, or null: an `Origin` header
 * that is not one of ours (`null` included), or a `Sec-Fetch-Site` that says another site made
 * it. Browsers send `Origin` on every cross-origin fetch and every state-changing request.
 */
export function crossSiteReason(
  request: FastifyRequest,
  publicUrl: string,
): 'foreign_origin' | 'cross_site' | null {
  const origin = request.headers.origin
  if (origin !== undefined) {
    let presented: string | null = null
    try {
      presented = new URL(origin).origin
    } catch {
      presented = null
    }
    if (presented === null || presented === 'null' || !ownOrigins(request, publicUrl).includes(presented)) {
      return 'foreign_origin'
    }
  }
  const site = request.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'cross_site'
  return null
}

const refusals = {
  foreign_origin: () =>
    new PamError('CsrfRejected', 'the Origin header names another site: the console session is refused', {
      field: 'Origin',
      rule: "must be this server's own origin",
    }),
  cross_site: () =>
    new PamError(
      'CsrfRejected',
      'Sec-Fetch-Site says another site made this request: the console session is refused',
      {
        field: 'Sec-Fetch-Site',
        rule: 'must be same-origin',
      },
    ),
  csrf_missing: () =>
    new PamError(
      'CsrfRejected',
      'the X-CSRF-Token header is required with the console session cookie, on every method',
      { field: 'X-CSRF-Token', rule: 'is required: send the csrfToken of GET /console/session' },
    ),
  csrf_mismatch: () =>
    new PamError('CsrfRejected', 'the X-CSRF-Token header does not match the console session', {
      field: 'X-CSRF-Token',
      rule: 'must be the csrfToken of this console session',
    }),
} as const

/** Refuses a cross-site request (see `crossSiteReason`), audited like a failed authentication. */
export async function refuseCrossSite(
  s: Services,
  request: FastifyRequest,
  meta: RequestMeta,
  options: { auditFailure: AuditFailure },
): Promise<void> {
  const why = crossSiteReason(request, s.publicUrl)
  if (why) throw await refused(s, why, meta, options)
}

/**
 * Authenticates a request by its console session cookie: same origin, then the CSRF token of
 * the session in `X-CSRF-Token` when `csrf` (both need nothing but the request and the secret, so
 * a forged request costs no database work), then the session itself (services/console-sessions).
 */
export async function authenticateConsoleRequest(
  s: Services,
  request: FastifyRequest,
  secret: string,
  meta: RequestMeta,
  options: { auditFailure: AuditFailure; csrf: boolean },
): Promise<ActiveSession> {
  await refuseCrossSite(s, request, meta, options)
  if (options.csrf) {
    const presented = request.headers[CSRF_HEADER]
    if (typeof presented !== 'string' || presented === '')
      throw await refused(s, 'csrf_missing', meta, options)
    if (!csrfTokenMatches(s.keyring.hashKey, secret, presented)) {
      throw await refused(s, 'csrf_mismatch', meta, options)
    }
  }
  return authenticateConsoleSession(s, secret, meta, { auditFailure: options.auditFailure })
}

async function refused(
  s: Services,
  why: keyof typeof refusals,
  meta: RequestMeta,
  options: { auditFailure: AuditFailure },
): Promise<PamError> {
  if (await shouldAuditFailure(options.auditFailure)) {
    await auditBestEffort(s, {
      instanceId: SYSTEM_CHAIN,
      actor: { type: 'anonymous', id: 'unknown' },
      action: 'admin.authenticate',
      outcome: 'denied',
      details: { why, via: 'console_session' },
      request: meta,
    })
  }
  return refusals[why]()
}

/** Whether `err` is a refusal of the checks above: counted against the address like a bad token. */
export function isCsrfRefusal(err: unknown): boolean {
  return err instanceof PamError && err.code === 'CsrfRejected'
}
