import { checkLabelNames, checkMetricName, familyHeader, formatLabels, formatValue } from './exposition.js'
import type { MetricFamily } from './registry.js'

/** One labelled series of a counter: a number that only goes up. */
export class CounterChild {
  value = 0

  inc(by = 1): void {
    this.value += by
  }
}

/**
 * A counter family. `labels(...)` finds or creates a series; callers on a hot path keep the
 * series it returns rather than asking again. Label values must come from a bounded set (a
 * surface, a cache name), never from a request (an id, a path).
 */
export class Counter implements MetricFamily {
  private readonly children = new Map<string, { values: readonly string[]; child: CounterChild }>()

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
  ) {
    checkMetricName(name)
    checkLabelNames(name, labelNames)
  }

  labels(...values: string[]): CounterChild {
    if (values.length !== this.labelNames.length)
      throw new TypeError(`${this.name} takes ${this.labelNames.length} label values`)
    const key = values.join('\u0000')
    let entry = this.children.get(key)
    if (!entry) {
      entry = { values, child: new CounterChild() }
      this.children.set(key, entry)
    }
    return entry.child
  }

  write(): string {
    let out = familyHeader(this.name, this.help, 'counter')
    for (const { values, child } of this.children.values()) {
      out += `${this.name}${formatLabels(this.labelNames, values)} ${formatValue(child.value)}\n`
    }
    return out
  }
}
