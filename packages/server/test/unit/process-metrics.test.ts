import { describe, expect, it } from 'vitest'
import { parsePrometheusText, sampleValue } from '../../../../test/support/prometheus-text.js'
import { ProcessMetrics } from '../../src/metrics/process-metrics.js'
import { MetricsRegistry } from '../../src/metrics/registry.js'

/** Keeps the event loop busy for `ms` milliseconds. */
function stall(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // busy: the monitor sees the loop held up
  }
}

describe('process metrics', () => {
  it('reports an event-loop stall to every scraper: reading the figure does not reset it', async () => {
    const registry = new MetricsRegistry()
    const metrics = new ProcessMetrics(registry)
    try {
      await new Promise((resolve) => setTimeout(resolve, 50))
      stall(300)
      await new Promise((resolve) => setTimeout(resolve, 50))
      const max = () =>
        sampleValue(parsePrometheusText(registry.expose()), 'nodejs_eventloop_delay_seconds', { stat: 'max' })
      // An attacker scraping first, then the real scraper: both see the stall.
      const first = max()
      const second = max()
      expect(first).toBeGreaterThan(0.2)
      expect(second).toBe(first)
    } finally {
      metrics.close()
    }
  })
})
