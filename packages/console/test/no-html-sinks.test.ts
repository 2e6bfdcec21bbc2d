// The console's CSP enforces Trusted Types with no policy, so an HTML or script sink throws at run
// time, but only on the path that reaches it. This reads every source file instead, so a sink on a
// rarely used path (an error branch, a page no browser test opens) fails here first.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const sources = readdirSync(join(root, 'src'))
  .filter((name) => name.endsWith('.ts'))
  .map((name) => ({ name, text: withoutComments(readFileSync(join(root, 'src', name), 'utf8')) }))

/** Source without its comments, which may name the sinks they warn against. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
}

const SINKS: ReadonlyArray<readonly [string, RegExp]> = [
  ['innerHTML', /\.innerHTML\b/],
  ['outerHTML', /\.outerHTML\b/],
  ['insertAdjacentHTML', /\binsertAdjacentHTML\b/],
  ['document.write', /\bdocument\.write(?:ln)?\b/],
  ['eval', /\beval\s*\(/],
  ['new Function', /\bnew\s+Function\b/],
  ['string timers', /\bset(?:Timeout|Interval)\(\s*['"`]/],
  ['DOMParser', /\bDOMParser\b/],
  ['createContextualFragment', /\bcreateContextualFragment\b/],
  ['inline style attribute', /['"]style['"]\s*:/],
  ['web storage', /\b(?:localStorage|sessionStorage|indexedDB)\b/],
]

describe('the console sources', () => {
  it('are all read (the check below is not vacuous)', () => {
    expect(sources.map((s) => s.name)).toEqual(
      expect.arrayContaining(['main.ts', 'dom.ts', 'page-credentials.ts']),
    )
  })

  for (const [sink, pattern] of SINKS) {
    it(`never use ${sink}`, () => {
      const found = sources.filter((s) => pattern.test(s.text)).map((s) => s.name)
      expect(found).toEqual([])
    })
  }

  it('write the page title in one place, from the page heading', () => {
    const writes = sources.flatMap((s) =>
      [...s.text.matchAll(/document\.title\s*=(?!=)\s*([^\n]+)/g)].map((m) => `${s.name}: ${m[1]}`),
    )
    expect(writes).toEqual(['main.ts: wanted'])
    const main = sources.find((s) => s.name === 'main.ts')!.text
    expect(main).toMatch(/const wanted = `\$\{heading \|\| 'strongroom'\} · strongroom console`/)
  })

  it('load only from the console itself: no absolute or protocol-relative URLs in scripts', () => {
    const found = sources.filter((s) => /\bfetch\(\s*['"`](?:https?:)?\/\//.test(s.text)).map((s) => s.name)
    expect(found).toEqual([])
  })
})

describe('the console page', () => {
  const html = readFileSync(join(root, 'assets', 'index.html'), 'utf8')
  it('has no inline script, inline style or inline handler', () => {
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    expect(html).not.toMatch(/<style\b/)
    expect(html).not.toMatch(/\sstyle=/)
    expect(html).not.toMatch(/\son[a-z]+=/)
  })
  it('loads its stylesheet and its module from /console and is titled without a secret', () => {
    expect(html).toContain('<link rel="stylesheet" href="/console/assets/console.css">')
    expect(html).toContain('<script type="module" src="/console/js/main.js"></script>')
    expect(html).toMatch(/<title>strongroom console<\/title>/)
  })
})
