// Status belongs to the edge: a domain error carries a code, `ERROR_STATUS` (@strongroom/protocol)
// gives the code its status, and only http/error-handler.ts turns one into the other. This scans
// packages/server/src for the ways a status could creep back in where an error is made or judged.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const SRC = join(import.meta.dirname, '../../src')

/** The edge itself: the one file that may turn codes into statuses. */
const EDGE = 'http/error-handler.ts'

/**
 * Status comparisons that are not about a domain error, each with its reason. `expression` is the
 * compared expression as written.
 */
const ALLOWED: readonly { file: RegExp; expression: RegExp; reason: string }[] = [
  {
    file: /^errors\.ts$/,
    expression: /^ERROR_STATUS\[err\.code\]\.status$/,
    reason: "the predicates' lookup (isAuthenticationFailure…): the class of a code, read from the table",
  },
  {
    file: /^services\/providers\/upstream-tokens\.ts$/,
    expression: /^response\.status$/,
    reason: "the upstream token endpoint's own answer, judged before any domain error exists",
  },
  {
    file: /^sts\//,
    expression: /^(answer|refusal|response)\.status$/,
    reason: "the cloud STS's own answer (429, 5xx), judged before any domain error exists",
  },
]

/** A status of a refusal or a failure: successes (200, 201, 204) are the routes' to choose. */
const isErrorStatus = (n: ts.Node): boolean =>
  ts.isNumericLiteral(n) && Number(n.text) >= 400 && Number(n.text) <= 599
const holdsErrorStatus = (n: ts.Node): boolean =>
  isErrorStatus(n) ||
  (ts.isParenthesizedExpression(n) && holdsErrorStatus(n.expression)) ||
  (ts.isConditionalExpression(n) && (holdsErrorStatus(n.whenTrue) || holdsErrorStatus(n.whenFalse)))

const COMPARISONS = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
  ts.SyntaxKind.LessThanToken,
  ts.SyntaxKind.LessThanEqualsToken,
  ts.SyntaxKind.GreaterThanToken,
  ts.SyntaxKind.GreaterThanEqualsToken,
])
const isStatusRead = (n: ts.Node): n is ts.PropertyAccessExpression =>
  ts.isPropertyAccessExpression(n) && (n.name.text === 'status' || n.name.text === 'statusCode')
const isMessageRead = (n: ts.Node): n is ts.PropertyAccessExpression =>
  ts.isPropertyAccessExpression(n) && n.name.text === 'message'
const isText = (n: ts.Node): boolean =>
  ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateExpression(n)

interface Finding {
  file: string
  line: number
  rule: string
  text: string
}

/** Names of the classes that are PamErrors, found by following `extends` across `sources`. */
function pamErrorClasses(sources: readonly ts.SourceFile[]): Set<string> {
  const classes = new Set(['PamError'])
  for (let grew = true; grew; ) {
    grew = false
    for (const source of sources) {
      const visit = (node: ts.Node) => {
        if (ts.isClassDeclaration(node) && node.name && !classes.has(node.name.text)) {
          const base = node.heritageClauses
            ?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)
            ?.types[0]?.expression.getText(source)
          if (base !== undefined && classes.has(base)) {
            classes.add(node.name.text)
            grew = true
          }
        }
        ts.forEachChild(node, visit)
      }
      visit(source)
    }
  }
  return classes
}

/** Every place in `source` (at `file`, relative to src/) where a status is chosen or judged for an error. */
function findStatusOutsideTheEdge(
  source: ts.SourceFile,
  file: string,
  errorClasses: ReadonlySet<string>,
): Finding[] {
  if (file === EDGE) return []
  const found: Finding[] = []
  const report = (node: ts.Node, rule: string) =>
    found.push({
      file,
      line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1,
      rule,
      text: node.getText(source).replace(/\s+/g, ' ').slice(0, 120),
    })
  const allowed = (expression: ts.Node) =>
    ALLOWED.some((a) => a.file.test(file) && a.expression.test(expression.getText(source)))
  let inErrorClass = false

  const visit = (node: ts.Node) => {
    const outer = inErrorClass
    if (ts.isClassDeclaration(node))
      inErrorClass = node.name !== undefined && errorClasses.has(node.name.text)
    // new PamError(code, 400, …), new OAuthError(…, 401), and a subclass's super(code, 403, …).
    if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      errorClasses.has(node.expression.text) &&
      node.arguments?.some(holdsErrorStatus)
    )
      report(node, 'an error constructed with a status')
    if (
      inErrorClass &&
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.SuperKeyword &&
      node.arguments.some(holdsErrorStatus)
    )
      report(node, 'an error class passing a status to its base')
    // err.status === 401, status >= 500 …
    if (ts.isBinaryExpression(node) && COMPARISONS.has(node.operatorToken.kind)) {
      for (const [side, other] of [
        [node.left, node.right],
        [node.right, node.left],
      ] as const) {
        if (isStatusRead(side) && isErrorStatus(other) && !allowed(side))
          report(node, 'a branch on a status number')
        // err.message === 'client authentication failed'
        if (isMessageRead(side) && isText(other)) report(node, 'a branch on a message string')
      }
    }
    // switch (err.status) { case 401: … }
    if (
      ts.isSwitchStatement(node) &&
      isStatusRead(node.expression) &&
      !allowed(node.expression) &&
      node.caseBlock.clauses.some((c) => ts.isCaseClause(c) && isErrorStatus(c.expression))
    )
      report(node.expression, 'a branch on a status number')
    // err.message.includes('…'), /…/.test(err.message)
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.text
      if (
        ['includes', 'startsWith', 'endsWith', 'match'].includes(method) &&
        isMessageRead(node.expression.expression)
      )
        report(node, 'a branch on a message string')
      if (method === 'test' && node.arguments.some(isMessageRead))
        report(node, 'a branch on a message string')
    }
    // An error answer built by hand: { status: 404, code: 'RouteNotFound', … }.
    if (ts.isObjectLiteralExpression(node)) {
      const property = (name: string) =>
        node.properties.find(
          (p): p is ts.PropertyAssignment =>
            ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === name,
        )
      const status = property('status')
      if (status && holdsErrorStatus(status.initializer) && property('code'))
        report(node, 'an error answer with a status of its own')
    }
    // reply.code(503), reply.status(401): an error status sent around the error handler.
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      (node.expression.name.text === 'code' || node.expression.name.text === 'status') &&
      node.arguments.some(holdsErrorStatus)
    )
      report(node, 'an error status sent around the error handler')
    ts.forEachChild(node, visit)
    inErrorClass = outer
  }
  visit(source)
  return found
}

