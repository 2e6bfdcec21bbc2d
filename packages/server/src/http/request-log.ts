import { type FastifyReply, type FastifyRequest, LogController } from 'fastify'

/**
 * The path of a request target, as logs and messages may show it: no query string, no fragment
 * (either may carry credentials), and for a target in absolute form (`GET http://user:pass@host/p`,
 * which Node routes like `/p`) the path alone, never the user-info before the host.
 */
export function pathOf(url: string): string {
  const end = url.search(/[?#]/)
  const target = end < 0 ? url : url.slice(0, end)
  if (target.startsWith('/')) return target
  try {
    return new URL(target).pathname
  } catch {
    return '(not a path)'
  }
}

type LevelLog = FastifyReply['log'] & { isLevelEnabled?: (level: string) => boolean }

/**
 * One log line per request, written when it completes (method, path without its query string,
 * status, milliseconds, address), instead of Fastify's two: half the log volume at the default
 * `info` level, with the request id on every line under `requestId`.
 *
 * `debug` adds to that line the route matched and who was authenticated (actor type and id,
 * never a token); `trace` also writes a line when a request arrives (with its declared body
 * length and user agent), which finds the requests that never complete.
 */
export class RequestLog extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'requestId' })
  }

  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    const log = reply.log as LevelLog
    if (log.isLevelEnabled?.('trace') !== true) return
    const ua = request.headers['user-agent']
    log.trace(
      {
        method: request.method,
        path: pathOf(request.url),
        contentLength: request.headers['content-length'] ?? null,
        userAgent: typeof ua === 'string' ? ua.slice(0, 256) : null,
        remoteAddress: request.ip,
      },
      'request received',
    )
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    // The fields are built only for a line that is written (the benchmark runs at `warn`).
    const log = reply.log as LevelLog
    if (!error && log.isLevelEnabled?.('info') === false) return
    const fields: Record<string, unknown> = {
      method: request.method,
      path: pathOf(request.url),
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      remoteAddress: request.ip,
    }
    if (log.isLevelEnabled?.('debug') === true) {
      fields.route = request.routeOptions.url ?? null
      const actor = request.caller?.actor
      fields.actor = actor ? `${actor.type}:${actor.id}` : null
    }
    if (error) reply.log.error({ ...fields, err: error }, 'request errored')
    else reply.log.info(fields, 'request completed')
  }
}
