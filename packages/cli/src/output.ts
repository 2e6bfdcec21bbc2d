import pc from 'picocolors'
import type { Colors } from './colors.js'
import type { OutputStream } from './io.js'
import { INVISIBLE_CONTROLS, toJson, unicodeEscape } from './safe-text.js'
import { type Column, formatRecord, formatTable, type Table } from './table.js'

export interface OutputOptions {
  json: boolean
  color: boolean
}

/** Colours only for a terminal, and never when `NO_COLOR` is set (https://no-color.org). */
export function shouldColor(
  stdout: OutputStream,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  return stdout.isTTY === true && env['NO_COLOR'] === undefined
}

/**
 * Everything a command prints. Results go to stdout (tables, records, or with `--json` the raw
 * JSON and nothing else); notes for the human go to stderr and never hold a secret.
 */
export class Output {
  readonly json: boolean
  readonly colors: Colors | undefined
  readonly #stdout: OutputStream
  readonly #stderr: OutputStream

  constructor(stdout: OutputStream, stderr: OutputStream, options: OutputOptions) {
    this.#stdout = stdout
    this.#stderr = stderr
    this.json = options.json
    this.colors = options.color ? pc.createColors(true) : undefined
  }

  /** Writes to stdout, waiting when the reader is slower than we are. */
  async write(text: string): Promise<void> {
    if (!this.#stdout.write(text)) await new Promise<void>((resolve) => this.#stdout.once('drain', resolve))
  }

  line(text = ''): Promise<void> {
    return this.write(`${text}\n`)
  }

  printJson(value: unknown): Promise<void> {
    return this.write(`${toJson(value, 2)}\n`)
  }

  /** A list: with `--json` the array of entities, else a table. */
  async list<T>(columns: readonly Column<T>[], rows: readonly T[]): Promise<void> {
    if (this.json) return this.printJson(rows)
    await this.table(columns, rows)
  }

  async table<T>(
    columns: readonly Column<T>[],
    rows: readonly T[],
    options: { minWidths?: readonly number[]; header?: boolean } = {},
  ): Promise<Table> {
    const table = formatTable(columns, rows, { ...options, colors: this.colors })
    if (table.lines.length > 0) await this.write(`${table.lines.join('\n')}\n`)
    return table
  }

  /** One entity: with `--json` the object, else aligned `label  value` lines. */
  async record<T>(columns: readonly Column<T>[], row: T): Promise<void> {
    if (this.json) return this.printJson(row)
    await this.write(`${formatRecord(columns, row, this.colors).join('\n')}\n`)
  }

  /** A failure line on stderr, `strongroom: …`, for failures reported without throwing. */
  error(text: string): void {
    const line = text
      .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
      .replace(INVISIBLE_CONTROLS, unicodeEscape)
    this.#stderr.write(`strongroom: ${line}\n`)
  }

  /** A note for the human on stderr, e.g. "it will not be shown again". Never pass a secret. */
  note(text: string): void {
    this.#stderr.write(`${text}\n`)
  }
}
