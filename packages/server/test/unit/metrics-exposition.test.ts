import { describe, expect, it } from 'vitest'
import { parsePrometheusText, sampleValue } from '../../../../test/support/prometheus-text.js'
import { Counter } from '../../src/metrics/counter.js'
import { Histogram } from '../../src/metrics/histogram.js'
import { MetricsRegistry } from '../../src/metrics/registry.js'

describe('metrics exposition (Prometheus text format 0.0.4)', () => {
  it('writes HELP and TYPE before the samples and escapes help text and label values', () => {
    const registry = new MetricsRegistry()
    const counter = registry.register(new Counter('x_total', 'a \\ back\nslash', ['v']))
    counter.labels('quote " back \\ line\nfeed').inc(3)
    counter.labels('plain').inc()
    const text = registry.expose()
    expect(text).toBe(
      [
        '# HELP x_total a \\\\ back\\nslash',
        '# TYPE x_total counter',
        'x_total{v="quote \\" back \\\\ line\\nfeed"} 3',
        'x_total{v="plain"} 1',
        '',
      ].join('\n'),
    )
    const parsed = parsePrometheusText(text)
    expect(parsed.get('x_total')?.help).toBe('a \\ back\nslash')
    expect(sampleValue(parsed, 'x_total', { v: 'quote " back \\ line\nfeed' })).toBe(3)
  })

  it('writes histogram buckets cumulative, +Inf equal to _count, and _sum', () => {
    const registry = new MetricsRegistry()
    const h = registry.register(new Histogram('d_seconds', 'durations', ['route'], [0.1, 1])).labels('/a')
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v)
    const text = registry.expose()
    expect(text).toContain('d_seconds_bucket{route="/a",le="0.1"} 2\n')
    expect(text).toContain('d_seconds_bucket{route="/a",le="1"} 3\n')
    expect(text).toContain('d_seconds_bucket{route="/a",le="+Inf"} 4\n')
    expect(text).toContain('d_seconds_sum{route="/a"} 3.65\n')
    expect(text).toContain('d_seconds_count{route="/a"} 4\n')
    expect(parsePrometheusText(text).get('d_seconds')?.samples).toHaveLength(5)
  })

  it('refuses names and labels the format cannot carry, and a second family of one name', () => {
    expect(() => new Counter('bad-name', 'x')).toThrow(TypeError)
    expect(() => new Counter('ok_total', 'x', ['__reserved'])).toThrow(TypeError)
    expect(() => new Histogram('h', 'x', ['le'], [1])).toThrow(TypeError)
    expect(() => new Histogram('h', 'x', [], [2, 1])).toThrow(TypeError)
    const registry = new MetricsRegistry()
    registry.register(new Counter('c_total', 'x'))
    expect(() => registry.register(new Counter('c_total', 'y'))).toThrow(/already registered/)
  })
})

describe('the strict text-format parser of the tests', () => {
  const bad: [string, string, RegExp][] = [
    ['TYPE after samples', 'a 1\n# TYPE a gauge\n', /TYPE of a after its samples/],
    ['a family split in two groups', 'a 1\nb 1\na{x="1"} 2\n', /not in one group/],
    ['an unescaped quote', 'a{x="a"b"} 1\n', /labels not separated/],
    ['a bad escape', 'a{x="\\t"} 1\n', /malformed label/],
    ['a value that is no float', 'a one\n', /not a float/],
    ['no final line feed', 'a 1', /line feed/],
    ['a negative counter', '# TYPE a_total counter\na_total -1\n', /negative counter/],
    [
      'buckets going down',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      /below/,
    ],
    [
      '+Inf not _count',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
      /not _count/,
    ],
    ['no +Inf bucket', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /no \+Inf/],
    ['a repeated series', 'a{x="1"} 1\na{x="1"} 2\n', /repeated series/],
  ]
  for (const [what, text, error] of bad) {
    it(`refuses ${what}`, () => expect(() => parsePrometheusText(text)).toThrow(error))
  }
})