function parse(file: string, text: string): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** Scans snippets as if each were the file `file` of src/, with PamError's subclasses of `classes`. */
function scan(text: string, file = 'services/example.ts'): string[] {
  const source = parse(file, text)
  return findStatusOutsideTheEdge(source, file, pamErrorClasses([source])).map((f) => f.rule)
}

describe('status at the edge', () => {
  it('finds every way of choosing or judging a status for an error (the scan itself)', () => {
    const base = 'class PamError extends Error {}\nclass NotFound extends PamError {}\n'
    expect(scan(`${base}throw new PamError('Conflict', 409, 'taken')`)).toEqual([
      'an error constructed with a status',
    ])
    expect(scan(`${base}throw new NotFound('NotFound', 'gone', 404)`)).toEqual([
      'an error constructed with a status',
    ])
    expect(scan(`${base}throw new PamError('UpstreamUnavailable', late ? 504 : 502, 'm')`)).toEqual([
      'an error constructed with a status',
    ])
    expect(
      scan(`${base}class Gone extends NotFound { constructor() { super('NotFound', 404, 'gone') } }`),
    ).toEqual(['an error class passing a status to its base'])
    expect(scan('if (err instanceof PamError && err.status === 401) count()')).toEqual([
      'a branch on a status number',
    ])
    expect(scan('if (403 !== error.status) pass()')).toEqual(['a branch on a status number'])
    expect(scan('if (mapped.statusCode >= 500) page()')).toEqual(['a branch on a status number'])
    expect(scan('switch (err.status) { case 401: break }')).toEqual(['a branch on a status number'])
    expect(scan("if (err.message === 'client authentication failed') fail()")).toEqual([
      'a branch on a message string',
    ])
    expect(scan("if (err.message.startsWith('client')) fail()")).toEqual(['a branch on a message string'])
    expect(scan('if (/failed/.test(err.message)) fail()')).toEqual(['a branch on a message string'])
    expect(scan("send({ status: 404, code: 'RouteNotFound', message: 'no route' })")).toEqual([
      'an error answer with a status of its own',
    ])
    expect(scan('return reply.code(503).send(body)')).toEqual([
      'an error status sent around the error handler',
    ])
  })

  it('leaves alone what is not a status chosen for an error', () => {
    const base = 'class PamError extends Error {}\n'
    expect(
      scan(`${base}throw new PamError('Conflict', 'at most 409 characters', { retryAfterSeconds: 3 })`),
    ).toEqual([])
    expect(scan('if (route.success.status === 204) return reply.code(204).send()')).toEqual([])
    expect(scan('return reply.code(200).send({})')).toEqual([])
    expect(scan("const ok = { status: 'enabled', code: 'x' }; if (row.status === 'enabled') go()")).toEqual(
      [],
    )
    expect(scan("// err.status === 401 in a comment, and '401' in a string: if (x === '401')")).toEqual([])
    expect(scan("if (err.code === 'InvalidClient' || err.message === undefined) go()")).toEqual([])
    expect(scan("const s = err.message.replace(/^the access token /, '')")).toEqual([])
    expect(scan('if (response.status === 400) refuse()', 'services/providers/upstream-tokens.ts')).toEqual([])
    expect(scan('if (answer.status === 429 || refusal.status >= 500) retry()', 'sts/sts-http.ts')).toEqual([])
    expect(scan('if (err.status === 401) fail()', 'http/error-handler.ts')).toEqual([])
    // An allowed expression is allowed only in its own file.
    expect(scan('if (response.status === 400) refuse()')).toEqual(['a branch on a status number'])
  })

  it('finds no status chosen or judged for a domain error outside http/error-handler.ts', () => {
    const files = sourceFiles(SRC)
    expect(files.length).toBeGreaterThan(50)
    const sources = files.map((path) => parse(path, readFileSync(path, 'utf8')))
    const classes = pamErrorClasses(sources)
    // The scan knows the error classes it must look for, found by following `extends`.
    for (const name of [
      'PamError',
      'InvalidParameter',
      'NotFound',
      'OAuthError',
      'ProofRejected',
      'SessionRefused',
    ])
      expect(classes).toContain(name)
    const findings = sources.flatMap((source) =>
      findStatusOutsideTheEdge(source, relative(SRC, source.fileName).replaceAll('\\', '/'), classes),
    )
    expect(findings.map((f) => `${f.file}:${f.line} ${f.rule}: ${f.text}`)).toEqual([])
  })
})
