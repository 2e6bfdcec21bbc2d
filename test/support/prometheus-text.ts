/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: it throws on the
 * first line that breaks the grammar or the format's rules, naming the line.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 *
 * Checked: every line's grammar (HELP, TYPE, comments, samples with escaped label values and Go
 * floats); at most one HELP and one TYPE per family, TYPE before the family's first sample; a
 * family's lines in one group; no repeated label name or series; counters non-negative; and for
 * histograms, per series: `le` buckets ascending with counts cumulative (never decreasing), a
 * `+Inf` bucket equal to `_count`, and `_sum` present.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface ParsedSample {
  /** The sample's own name: `x_bucket`, `x_sum`, `x_count` for a histogram `x`. */
  name: string
  labels: Record<string, string>
  value: number
}

export interface ParsedFamily {
  name: string
  type: MetricType
  help: string | null
  samples: ParsedSample[]
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*'
const HELP_LINE = new RegExp(`^# HELP (${NAME}) ((?:[^\\\\\\n]|\\\\[\\\\n])*)$`)
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`)
const SAMPLE_HEAD = new RegExp(`^(${NAME})`)
const LABEL_PAIR = new RegExp(`^(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`)
const FLOAT = /^(?:[+-]?(?:Inf|inf)|NaN|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$/
const TIMESTAMP = /^-?\d+$/

class FormatError extends Error {
  constructor(lineNumber: number, line: string, rule: string) {
    super(`line ${lineNumber}: ${rule}: ${JSON.stringify(line)}`)
  }
}

export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition must end with a line feed')
  const lines = text.split('\n')
  lines.pop()
  const families = new Map<string, ParsedFamily>()
  const seenTypes = new Set<string>()
  const seenHelps = new Set<string>()
  const closed = new Set<string>()
  const seriesSeen = new Set<string>()
  let current: string | null = null

  const family = (name: string, n: number, line: string): ParsedFamily => {
    if (current !== name) {
      if (closed.has(name)) throw new FormatError(n, line, `the lines of ${name} are not in one group`)
      if (current !== null) closed.add(current)
      current = name
    }
    let f = families.get(name)
    if (!f) {
      f = { name, type: 'untyped', help: null, samples: [] }
      families.set(name, f)
    }
    return f
  }

  lines.forEach((line, index) => {
    const n = index + 1
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const help = HELP_LINE.exec(line)
      if (help) {
        const name = help[1]!
        if (seenHelps.has(name)) throw new FormatError(n, line, `second HELP for ${name}`)
        seenHelps.add(name)
        family(name, n, line).help = unescapeText(help[2]!, '\\n')
        return
      }
      const type = TYPE_LINE.exec(line)
      if (type) {
        const name = type[1]!
        if (seenTypes.has(name)) throw new FormatError(n, line, `second TYPE for ${name}`)
        const f = family(name, n, line)
        if (f.samples.length > 0) throw new FormatError(n, line, `TYPE of ${name} after its samples`)
        seenTypes.add(name)
        f.type = type[2] as MetricType
        return
      }
      if (/^# (HELP|TYPE)\b/.test(line)) throw new FormatError(n, line, 'malformed HELP or TYPE line')
      return
    }
    const sample = parseSample(line, n)
    const name = familyOf(sample.name, families)
    const f = family(name, n, line)
    if (f.type === 'histogram' && name === sample.name)
      throw new FormatError(n, line, `histogram ${name} has a sample without _bucket, _sum or _count`)
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`
    if (seriesSeen.has(key)) throw new FormatError(n, line, 'repeated series')
    seriesSeen.add(key)
    if (f.type === 'counter' && !(sample.value >= 0)) throw new FormatError(n, line, 'negative counter')
    f.samples.push(sample)
  })
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f)
  return families
}

