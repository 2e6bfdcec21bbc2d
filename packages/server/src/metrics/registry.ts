import { checkLabelNames, checkMetricName, familyHeader, formatLabels, formatValue } from './exposition.js'

/** What the registry writes: one family, HELP and TYPE first, then its samples. */
export interface MetricFamily {
  readonly name: string
  write(): string
}

/** A sample read at scrape time: label values in the family's label order. */
export interface Sample {
  readonly labels?: readonly string[]
  readonly value: number
}

/**
 * A counter or gauge whose values are read when scraped, from state something else already
 * keeps (a pool's connection counts, a cache's hits): nothing is done on the path it measures.
 * `read` returning no samples leaves the family out.
 */
export class ReadAtScrape implements MetricFamily {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    readonly labelNames: readonly string[],
    private readonly read: () => readonly Sample[],
  ) {
    checkMetricName(name)
    checkLabelNames(name, labelNames)
  }

  write(): string {
    const samples = this.read()
    if (samples.length === 0) return ''
    let out = familyHeader(this.name, this.help, this.type)
    for (const sample of samples) {
      out += `${this.name}${formatLabels(this.labelNames, sample.labels ?? [])} ${formatValue(sample.value)}\n`
    }
    return out
  }
}

/** The families a server exposes, written in the order they were registered. */
export class MetricsRegistry {
  private readonly families = new Map<string, MetricFamily>()

  register<T extends MetricFamily>(family: T): T {
    if (this.families.has(family.name)) throw new TypeError(`metric ${family.name} is already registered`)
    this.families.set(family.name, family)
    return family
  }

  /** A gauge or counter read at scrape time; see `ReadAtScrape`. */
  readAtScrape(
    name: string,
    help: string,
    type: 'counter' | 'gauge',
    labelNames: readonly string[],
    read: () => readonly Sample[],
  ): void {
    this.register(new ReadAtScrape(name, help, type, labelNames, read))
  }

  /** The whole exposition, in the text format 0.0.4. */
  expose(): string {
    let out = ''
    for (const family of this.families.values()) out += family.write()
    return out
  }
}
