// The console writes an invisible control character as the CLI's tables do, so that an
// administrator reading the same audit event in both sees the same `\u202e`. (The DOM half,
// `visible`, is tested in Chromium: test/browser/console-visible-text.test.ts.)
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cellText } from '../../cli/src/table.js'
import { escapeOf, hasHiddenCharacters, visibleString } from '../src/visible-text.js'

describe("the console's escapes", () => {
  it('are the escapes of the CLI’s tables, for any text (the CLI also doubles backslashes and quotes "")', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\\') && s !== '')
    fc.assert(
      fc.property(text, (s) => {
        fc.pre(s !== '""')
        expect(visibleString(s)).toBe(cellText(s))
      }),
    )
    expect(visibleString('4711 \u202etnedicni\n\u0085\u2028')).toBe(
      cellText('4711 \u202etnedicni\n\u0085\u2028'),
    )
  })

  it('cover the controls and the bidirectional characters, and nothing else', () => {
    expect(visibleString('\u202e4711 tnedicni')).toBe('\\u202e4711 tnedicni')
    expect([...'\u0000\t\n\r\u001b\u007f\u0085\u009f'].map(escapeOf)).toEqual([
      '\\x00',
      '\\t',
      '\\n',
      '\\r',
      '\\x1b',
      '\\x7f',
      '\\x85',
      '\\x9f',
    ])
    for (const char of '\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029')
      expect(hasHiddenCharacters(`a${char}b`), escapeOf(char)).toBe(true)
    for (const text of ['Zahlungsdienst – Prod 🚀', 'عربي', '👩‍💻', 'ü\u00a0é', '\\u202e typed'])
      expect(visibleString(text), text).toBe(text)
  })
})
