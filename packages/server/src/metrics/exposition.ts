/**
 * The Prometheus text exposition format, version 0.0.4: the writing half only.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export type MetricType = 'counter' | 'gauge' | 'histogram'

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** A metric name the format accepts; a wrong one is a programming mistake, not bad input. */
export function checkMetricName(name: string): void {
  if (!METRIC_NAME.test(name)) throw new TypeError(`invalid metric name "${name}"`)
}

/** Label names: the format's grammar, and the `__` prefix is reserved for Prometheus itself. */
export function checkLabelNames(metric: string, names: readonly string[]): void {
  for (const name of names) {
    if (!LABEL_NAME.test(name) || name.startsWith('__'))
      throw new TypeError(`invalid label name "${name}" on ${metric}`)
  }
  if (new Set(names).size !== names.length) throw new TypeError(`repeated label name on ${metric}`)
}

/** HELP text: backslash and line feed are escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === '\\' ? '\\\\' : '\\n'))
}

/** A label value: backslash, double quote and line feed are escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'))
}

/** A sample value as Go's ParseFloat reads it: `+Inf`, `-Inf`, `NaN`, or the number. */
export function formatValue(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  if (Number.isNaN(value)) return 'NaN'
  return String(value)
}

/** `{a="x",b="y"}`, or nothing without labels. Names and values pair up by position. */
export function formatLabels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return ''
  let out = '{'
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ','
    out += `${names[i]}="${escapeLabelValue(values[i] ?? '')}"`
  }
  return `${out}}`
}

/** The two comment lines that open a metric family. */
export function familyHeader(name: string, help: string, type: MetricType): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`
}
