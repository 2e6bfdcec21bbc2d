import type { TLSSocket } from 'node:tls'
import { ConsoleSignInBody } from '@strongroom/protocol'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { RequestMeta } from '../../audit/appender.js'
import { InvalidToken, isAuthenticationFailure } from '../../errors.js'
import {
  type ActiveSession,
  authenticateConsoleSession,
  createConsoleSession,
  endConsoleSession,
  sessionView,
} from '../../services/console-sessions/console-sessions.js'
import type { Services } from '../../services.js'
import type { AdminTokenTable } from '../../store/schema.js'
import { answerTo, sendError } from '../error-handler.js'
import { isLoopbackHost } from '../loopback-host.js'
import type { ConsoleBundle, ConsoleFile, ConsoleFiles } from './console-files.js'
import { clearedSessionCookie, sessionCookie } from './session-cookie.js'
import { presentedSessionSecret } from './session-request.js'

/**
 * Every answer under `/console`: scripts and styles only from this server, no inline script, and
 * Trusted Types with no policy, so a string can never reach an HTML or script sink (the console
 * builds its DOM with `createElement` and `textContent`); never framed, never sniffed.
 */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; " +
    "require-trusted-types-for 'script'; trusted-types 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

/**
 * On every console answer served over this server's own TLS: browsers then reach this host by
 * HTTPS only for a year, so a network attacker cannot strip TLS from a later visit and read the
 * sign-in or the session cookie. (Browsers ignore it on plain HTTP, and so does a TLS proxy's
 * host unless the proxy sends it: the operator decides there.)
 */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000'

/** What the app hands the console: the files, and its admin authentication (with its throttle). */
export interface ConsoleOptions {
  readonly files: ConsoleFiles
  /** Whether the session cookie is `Secure` (and `__Host-`): the server or its public URL is HTTPS. */
  secure(): boolean
  meta(request: FastifyRequest): RequestMeta
  /** Authenticates an admin token as the admin API does: same throttle, same audit. */
  signIn(request: FastifyRequest, token: string): Promise<AdminTokenTable>
  /** Authenticates a request by its session cookie (`csrf`: and its X-CSRF-Token), same throttle. */
  session(request: FastifyRequest, secret: string, csrf: boolean): Promise<ActiveSession>
}

const NOT_SIGNED_IN = 'no console session: sign in with an admin token (POST /console/session)'
/** An admin token is about 55 characters: the sign-in body needs no more than this. */
const SIGN_IN_BODY_LIMIT = 4096

/**
 * The web console at `/console`: its page and files, and its sessions (`/console/session`). In a
 * scope of its own, so its security headers are on every answer under `/console`, errors too.
 */
export function registerConsole(app: FastifyInstance, s: Services, options: ConsoleOptions): void {
  app.register(async (scope) => {
    scope.addHook('onRequest', (request, reply, done) => {
      reply.headers(CONSOLE_SECURITY_HEADERS)
      // Not for a loopback name: a browser keeps HSTS for `localhost` on every port, for a year,
      // and then refuses the plain-HTTP servers of everything else on that machine.
      if (servedOverTls(request) && !isLoopbackHost(request.hostname)) {
        reply.header('strict-transport-security', STRICT_TRANSPORT_SECURITY)
      }
      done()
    })
    registerSessionRoutes(scope, s, options)
    scope.get('/console', (request, reply) => {
      const query = request.url.indexOf('?')
      return reply.redirect(`/console/${query < 0 ? '' : request.url.slice(query)}`, 308)
    })
    scope.get('/console/*', async (request, reply) => {
      const bundle = await options.files.get()
      if (!bundle) {
        return sendError(
          reply,
          request.id,
          answerTo(
            'ServiceUnavailable',
            'the console is not built: run `npm run build` (its files are missing from packages/console/dist)',
          ),
        )
      }
      const path = (request.params as { '*'?: string })['*'] ?? ''
      const file = fileAt(bundle, path)
      if (!file) return sendError(reply, request.id, answerTo('NotFound', 'no such console file'))
      return sendFile(request, reply, file, file === bundle.index)
    })
  })
}

/** Whether the request came over this server's own TLS listener (not what a proxy says). */
function servedOverTls(request: FastifyRequest): boolean {
  return (request.raw.socket as Partial<TLSSocket> | null)?.encrypted === true
}

/**
 * `assets/<name>` from `assets/`, `js/<path>.js` from `dist/`, and the page for any other path
 * that names no file (the console's own routes: `/console/credentials/cred_…`).
 */
