/**
 * `--dotenv F` in dotenv syntax, as `dotenv` and `docker compose` read it:
 *
 * - one `KEY=value` a line, with an optional `export ` before the key, spaces around `=` allowed;
 *   a key is a letter or `_`, then letters, digits, `_`, `.` or `-`;
 * - blank lines and lines starting with `#` are skipped; an unquoted value ends at a `#` that
 *   follows a space or tab (a comment), and is trimmed;
 * - `'single'` and `` `backtick` `` quotes keep their content as is; `"double"` quotes read
 *   `\n`, `\r`, `\t`, `\"` and `\\`; a quoted value may span lines; after the closing quote only
 *   spaces and a comment may follow;
 * - no `${VAR}` expansion: a value is what the file says;
 * - a key given twice: the later one wins;
 * - a NUL character anywhere is refused (no environment variable can hold one).
 *
 * Errors name the file and the line, never the line's text: it may hold a secret.
 */

export interface EnvEntry {
  readonly name: string
  readonly value: string
  /** `FILE line N`, for messages. */
  readonly origin: string
}

export class EnvFileError extends Error {
  override name = 'EnvFileError'
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/
const DOUBLE_QUOTED_ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  r: '\r',
  t: '\t',
  '"': '"',
  '\\': '\\',
}

/**
 * The entries of a dotenv file's text, in order (a repeated key appears twice; the caller keeps the
 * last).
 *
 * @example
 * parseEnvFile('export DB_PASSWORD="strongroom://account/db/admin/password" # the DBA', '.env')
 * // → [{ name: 'DB_PASSWORD', value: 'strongroom://account/db/admin/password', origin: '.env line 1' }]
 */
export function parseEnvFile(text: string, fileName: string): EnvEntry[] {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text
  const lines = source.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
  const withNul = lines.findIndex((line) => line.includes('\0'))
  if (withNul >= 0) {
    throw new EnvFileError(
      `${fileName} line ${withNul + 1}: contains a NUL character, which an environment variable cannot hold`,
    )
  }
  const entries: EnvEntry[] = []
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1
    const where = `${fileName} line ${lineNumber}`
    const line = lines[index]!.trimStart()
    if (line === '' || line.startsWith('#')) continue
    const assignment = /^(?:export[ \t]+)?([^=\s]+)[ \t]*=[ \t]*/.exec(line)
    if (assignment === null) throw new EnvFileError(`${where}: expected KEY=value`)
    const name = assignment[1]!
    if (!KEY.test(name)) {
      throw new EnvFileError(`${where}: a key is a letter or _, then letters, digits, _, . or -`)
    }
    const rest = line.slice(assignment[0].length)
    const quote = rest[0]
    if (quote === '"' || quote === "'" || quote === '`') {
      const read = readQuoted(lines, index, rest, quote, where)
      entries.push({ name, value: read.value, origin: where })
      index = read.lastLine
      continue
    }
    entries.push({ name, value: unquoted(rest), origin: where })
  }
  return entries
}

/** An unquoted value: up to a ` #` comment, trimmed. */
function unquoted(rest: string): string {
  const comment = /[ \t]#/.exec(rest)
  return (comment === null ? rest : rest.slice(0, comment.index)).trim()
}

function readQuoted(
  lines: readonly string[],
  firstLine: number,
  rest: string,
  quote: string,
  where: string,
): { value: string; lastLine: number } {
  let value = ''
  let lineIndex = firstLine
  let text = rest.slice(1)
  for (;;) {
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!
      if (quote === '"' && c === '\\' && i + 1 < text.length) {
        const escaped = text[i + 1]!
        value += DOUBLE_QUOTED_ESCAPES[escaped] ?? `\\${escaped}`
        i++
        continue
      }
      if (c === quote) {
        const after = text.slice(i + 1)
        if (!/^[ \t]*(#.*)?$/.test(after)) {
          throw new EnvFileError(`${where}: only a comment may follow the closing quote`)
        }
        return { value, lastLine: lineIndex }
      }
      value += c
    }
    lineIndex++
    if (lineIndex >= lines.length) throw new EnvFileError(`${where}: the quote is never closed`)
    value += '\n'
    text = lines[lineIndex]!
  }
}