function parseSample(line: string, n: number): ParsedSample {
  const head = SAMPLE_HEAD.exec(line)
  if (!head) throw new FormatError(n, line, 'not a sample, HELP, TYPE or comment')
  const name = head[1]!
  let rest = line.slice(name.length)
  const labels: Record<string, string> = {}
  if (rest.startsWith('{')) {
    rest = rest.slice(1)
    while (!rest.startsWith('}')) {
      const pair = LABEL_PAIR.exec(rest)
      if (!pair) throw new FormatError(n, line, 'malformed label')
      const label = pair[1]!
      if (Object.hasOwn(labels, label)) throw new FormatError(n, line, `repeated label ${label}`)
      labels[label] = unescapeText(pair[2]!, '\\"n')
      rest = rest.slice(pair[0].length)
      if (rest.startsWith(',')) rest = rest.slice(1)
      else if (!rest.startsWith('}')) throw new FormatError(n, line, 'labels not separated by commas')
    }
    rest = rest.slice(1)
  }
  const fields = rest.split(' ')
  if (fields[0] !== '' || fields.length < 2 || fields.length > 3)
    throw new FormatError(n, line, 'expected one space, a value and an optional timestamp')
  const valueText = fields[1]!
  if (!FLOAT.test(valueText)) throw new FormatError(n, line, 'value is not a float')
  if (fields[2] !== undefined && !TIMESTAMP.test(fields[2])) throw new FormatError(n, line, 'bad timestamp')
  return { name, labels, value: parseFloatGo(valueText) }
}

function parseFloatGo(text: string): number {
  if (/^[+]?[Ii]nf$/.test(text)) return Number.POSITIVE_INFINITY
  if (/^-[Ii]nf$/.test(text)) return Number.NEGATIVE_INFINITY
  if (text === 'NaN') return Number.NaN
  return Number(text)
}

/** Undoes the format's escapes; `allowed` lists the characters a backslash may precede. */
function unescapeText(text: string, allowed: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (!allowed.includes(c)) throw new Error(`bad escape \\${c}`)
    return c === 'n' ? '\n' : c
  })
}

/** A histogram's `_bucket`, `_sum` and `_count` samples belong to the family declared without them. */
function familyOf(sampleName: string, families: Map<string, ParsedFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue
    const base = sampleName.slice(0, -suffix.length)
    const type = families.get(base)?.type
    if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base
  }
  return sampleName
}

function checkHistogram(f: ParsedFamily): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>()
  for (const s of f.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    let entry = series.get(key)
    if (!entry) {
      entry = { buckets: [] }
      series.set(key, entry)
    }
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined || !FLOAT.test(le)) throw new Error(`${f.name}${key}: a bucket without a valid le`)
      entry.buckets.push([parseFloatGo(le), s.value])
    } else if (s.name === `${f.name}_sum`) entry.sum = s.value
    else entry.count = s.value
  }
  for (const [key, { buckets, sum, count }] of series) {
    const where = `${f.name}${key}`
    if (sum === undefined || count === undefined) throw new Error(`${where}: _sum or _count missing`)
    for (let i = 1; i < buckets.length; i++) {
      const [le, value] = buckets[i]!
      const [prevLe, prevValue] = buckets[i - 1]!
      if (!(le > prevLe)) throw new Error(`${where}: le ${le} not above ${prevLe}`)
      if (value < prevValue)
        throw new Error(`${where}: bucket le=${le} (${value}) below le=${prevLe} (${prevValue})`)
    }
    const last = buckets.at(-1)
    if (!last || last[0] !== Number.POSITIVE_INFINITY) throw new Error(`${where}: no +Inf bucket`)
    if (last[1] !== count) throw new Error(`${where}: +Inf bucket ${last[1]} is not _count ${count}`)
  }
}

/** The value of the one sample named `name` whose labels include `labels`; throws when not exactly one. */
export function sampleValue(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const found = samplesOf(families, name, labels)
  if (found.length !== 1) throw new Error(`${found.length} samples ${name} ${JSON.stringify(labels)}`)
  return found[0]!.value
}

/** Every sample named `name` whose labels include `labels`. */
export function samplesOf(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): ParsedSample[] {
  const out: ParsedSample[] = []
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) out.push(s)
    }
  }
  return out
}