function fileAt(bundle: ConsoleBundle, path: string): ConsoleFile | undefined {
  const segments = path.split('/')
  if (segments.some((segment) => segment === '.' || segment === '..' || segment.includes('\\')))
    return undefined
  if (segments[0] === 'assets') return segments.length === 2 ? bundle.assets.get(segments[1]!) : undefined
  if (segments[0] === 'js') return bundle.scripts.get(segments.slice(1).join('/'))
  // A last segment with a dot names a file, and no file is there; anything else is a page.
  return segments.at(-1)!.includes('.') ? undefined : bundle.index
}

function sendFile(request: FastifyRequest, reply: FastifyReply, file: ConsoleFile, page: boolean) {
  // The page is never stored: a stored page (in the HTTP cache, or kept whole in the back/forward
  // cache, which `no-cache` allows) could come back with what it showed, a revealed secret
  // included, after sign-out. Scripts and styles hold nothing of a session: not content-hashed
  // names, so the browser keeps a copy but asks each time whether it changed.
  reply.header('cache-control', page ? 'no-store' : 'no-cache')
  reply.header('vary', 'accept-encoding')
  reply.type(file.type)
  const gzip = file.gzip !== null && acceptsGzip(request.headers['accept-encoding'])
  reply.header('etag', gzip ? `${file.etag.slice(0, -1)}-gz"` : file.etag)
  if (etagMatches(request.headers['if-none-match'], file.etag)) return reply.code(304).send()
  if (gzip) {
    reply.header('content-encoding', 'gzip')
    return reply.send(file.gzip)
  }
  return reply.send(file.body)
}

/** `If-None-Match`: `*` or a list of validators, weak or strong, of either encoding (RFC 9110 §13.1.2). */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header.trim() === '*') return true
  const base = etag.slice(1, -1)
  return header.split(',').some((tag) => {
    const value = tag.trim().replace(/^W\//, '')
    return value === `"${base}"` || value === `"${base}-gz"`
  })
}

function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';')
    if (coding?.trim() !== 'gzip' && coding?.trim() !== '*') return false
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  })
}

/**
 * A sign-in from a browser that still holds a session ends that session first (audited as its
 * end), once the new token has authenticated: the new cookie replaces the old one in the browser,
 * and the old one must not live on unseen in a copy someone took of it. A cookie that names no
 * live session is ignored: it is no failed authentication and is neither audited nor counted.
 */
async function endReplacedSession(s: Services, secret: string | undefined, meta: RequestMeta): Promise<void> {
  if (secret === undefined) return
  let active: ActiveSession
  try {
    active = await authenticateConsoleSession(s, secret, meta, { auditFailure: false })
  } catch (err) {
    if (err instanceof InvalidToken) return
    throw err
  }
  await endConsoleSession(s, active, meta)
}

/** `POST`, `GET` and `DELETE /console/session`: sign in, the session the cookie names, sign out. */
function registerSessionRoutes(scope: FastifyInstance, s: Services, options: ConsoleOptions): void {
  const url = '/console/session'
  const clearCookieOnRefusal = (reply: FastifyReply, err: unknown) => {
    if (isAuthenticationFailure(err)) reply.header('set-cookie', clearedSessionCookie(options.secure()))
  }
  const signedIn = (request: FastifyRequest) => {
    const secret = presentedSessionSecret(request, options.secure())
    if (secret === undefined) throw new InvalidToken(NOT_SIGNED_IN)
    return secret
  }

  scope.post(
    url,
    { schema: { body: ConsoleSignInBody }, bodyLimit: SIGN_IN_BODY_LIMIT },
    async (request, reply) => {
      const { token: presented } = request.body as ConsoleSignInBody
      const token = await options.signIn(request, presented)
      const meta = options.meta(request)
      await endReplacedSession(s, presentedSessionSecret(request, options.secure()), meta)
      const { secret, active } = await createConsoleSession(s, token, meta)
      reply.header('set-cookie', sessionCookie(options.secure(), secret))
      return reply.code(201).send(sessionView(s, secret, active))
    },
  )

  // No CSRF token needed to read it: this is how a reloaded page learns it. Only a same-origin
  // script can read the answer (no CORS), and `SameSite=Strict` keeps other sites' requests bare.
  scope.get(url, async (request, reply) => {
    const secret = signedIn(request)
    try {
      return sessionView(s, secret, await options.session(request, secret, false))
    } catch (err) {
      clearCookieOnRefusal(reply, err)
      throw err
    }
  })

  scope.delete(url, async (request, reply) => {
    const secret = signedIn(request)
    let active: ActiveSession
    try {
      active = await options.session(request, secret, true)
    } catch (err) {
      clearCookieOnRefusal(reply, err)
      throw err
    }
    // The browser drops its cookie whatever happens next: if the server cannot end the session
    // (its audit event cannot be written: 503), no one can go on using it from this browser.
    reply.header('set-cookie', clearedSessionCookie(options.secure()))
    await endConsoleSession(s, active, options.meta(request))
    return reply.code(204).send()
  })
}
