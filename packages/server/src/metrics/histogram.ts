import { checkLabelNames, checkMetricName, familyHeader, formatLabels, formatValue } from './exposition.js'
import type { MetricFamily } from './registry.js'

/**
 * One labelled series of a histogram. Counts are kept per bucket (not cumulative) so that an
 * observation touches one slot; the exposition adds them up.
 */
export class HistogramChild {
  /** One slot per upper bound, and a last one for +Inf. */
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe(value: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    this.counts[i]!++
    this.sum += value
    this.count++
  }
}

/** A histogram family with fixed upper bounds (`le`), ascending. */
export class Histogram implements MetricFamily {
  private readonly children = new Map<string, { values: readonly string[]; child: HistogramChild }>()
  private readonly bounds: readonly number[]
  private readonly leValues: readonly string[]

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    checkMetricName(name)
    checkLabelNames(name, labelNames)
    if (labelNames.includes('le')) throw new TypeError(`${name}: "le" is the bucket label`)
    if (
      buckets.length === 0 ||
      buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))
    )
      throw new TypeError(`${name}: buckets must be finite and strictly ascending`)
    this.bounds = [...buckets]
    this.leValues = [...buckets.map(formatValue), '+Inf']
  }

  labels(...values: string[]): HistogramChild {
    if (values.length !== this.labelNames.length)
      throw new TypeError(`${this.name} takes ${this.labelNames.length} label values`)
    const key = values.join('\u0000')
    let entry = this.children.get(key)
    if (!entry) {
      entry = { values, child: new HistogramChild(this.bounds) }
      this.children.set(key, entry)
    }
    return entry.child
  }

  write(): string {
    let out = familyHeader(this.name, this.help, 'histogram')
    const bucketLabels = [...this.labelNames, 'le']
    for (const { values, child } of this.children.values()) {
      const labels = formatLabels(this.labelNames, values)
      let cumulative = 0
      for (let i = 0; i < this.leValues.length; i++) {
        cumulative += child.counts[i]!
        const le = formatLabels(bucketLabels, [...values, this.leValues[i]!])
        out += `${this.name}_bucket${le} ${formatValue(cumulative)}\n`
      }
      out += `${this.name}_sum${labels} ${formatValue(child.sum)}\n`
      out += `${this.name}_count${labels} ${formatValue(child.count)}\n`
    }
    return out
  }
}
