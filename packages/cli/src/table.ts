import type { Colors } from './colors.js'
import { INVISIBLE_CONTROLS, unicodeEscape } from './safe-text.js'

/** What a table cell may hold; `null` and `undefined` are shown as an empty cell. */
export type Cell = string | number | boolean | null | undefined

type Paint = (text: string) => string

export interface Column<T> {
  header: string
  value: (row: T) => Cell
  /** Right-align (numbers). */
  right?: boolean
  /** A colour for the cell, chosen per row (e.g. green for `enabled`). Applied after padding. */
  paint?: (row: T, colors: Colors) => Paint | undefined
}

export interface TableOptions {
  colors?: Colors | undefined
  /** Widths to use at least, e.g. those of an earlier batch when rows arrive in batches. */
  minWidths?: readonly number[] | undefined
  /** Print the header line (default true). */
  header?: boolean
}

export interface Table {
  lines: string[]
  widths: number[]
}

/** Epoch milliseconds as ISO 8601 UTC, e.g. `2025-03-01T12:00:00.000Z`. */
export function formatTimestamp(epochMillis: number): string {
  const date = new Date(epochMillis)
  return Number.isNaN(date.getTime()) ? String(epochMillis) : date.toISOString()
}

/** A nullable timestamp for a cell. */
export function when(epochMillis: number | null | undefined): string | null {
  return epochMillis === null || epochMillis === undefined ? null : formatTimestamp(epochMillis)
}

/**
 * A cell's text, one reading per value: an empty cell for null (no value), `""` for the empty
 * string, `yes`/`no` for booleans. Control characters are escaped so that a stored description
 * cannot break the layout or send escape sequences to the terminal (a newline as `\n`), the
 * bidirectional controls written `\u202e` so that it cannot reorder what is shown either, and a
 * backslash doubled (`\\`), so that the text `\n` reads `\\n`, not as a newline does. A value
 * that would read `""` is written `\"\"`, not as the empty string.
 */
export function cellText(value: Cell): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  const text = String(value)
  if (text === '') return '""'
  if (text === '""') return '\\"\\"'
  return text
    .replace(/\\/g, '\\\\')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, escapeControl)
    .replace(INVISIBLE_CONTROLS, unicodeEscape)
}

function escapeControl(char: string): string {
  if (char === '\n') return '\\n'
  if (char === '\r') return '\\r'
  if (char === '\t') return '\\t'
  return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`
}

/** Display width, counted in code points (good enough for the ids, names and times shown). */
function width(text: string): number {
  let count = 0
  for (const _ of text) count++
  return count
}

function pad(text: string, to: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, to - width(text)))
  return right ? fill + text : text + fill
}

/** Lays rows out under headers in columns two spaces apart, each as wide as its widest cell. */
export function formatTable<T>(
  columns: readonly Column<T>[],
  rows: readonly T[],
  options: TableOptions = {},
): Table {
  const texts = rows.map((row) => columns.map((column) => cellText(column.value(row))))
  const widths = columns.map((column, i) =>
    Math.max(
      options.minWidths?.[i] ?? 0,
      width(column.header),
      ...texts.map((cells) => width(cells[i] ?? '')),
    ),
  )
  const colors = options.colors
  const lines: string[] = []
  const join = (cells: string[]) => cells.join('  ').trimEnd()
  if (options.header !== false) {
    const headers = columns.map((column, i) => pad(column.header, widths[i] ?? 0, column.right === true))
    lines.push(join(headers.map((text) => (colors ? colors.bold(text) : text))))
  }
  rows.forEach((row, r) => {
    const cells = columns.map((column, i) => {
      const raw = texts[r]?.[i] ?? ''
      // The last column is not padded, so lines carry no trailing blanks.
      const padded =
        i === columns.length - 1 && column.right !== true
          ? raw
          : pad(raw, widths[i] ?? 0, column.right === true)
      if (!colors) return padded
      const paint = column.paint?.(row, colors)
      return paint ? paint(padded) : padded
    })
    lines.push(join(cells))
  })
  return { lines, widths }
}

/** One record as `label  value` lines, labels aligned: the `show` view. */
export function formatRecord<T>(columns: readonly Column<T>[], row: T, colors?: Colors): string[] {
  const labelWidth = Math.max(...columns.map((column) => width(column.header)))
  return columns.map((column) => {
    const label = pad(column.header, labelWidth, false)
    const raw = cellText(column.value(row))
    if (!colors) return `${label}  ${raw}`.trimEnd()
    const paint = column.paint?.(row, colors)
    return `${colors.bold(label)}  ${paint ? paint(raw) : raw}`.trimEnd()
  })
}
