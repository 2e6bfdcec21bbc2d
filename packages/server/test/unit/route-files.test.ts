// One slice per aggregate: each route file under http/routes/ serves one aggregate, under the name
// of its service folder (`credential-routes.ts` calls `services/credentials/`), and its handlers
// take their input typed by `defineRoute`, so none needs a `!` or a cast to reach it.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const SRC = join(import.meta.dirname, '../../src')
const ROUTES = join(SRC, 'http/routes')
const routeFiles = readdirSync(ROUTES).filter((f) => f.endsWith('-routes.ts'))

const parse = (file: string) =>
  ts.createSourceFile(file, readFileSync(join(ROUTES, file), 'utf8'), ts.ScriptTarget.Latest, true)

const importsOf = (source: ts.SourceFile): string[] =>
  source.statements.filter(ts.isImportDeclaration).map((i) => (i.moduleSpecifier as ts.StringLiteral).text)

const walk = (node: ts.Node, visit: (n: ts.Node) => void): void => {
  visit(node)
  node.forEachChild((child) => walk(child, visit))
}

describe('route files', () => {
  it('are found', () => {
    expect(routeFiles.length).toBeGreaterThan(10)
  })

  it.each(routeFiles)('%s calls the services of one aggregate only, the folder it is named after', (file) => {
    const folders = new Set(
      importsOf(parse(file))
        .map((path) => /^\.\.\/\.\.\/services\/([^/]+)\//.exec(path)?.[1])
        .filter((folder) => folder !== undefined),
    )
    expect([...folders].length, `${file} imports services/${[...folders].join(', services/')}`).toBeLessThan(
      2,
    )
    // `credential-routes.ts` ↔ `services/credentials/`; audit, signing keys and metrics have no folder.
    const named = `${file.replace(/-routes\.ts$/, '')}s`
    if (existsSync(join(SRC, 'services', named))) {
      for (const folder of folders) expect(folder, file).toBe(named)
    }
  })

  it.each(routeFiles)('%s does not reach into another route file', (file) => {
    expect(importsOf(parse(file)).filter((path) => /^\.\/[^/]+-routes\.js$/.test(path))).toEqual([])
  })

  it.each(routeFiles)('%s has no non-null assertion, and no cast in a handler', (file) => {
    const found: string[] = []
    const source = parse(file)
    walk(source, (n) => {
      if (ts.isNonNullExpression(n)) found.push(`${n.getText(source)}`)
      if (ts.isPropertyAssignment(n) && n.name.getText(source) === 'handler') {
        walk(n.initializer, (h) => {
          const cast = ts.isAsExpression(h) || ts.isTypeAssertionExpression(h)
          if (cast && h.type.getText(source) !== 'const') found.push(h.getText(source))
        })
      }
    })
    expect(found).toEqual([])
  })
})
