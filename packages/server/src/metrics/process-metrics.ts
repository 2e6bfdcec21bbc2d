import type { Server } from 'node:net'
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks'
import type { MetricsRegistry } from './registry.js'

const NS_PER_S = 1e9

/** How long one window of event-loop delay lasts before the next begins. */
const EVENT_LOOP_WINDOW_MS = 60_000

interface DelayStats {
  p50: number
  p99: number
  max: number
}

const NO_DELAY: DelayStats = { p50: 0, p99: 0, max: 0 }

/**
 * The process's own figures, read at scrape time: memory, CPU, event-loop delay and the
 * server's open connections. The event-loop figures cover the last one to two minutes: the
 * monitor starts a new window every minute, and a scrape reports the higher of the window that
 * ended and the one under way. Reading changes nothing: every scraper (two Prometheus replicas,
 * or anyone who can reach the metrics port) sees the same spike, and none can erase it for the
 * others by scraping first, as a reset on each read allowed.
 */
export class ProcessMetrics {
  private readonly eventLoop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 })
  private previousWindow: DelayStats = NO_DELAY
  private readonly rotation = setInterval(() => {
    this.previousWindow = statsOf(this.eventLoop)
    this.eventLoop.reset()
  }, EVENT_LOOP_WINDOW_MS).unref()
  private openConnections = 0
  private readonly connectionClosed = () => {
    this.openConnections--
  }

  constructor(registry: MetricsRegistry) {
    this.eventLoop.enable()
    const startTime = Math.floor(Date.now() / 1000 - process.uptime())
    registry.readAtScrape(
      'process_cpu_seconds_total',
      'User and system CPU time spent, in seconds',
      'counter',
      [],
      () => {
        const cpu = process.cpuUsage()
        return [{ value: (cpu.user + cpu.system) / 1e6 }]
      },
    )
    registry.readAtScrape(
      'process_resident_memory_bytes',
      'Resident memory size in bytes',
      'gauge',
      [],
      () => [{ value: process.memoryUsage.rss() }],
    )
    registry.readAtScrape(
      'process_start_time_seconds',
      'Start time of the process since the Unix epoch, in seconds',
      'gauge',
      [],
      () => [{ value: startTime }],
    )
    registry.readAtScrape('nodejs_heap_used_bytes', 'V8 heap in use, in bytes', 'gauge', [], () => [
      { value: process.memoryUsage().heapUsed },
    ])
    registry.readAtScrape(
      'nodejs_eventloop_delay_seconds',
      'Event-loop delay over the last one to two minutes, by statistic (p50, p99, max): the higher of the minute that ended and the one under way',
      'gauge',
      ['stat'],
      () => {
        const now = statsOf(this.eventLoop)
        const before = this.previousWindow
        return [
          { labels: ['p50'], value: Math.max(now.p50, before.p50) },
          { labels: ['p99'], value: Math.max(now.p99, before.p99) },
          { labels: ['max'], value: Math.max(now.max, before.max) },
        ]
      },
    )
    registry.readAtScrape(
      'strongroom_http_open_connections',
      'Client connections open to the API listener',
      'gauge',
      [],
      () => [{ value: this.openConnections }],
    )
  }

  /** Counts the connections of `server` from now on (one listener per connection, none per request). */
  countConnections(server: Server): void {
    server.on('connection', (socket) => {
      this.openConnections++
      socket.once('close', this.connectionClosed)
    })
  }

  close(): void {
    clearInterval(this.rotation)
    this.eventLoop.disable()
  }
}

/** A window's statistics in seconds; zeros, not NaN, before its first sample. */
function statsOf(h: IntervalHistogram): DelayStats {
  if (h.count === 0) return NO_DELAY
  return { p50: h.percentile(50) / NS_PER_S, p99: h.percentile(99) / NS_PER_S, max: h.max / NS_PER_S }
}
