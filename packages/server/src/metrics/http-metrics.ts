import type { FastifyInstance } from 'fastify'
import { Histogram, type HistogramChild } from './histogram.js'
import type { MetricsRegistry } from './registry.js'

/** The route label of a request no route matched: its URL is the client's, never a label. */
export const UNMATCHED_ROUTE = 'unmatched'

/** Seconds; most requests here take a millisecond or less, a slow database a few seconds. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]

/** Methods Node parses; an unmatched request's method is one of these or `other`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/**
 * Requests by route pattern, method and status, with their latency. Labels come from bounded
 * sets only: the route's pattern (`/admin/v1/instances/:instanceId`), never its URL.
 */
export class HttpMetrics {
  private readonly duration: Histogram
  // Route → method → status → series: three Map lookups per request, no string built.
  private readonly series = new Map<string, Map<string, Map<number, HistogramChild>>>()

  constructor(registry: MetricsRegistry) {
    this.duration = registry.register(
      new Histogram(
        'strongroom_http_request_duration_seconds',
        'HTTP requests by route pattern, method and status: time from the first byte to the response sent (_count is the number of requests)',
        ['route', 'method', 'status'],
        LATENCY_BUCKETS,
      ),
    )
  }

  observe(route: string, method: string, status: number, seconds: number): void {
    let methods = this.series.get(route)
    if (!methods) {
      methods = new Map()
      this.series.set(route, methods)
    }
    let statuses = methods.get(method)
    if (!statuses) {
      statuses = new Map()
      methods.set(method, statuses)
    }
    let child = statuses.get(status)
    if (!child) {
      child = this.duration.labels(route, method, String(status))
      statuses.set(status, child)
    }
    child.observe(seconds)
  }
}

/** Observes every response of `app`, matched or not, errors included. */
export function instrumentRequests(app: FastifyInstance, metrics: HttpMetrics): void {
  // Callback style: an async hook would cost a promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.is404 ? undefined : request.routeOptions.url
    if (route === undefined) {
      const method = KNOWN_METHODS.has(request.method) ? request.method : 'other'
      metrics.observe(UNMATCHED_ROUTE, method, reply.statusCode, reply.elapsedTime / 1000)
    } else {
      metrics.observe(route, request.method, reply.statusCode, reply.elapsedTime / 1000)
    }
    done()
  })
}
