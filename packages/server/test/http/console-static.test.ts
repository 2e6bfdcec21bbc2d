import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENGINES, openTestServer, type TestServer } from '../support/engines.js'

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; " +
  "require-trusted-types-for 'script'; trusted-types 'none'"

const INDEX =
  '<!doctype html><html><head><title>strongroom console</title><link rel="stylesheet" href="/console/assets/console.css"></head>' +
  '<body><script type="module" src="/console/js/main.js"></script></body></html>'
const CSS = `body { margin: 0; }\n${'.row { display: flex; }\n'.repeat(50)}`
const MAIN = `import { page } from './views/page.js'\n${'page();\n'.repeat(40)}`

/** A built console in a temporary folder, with files beside it that must never be served. */
function builtConsole(): string {
  const root = mkdtempSync(join(tmpdir(), 'strongroom-console-'))
  mkdirSync(join(root, 'assets'))
  mkdirSync(join(root, 'dist', 'views'), { recursive: true })
  mkdirSync(join(root, 'src'))
  writeFileSync(join(root, 'assets', 'index.html'), INDEX)
  writeFileSync(join(root, 'assets', 'console.css'), CSS)
  writeFileSync(join(root, 'assets', 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
  writeFileSync(join(root, 'dist', 'main.js'), MAIN)
  writeFileSync(join(root, 'dist', 'views', 'page.js'), 'export function page() {}\n')
  writeFileSync(join(root, 'dist', 'main.d.ts'), 'export {}\n')
  writeFileSync(join(root, 'dist', 'tsconfig.tsbuildinfo'), '{}')
  writeFileSync(join(root, 'src', 'main.ts'), 'secret source\n')
  writeFileSync(join(root, 'package.json'), '{"name":"@strongroom/console"}')
  return root
}

function expectConsoleHeaders(headers: Record<string, unknown>, what: string) {
  expect(headers['content-security-policy'], what).toBe(CSP)
  expect(headers['x-content-type-options'], what).toBe('nosniff')
  expect(headers['referrer-policy'], what).toBe('no-referrer')
  expect(headers['x-frame-options'], what).toBe('DENY')
  expect(headers['cross-origin-opener-policy'], what).toBe('same-origin')
  expect(headers['cross-origin-resource-policy'], what).toBe('same-origin')
}

describe.each(ENGINES)('the console’s files on %s', (engine) => {
  let t: TestServer
  const root = builtConsole()
  const get = (url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url, headers })
  beforeAll(async () => {
    t = await openTestServer(engine, { app: { consoleRoot: root } })
  })
  afterAll(async () => {
    await t?.close()
    rmSync(root, { recursive: true, force: true })
  })

  it('redirects /console to /console/ (308) and answers the page there, with its security headers', async () => {
    const bare = await get('/console?x=1')
    expect(bare.statusCode).toBe(308)
    expect(bare.headers.location).toBe('/console/?x=1')
    expectConsoleHeaders(bare.headers, 'redirect')
    const page = await get('/console/')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.headers['cache-control']).toBe('no-store')
    expect(page.headers.etag).toMatch(/^"[\w-]{27}"$/)
    expect(page.body).toBe(INDEX)
    expectConsoleHeaders(page.headers, 'page')
  })

  // `no-cache` let the browser keep the page whole in its back/forward cache, and Back showed a
  // revealed secret or a one-time token again after the page had left.
  it('lets no browser store the page (no-store) at any of its addresses; scripts and styles are revalidated', async () => {
    for (const route of ['/console/', '/console/i/idaas_x/credentials/cred_x', '/console/admin-tokens']) {
      const res = await get(route)
      expect(res.body, route).toBe(INDEX)
      expect(res.headers['cache-control'], route).toBe('no-store')
    }
    for (const file of ['/console/js/main.js', '/console/assets/console.css']) {
      expect((await get(file)).headers['cache-control'], file).toBe('no-cache')
    }
    // Plain HTTP: no Strict-Transport-Security (it is for the server's own TLS only).
    expect((await get('/console/')).headers['strict-transport-security']).toBeUndefined()
  })

  it('answers the page for the console’s own routes, which name no file', async () => {
    for (const route of [
      '/console/credentials',
      '/console/i/idaas_x/credentials/cred_x',
      '/console/audit/',
    ]) {
      const res = await get(route)
      expect(res.statusCode, route).toBe(200)
      expect(res.body, route).toBe(INDEX)
    }
  })

  it('serves assets/ and dist/ scripts with their types, gzip when accepted, and 304 on a matching ETag', async () => {
    const css = await get('/console/assets/console.css')
    expect(css.statusCode).toBe(200)
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8')
    expect(css.body).toBe(CSS)
    expect(css.headers.vary).toBe('accept-encoding')
    expectConsoleHeaders(css.headers, 'css')
    const zipped = await get('/console/assets/console.css', { 'accept-encoding': 'gzip, deflate, br' })
    expect(zipped.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(zipped.rawPayload).toString()).toBe(CSS)
    expect(zipped.rawPayload.length).toBeLessThan(CSS.length / 4)
    expect(
      (await get('/console/assets/console.css', { 'accept-encoding': 'gzip;q=0' })).headers[
        'content-encoding'
      ],
    ).toBe(undefined)
    const svg = await get('/console/assets/favicon.svg')
    expect(svg.headers['content-type']).toBe('image/svg+xml')
    const main = await get('/console/js/main.js')
    expect(main.statusCode).toBe(200)
    expect(main.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(main.body).toBe(MAIN)
    const nested = await get('/console/js/views/page.js')
    expect(nested.statusCode).toBe(200)
    expect(nested.body).toContain('export function page')
    for (const [url, etag] of [
      ['/console/js/main.js', main.headers.etag],
      ['/console/assets/console.css', zipped.headers.etag],
      ['/console/', `W/${css.headers.etag}, ${(await get('/console/')).headers.etag}`],
    ] as const) {
      const again = await get(url, { 'if-none-match': String(etag), 'accept-encoding': 'gzip' })
      expect(again.statusCode, url).toBe(304)
      expect(again.body).toBe('')
      expectConsoleHeaders(again.headers, '304')
    }
    expect((await get('/console/js/main.js', { 'if-none-match': '"other"' })).statusCode).toBe(200)
  })

  it('answers 404 for an unknown file and for every way out of the two folders', async () => {
    for (const url of [
      '/console/assets/missing.css',
      '/console/assets/',
      '/console/assets',
      '/console/js/',
      '/console/js/missing.js',
      '/console/js/main.d.ts',
      '/console/js/tsconfig.tsbuildinfo',
      '/console/js/main.ts',
      '/console/assets/index.html/x',
      '/console/assets/views/page.js',
      '/console/favicon.ico',
      '/console/package.json',
      '/console/assets/../package.json',
      '/console/assets/%2e%2e/package.json',
      '/console/assets/..%2fpackage.json',
      '/console/assets/%2e%2e%2f%2e%2e%2fsrc%2fmain.ts',
      '/console/js/../src/main.ts',
      '/console/js/..%2fsrc%2fmain.ts',
      '/console/js/..%5csrc%5cmain.ts',
      '/console/js//etc/passwd',
      '/console/..%2f..%2fpackage.json',
    ]) {
      const res = await get(url)
      expect(res.statusCode, url).toBe(404)
      expect(res.body, url).not.toContain('secret source')
      expect(res.body, url).not.toContain('@strongroom/console')
      expectConsoleHeaders(res.headers, url)
    }
  })

  it('answers 404 to the same paths sent as they are to a listening server (no client normalises them)', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = t.app.server.address() as AddressInfo
    const raw = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
          let body = ''
          res.on('data', (chunk) => {
            body += chunk
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on('error', reject)
        req.end()
      })
    for (const path of [
      '/console/assets/../package.json',
      '/console/assets/../../package.json',
      '/console/js/../src/main.ts',
      '/console/js/../../../../../etc/passwd',
      '/console/js/%2e%2e/%2e%2e/package.json',
      '/console/assets/%2e%2e%2fsrc%2fmain.ts',
      '/console/js/views/../../src/main.ts',
      '/console/js/./main.js',
    ]) {
      const res = await raw(path)
      expect(res.status, path).toBe(404)
      expect(res.body, path).not.toContain('secret source')
      expect(res.body, path).not.toContain('root:')
    }
    expect((await raw('/console/js/views/page.js')).status).toBe(200)
  })

  it('puts the security headers on the session routes too', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/console/session' })
    expect(res.statusCode).toBe(401)
    expectConsoleHeaders(res.headers, 'session')
  })
})

