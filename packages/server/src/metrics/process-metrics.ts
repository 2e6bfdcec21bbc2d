import type { Server } from 'node:net'
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks'
import type { MetricsRegistry } from './registry.js'

const NS_PER_S = 1e9

/**
 * The process's own figures, read at scrape time: memory, CPU, event-loop delay and the
 * server's open connections. The event-loop figures cover the time since the previous scrape
 * (the monitor is reset at each), so a spike between scrapes is not averaged away by hours.
 */
export class ProcessMetrics {
  private readonly eventLoop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 })
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
      'Event-loop delay since the previous scrape, by statistic (p50, p99, max)',
      'gauge',
      ['stat'],
      () => {
        const h = this.eventLoop
        // No sample yet (a scrape right after the previous one): zero, not NaN.
        const samples =
          h.count === 0
            ? [0, 0, 0]
            : [h.percentile(50) / NS_PER_S, h.percentile(99) / NS_PER_S, h.max / NS_PER_S]
        h.reset()
        return [
          { labels: ['p50'], value: samples[0]! },
          { labels: ['p99'], value: samples[1]! },
          { labels: ['max'], value: samples[2]! },
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
    this.eventLoop.disable()
  }
}
