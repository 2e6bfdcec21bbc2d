import { describe, expect, it } from 'vitest'
import { EnvFileError, parseEnvFile } from '../../src/run/env-file.js'

const values = (text: string) => Object.fromEntries(parseEnvFile(text, '.env').map((e) => [e.name, e.value]))

describe('parseEnvFile', () => {
  it('reads KEY=value lines, comments, blank lines and export', () => {
    const text = [
      '# a comment',
      '',
      'A=1',
      '  B = two words  ',
      'export C=strongroom://credential/demo/api-key',
      'export\tD=x # a comment',
      'E=has#hash',
      'F=',
      'G.H-I=dots',
      '_J=under',
    ].join('\n')
    expect(values(text)).toEqual({
      A: '1',
      B: 'two words',
      C: 'strongroom://credential/demo/api-key',
      D: 'x',
      E: 'has#hash',
      F: '',
      'G.H-I': 'dots',
      _J: 'under',
    })
  })

  it('reads quoted values: single and backtick as they are, double with escapes, over several lines', () => {
    const text = [
      `S='a "b" \\n #c'`,
      'D="line\\nnext \\"q\\" \\\\ \\t|"  # comment',
      'B=`x \'y\' "z"`',
      'M="first',
      'second"',
      "K='-----BEGIN KEY-----",
      'abc',
      "-----END KEY-----'",
      'AFTER=1',
    ].join('\r\n')
    expect(values(text)).toEqual({
      S: 'a "b" \\n #c',
      D: 'line\nnext "q" \\ \t|',
      B: `x 'y' "z"`,
      M: 'first\nsecond',
      K: '-----BEGIN KEY-----\nabc\n-----END KEY-----',
      AFTER: '1',
    })
  })

  it('lets a later key win, in order, and names where each came from', () => {
    const entries = parseEnvFile('A=1\nB=2\nA=3\n', 'app.env')
    expect(entries.map((e) => [e.name, e.value, e.origin])).toEqual([
      ['A', '1', 'app.env line 1'],
      ['B', '2', 'app.env line 2'],
      ['A', '3', 'app.env line 3'],
    ])
  })

  it('does not expand variables', () => {
    const braces = '$' + '{HOME}'
    expect(values(`A=${braces}\nB="$HOME"`)).toEqual({ A: braces, B: '$HOME' })
  })

  it('refuses what is not KEY=value, naming the line and never its text', () => {
    const canary = 'sk_live_canary_value_42'
    const cases: [string, RegExp][] = [
      [`${canary}`, /^\.env line 1: expected KEY=value$/],
      [`A=1\n1BAD=${canary}`, /^\.env line 2: a key is/],
      [`A="${canary}`, /^\.env line 1: the quote is never closed$/],
      [`A="${canary}" trailing`, /^\.env line 1: only a comment may follow the closing quote$/],
      [`=${canary}`, /^\.env line 1: expected KEY=value$/],
      [
        `A=1\nB=${canary}\0tail`,
        /^\.env line 2: contains a NUL character, which an environment variable cannot hold$/,
      ],
      [`A="first\n${canary}\0"`, /^\.env line 2: contains a NUL character/],
      [`# a comment \0 ${canary}`, /^\.env line 1: contains a NUL character/],
    ]
    for (const [text, message] of cases) {
      let error: unknown
      try {
        parseEnvFile(text, '.env')
      } catch (e) {
        error = e
      }
      expect(error, text).toBeInstanceOf(EnvFileError)
      expect((error as Error).message).toMatch(message)
      expect((error as Error).message).not.toContain(canary)
    }
  })

  it('ignores a byte order mark', () => {
    expect(values('\uFEFFA=1')).toEqual({ A: '1' })
  })
})
