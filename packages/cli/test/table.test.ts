import pc from 'picocolors'
import { describe, expect, it } from 'vitest'
import { type Column, cellText, formatRecord, formatTable, formatTimestamp } from '../src/table.js'

interface Row {
  id: string
  count: number
  note: string | null
  time: number | null
}

const columns: Column<Row>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'COUNT', value: (r) => r.count, right: true },
  { header: 'TIME', value: (r) => (r.time === null ? null : formatTimestamp(r.time)) },
  { header: 'NOTE', value: (r) => r.note },
]

const rows: Row[] = [
  { id: 'a', count: 1, note: 'first', time: 0 },
  { id: 'longer-id', count: 1234, note: null, time: null },
]

describe('formatTable', () => {
  it('aligns columns to their widest cell, two spaces apart, numbers right', () => {
    const { lines, widths } = formatTable(columns, rows)
    expect(lines).toEqual([
      'ID         COUNT  TIME                      NOTE',
      'a              1  1970-01-01T00:00:00.000Z  first',
      'longer-id   1234',
    ])
    expect(widths).toEqual([9, 5, 24, 5])
  })

  it('prints only the header for no rows', () => {
    expect(formatTable(columns, []).lines).toEqual(['ID  COUNT  TIME  NOTE'])
  })

  it('leaves no trailing blanks', () => {
    for (const line of formatTable(columns, rows).lines) expect(line).toBe(line.trimEnd())
  })

  it('keeps earlier widths and can leave out the header (rows arriving in batches)', () => {
    const first = formatTable(columns, rows)
    const next = formatTable(columns, [{ id: 'b', count: 2, note: 'x', time: 0 }], {
      minWidths: first.widths,
      header: false,
    })
    expect(next.lines).toEqual(['b              2  1970-01-01T00:00:00.000Z  x'])
  })

  it('escapes control characters so a stored value cannot break lines or drive the terminal', () => {
    const { lines } = formatTable(columns, [
      { id: 'evil\u001b[2J', count: 1, note: 'two\nlines', time: null },
    ])
    expect(lines[1]).toBe('evil\\x1b[2J      1        two\\nlines')
  })

  it('tells a newline from the text \\n, and the text - from no value (audit reasons, say)', () => {
    const { lines } = formatTable(columns, [
      { id: 'newline', count: 1, note: 'a\nb', time: null },
      { id: 'text', count: 2, note: 'a\\nb', time: null },
      { id: 'dash', count: 3, note: '-', time: null },
      { id: 'null', count: 4, note: null, time: null },
      { id: 'empty', count: 5, note: '', time: null },
    ])
    expect(lines.slice(1)).toEqual([
      'newline      1        a\\nb',
      'text         2        a\\\\nb',
      'dash         3        -',
      'null         4',
      'empty        5        ""',
    ])
  })

  it('colours only when given colours, without changing the alignment', () => {
    const colors = pc.createColors(true)
    const plain = formatTable(columns, rows).lines
    const coloured = formatTable(columns, rows, { colors }).lines
    expect(coloured).not.toEqual(plain)
    const strip = (text: string) => text.replace(/\u001b\[\d+m/g, '')
    expect(coloured.map(strip).map((line) => line.trimEnd())).toEqual(plain)
  })
})

describe('cellText', () => {
  it('writes bidi controls and line separators as visible \\u escapes, as it does C1 controls', () => {
    expect(cellText('invoice\u202eexe.txt')).toBe('invoice\\u202eexe.txt')
    expect(
      cellText('\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u2028\u2029\u0085'),
    ).toBe('\\u061c\\u200e\\u200f\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069\\u2028\\u2029\\x85')
    expect(formatRecord([{ header: 'Agent', value: (r: { a: string }) => r.a }], { a: 'x\u2067y' })).toEqual([
      'Agent  x\\u2067y',
    ])
  })

  it('shows null and undefined as an empty cell, the empty string as "", booleans as yes/no', () => {
    expect(cellText(null)).toBe('')
    expect(cellText(undefined)).toBe('')
    expect(cellText('-')).toBe('-')
    expect(cellText('')).toBe('""')
    expect(cellText('""')).toBe('\\"\\"')
    expect(cellText(true)).toBe('yes')
    expect(cellText(false)).toBe('no')
    expect(cellText(0)).toBe('0')
  })
})

describe('formatTimestamp', () => {
  it('is ISO 8601 in UTC', () => {
    expect(formatTimestamp(1_700_000_000_123)).toBe('2023-11-14T22:13:20.123Z')
  })
})

describe('formatRecord', () => {
  it('aligns labels', () => {
    expect(formatRecord(columns, rows[0]!)).toEqual([
      'ID     a',
      'COUNT  1',
      'TIME   1970-01-01T00:00:00.000Z',
      'NOTE   first',
    ])
  })

  it('escapes as the table does: a backslash doubled, null as nothing', () => {
    expect(formatRecord(columns, { id: 'C:\\x', count: 0, note: null, time: null })).toEqual([
      'ID     C:\\\\x',
      'COUNT  0',
      'TIME',
      'NOTE',
    ])
  })
})