describe('a console that is not built', () => {
  let t: TestServer
  let now = 1_800_000_000_000
  const root = mkdtempSync(join(tmpdir(), 'strongroom-console-unbuilt-'))
  beforeAll(async () => {
    t = await openTestServer('sqlite', { now: () => now, app: { consoleRoot: root } })
  })
  afterAll(async () => {
    await t?.close()
    rmSync(root, { recursive: true, force: true })
  })

  it('answers 503 naming `npm run build`, then serves it once it is built, without a restart', async () => {
    const missing = await t.app.inject({ method: 'GET', url: '/console/' })
    expect(missing.statusCode).toBe(503)
    expect(JSON.parse(missing.body)).toMatchObject({ Code: 'ServiceUnavailable' })
    expect(JSON.parse(missing.body).Message).toContain('npm run build')
    expectConsoleHeaders(missing.headers, '503')
    rmSync(root, { recursive: true, force: true })
    const built = builtConsole()
    try {
      const again = await openTestServer('sqlite', { now: () => now, app: { consoleRoot: built } })
      await again.close()
      // The first server looks again after a pause: point it at a folder that is now built.
      mkdirSync(root)
      for (const dir of ['assets', 'dist']) mkdirSync(join(root, dir))
      writeFileSync(join(root, 'assets', 'index.html'), INDEX)
      writeFileSync(join(root, 'dist', 'main.js'), MAIN)
      expect((await t.app.inject({ method: 'GET', url: '/console/' })).statusCode).toBe(503)
      now += 3_000
      const served = await t.app.inject({ method: 'GET', url: '/console/' })
      expect(served.statusCode).toBe(200)
      expect(served.body).toBe(INDEX)
    } finally {
      rmSync(built, { recursive: true, force: true })
    }
  })

  it('answers 503 when there is no console package at all', async () => {
    const none = await openTestServer('sqlite', { app: { consoleRoot: null } })
    try {
      const res = await none.app.inject({ method: 'GET', url: '/console/anything' })
      expect(res.statusCode).toBe(503)
      expect(JSON.parse(res.body).Message).toContain('npm run build')
    } finally {
      await none.close()
    }
  })
})
