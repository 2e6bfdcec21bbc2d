import { Forbidden } from '../../errors.js'
import { CONTENT_TYPE } from '../../metrics/exposition.js'
import type { Services } from '../../services.js'
import { defineRoute, type RouteSpec } from '../route-table.js'

/**
 * `GET /admin/v1/metrics`: the server's metrics in the Prometheus text format, for operator
 * tokens (not limited to one instance): the figures are the whole server's, every instance's (and
 * every worker's, labelled `worker`, under `serve --workers N`).
 */
export function metricsRoutes(s: Services): RouteSpec[] {
  return [
    defineRoute({
      auth: 'admin',
      method: 'GET',
      url: '/admin/v1/metrics',
      operationId: 'getMetrics',
      summary: 'Server metrics in the Prometheus text exposition format (0.0.4); operator tokens only',
      tag: 'admin',
      success: { status: 200, schema: null, contentType: CONTENT_TYPE },
      handler: async ({ caller }) => {
        if (caller.instanceScope !== null)
          throw new Forbidden('the metrics cover every instance: they are for operator tokens only')
        return s.metrics.exposeServer()
      },
    }),
  ]
}
