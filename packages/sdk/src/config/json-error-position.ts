/**
 * Where a JSON text first goes wrong, as line and column. `JSON.parse` does not say reliably: on
 * Node 20 some messages carry a position and others carry a slice of the text instead, and a slice
 * of a configuration file must not reach an error message. So after `JSON.parse` has refused a text,
 * this small scanner walks the RFC 8259 grammar to find the first offending character, and the
 * message is built from its position alone.
 */

export interface JsonErrorPosition {
  /** 1-based line. */
  readonly line: number
  /** 1-based column, in UTF-16 code units. */
  readonly column: number
  /** What was expected or found, without quoting the text. */
  readonly problem: string
}

const MAX_DEPTH = 512

class ScanError {
  constructor(
    readonly offset: number,
    readonly problem: string,
  ) {}
}

/** Returns the first syntax error of `text`, or `undefined` if the scanner finds none. */
export function jsonErrorPosition(text: string): JsonErrorPosition | undefined {
  try {
    new JsonScanner(text).document()
    return undefined
  } catch (error) {
    if (!(error instanceof ScanError)) return undefined
    const before = text.slice(0, error.offset)
    const lines = before.split('\n')
    const last = lines.at(-1) ?? ''
    return { line: lines.length, column: last.length + 1, problem: error.problem }
  }
}

class JsonScanner {
  private at = 0

  constructor(private readonly text: string) {}

  document(): void {
    this.value(0)
    this.whitespace()
    if (this.at < this.text.length) this.fail('unexpected character after the end of the JSON value')
  }

  private fail(problem: string, offset = this.at): never {
    throw new ScanError(offset, problem)
  }

  private whitespace(): void {
    while (this.at < this.text.length && ' \t\n\r'.includes(this.text[this.at] ?? '')) this.at++
  }

  private value(depth: number): void {
    // Too deep to be a configuration file: give up rather than exhaust the stack.
    if (depth > MAX_DEPTH) throw new RangeError('nesting too deep')
    this.whitespace()
    const c = this.text[this.at]
    if (c === undefined) this.fail('unexpected end of input where a value was expected')
    else if (c === '{') this.object(depth)
    else if (c === '[') this.array(depth)
    else if (c === '"') this.string()
    else if (c === '-' || (c >= '0' && c <= '9')) this.number()
    else if (!this.literal('true') && !this.literal('false') && !this.literal('null')) {
      this.fail('unexpected character where a value was expected')
    }
  }

  private literal(word: string): boolean {
    if (!this.text.startsWith(word, this.at)) return false
    this.at += word.length
    return true
  }

  private object(depth: number): void {
    this.at++
    this.whitespace()
    if (this.text[this.at] === '}') {
      this.at++
      return
    }
    for (;;) {
      this.whitespace()
      if (this.text[this.at] !== '"') this.fail('expected a double-quoted property name')
      this.string()
      this.whitespace()
      if (this.text[this.at] !== ':') this.fail("expected ':' after a property name")
      this.at++
      this.value(depth + 1)
      this.whitespace()
      const c = this.text[this.at]
      this.at++
      if (c === '}') return
      if (c !== ',') this.fail("expected ',' or '}' after a property value", this.at - 1)
    }
  }

  private array(depth: number): void {
    this.at++
    this.whitespace()
    if (this.text[this.at] === ']') {
      this.at++
      return
    }
    for (;;) {
      this.value(depth + 1)
      this.whitespace()
      const c = this.text[this.at]
      this.at++
      if (c === ']') return
      if (c !== ',') this.fail("expected ',' or ']' after an array element", this.at - 1)
    }
  }

  private string(): void {
    this.at++
    for (;;) {
      const c = this.text[this.at]
      if (c === undefined) this.fail('unterminated string')
      else if (c === '"') {
        this.at++
        return
      } else if (c === '\\') {
        const escaped = this.text[this.at + 1]
        if (escaped === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.at + 2, this.at + 6))) {
            this.fail('invalid \\u escape in a string')
          }
          this.at += 6
        } else if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) this.at += 2
        else this.fail('invalid escape in a string')
      } else if (c < ' ') this.fail('control character in a string (escape it)')
      else this.at++
    }
  }

  private number(): void {
    if (this.text[this.at] === '-') this.at++
    if (this.text[this.at] === '0') this.at++
    else if (!this.digits()) this.fail('invalid number')
    if (this.text[this.at] === '.') {
      this.at++
      if (!this.digits()) this.fail('invalid number: digits expected after the decimal point')
    }
    if (this.text[this.at] === 'e' || this.text[this.at] === 'E') {
      this.at++
      if (this.text[this.at] === '+' || this.text[this.at] === '-') this.at++
      if (!this.digits()) this.fail('invalid number: digits expected in the exponent')
    }
  }

  private digits(): boolean {
    const start = this.at
    while (
      this.at < this.text.length &&
      (this.text[this.at] ?? '') >= '0' &&
      (this.text[this.at] ?? '') <= '9'
    ) {
      this.at++
    }
    return this.at > start
  }
}
