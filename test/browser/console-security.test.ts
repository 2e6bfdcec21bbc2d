// The console's defences, each shown in a real Chromium against a real server: the CSP and what it
// blocks, forged requests from another site and another origin, the session cookie's flags (plain
// and TLS), a revealed secret leaving the page, and a signed-out session that no longer works.
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContextOptions, Page, Response as PlaywrightResponse } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { selfSignedCertificate } from '../support/tls.js'
import { AdminApi, withSession } from './support/admin-api.js'
import { startAttackerSite } from './support/attacker-site.js'
import { launchChromium, newWatchedContext, screenshot, type WatchedContext } from './support/browser.js'
import {
  openConsole,
  parseSetCookie,
  SECURE_SESSION_COOKIE,
  SESSION_COOKIE,
  sessionCookie,
  signIn,
  signOut,
} from './support/console-session.js'
import { CONSOLE_CSP, cspDirectives } from './support/csp.js'
import { placesHolding } from './support/dom-scan.js'

const TEST = 'console-security'

describe('the console in Chromium: security', { timeout: 60_000 }, () => {
  let browser: Browser
  let server: ServerProcess
  let api: AdminApi
  let instanceId: string
  let adminToken: string
  let watched: WatchedContext | undefined

  beforeAll(async () => {
    ;[browser, server] = await Promise.all([launchChromium(), startServer()])
    api = new AdminApi(server)
    instanceId = await api.defaultInstanceId()
    adminToken = await server.adminToken()
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })
  afterEach(async () => {
    const current = watched
    watched = undefined
    await current?.context.close()
    current?.problems.assertClean()
  })

  async function open(options: BrowserContextOptions = {}): Promise<WatchedContext & { page: Page }> {
    watched = await newWatchedContext(browser, options)
    // A fresh page starts signed out: the console asks for its session and is told 401, by design.
    watched.problems.expectFailedLoad(401, '/console/session')
    return { ...watched, page: await watched.context.newPage() }
  }

  const applicationNames = async (): Promise<string[]> => {
    const page = await api.ok<{ entities: { name: string }[] }>(
      'GET',
      `/admin/v1/instances/${instanceId}/applications?maxResults=100`,
    )
    return page.entities.map((a) => a.name)
  }

  it('sends the strict CSP, nosniff, no-referrer and DENY framing on the page, its scripts, styles and 404s', async () => {
    const { page } = await open()
    const responses: PlaywrightResponse[] = []
    page.on('response', (response) => {
      if (new URL(response.url()).pathname.startsWith('/console')) responses.push(response)
    })
    await openConsole(page, server.url)
    await page.getByLabel('Admin token').waitFor()
    await screenshot(page, TEST, 'sign-in-1280')
    const seen = await Promise.all(
      responses.map(async (r) => ({ path: new URL(r.url()).pathname, headers: await r.allHeaders() })),
    )

    const paths = seen.map((s) => s.path)
    expect(paths).toContain('/console/')
    expect(paths.some((p) => /^\/console\/js\/.+\.js$/.test(p))).toBe(true)
    expect(paths.some((p) => p.startsWith('/console/assets/'))).toBe(true)

    // From Node too: a deep link (served index.html), a missing asset and a missing script.
    const fromNode: { path: string; status: number; headers: Record<string, string> }[] = []
    for (const path of [
      '/console/',
      '/console/i/idaas_x/credentials',
      '/console/assets/none.css',
      '/console/js/none.js',
    ]) {
      const response = await fetch(`${server.url}${path}`)
      await response.body?.cancel()
      fromNode.push({ path, status: response.status, headers: Object.fromEntries(response.headers) })
    }
    expect(fromNode.map((r) => r.status)).toEqual([200, 200, 404, 404])

    const expected = cspDirectives(CONSOLE_CSP)
    for (const { path, headers } of [...seen, ...fromNode]) {
      expect(cspDirectives(headers['content-security-policy'] ?? ''), path).toEqual(expected)
      expect(headers['x-content-type-options'], path).toBe('nosniff')
      expect(headers['referrer-policy'], path).toBe('no-referrer')
      expect(headers['x-frame-options']?.toUpperCase(), path).toBe('DENY')
    }
    for (const { path, headers } of seen.filter((s) => /\.js$/.test(s.path))) {
      expect(headers['content-type'], path).toMatch(/^(text|application)\/javascript\b/)
    }
  })

  it('blocks inline script, script from elsewhere, inline handlers, eval and HTML sinks; a violation is reported for each', async () => {
    const { page, problems } = await open()
    await openConsole(page, server.url)
    await page.getByLabel('Admin token').waitFor()
    // Each attempt below is meant to be refused, and Chromium reports each refusal as a console error.
    problems.expect(/Content Security Policy|Trusted ?Type|TrustedHTML|TrustedScript/i)

    const outcome = await page.evaluate(async () => {
      // page.evaluate's own call may run eval despite the CSP (DevTools allows it for the call it
      // makes); after a macrotask, everything below runs as the page's own code.
      await new Promise((resolve) => setTimeout(resolve, 0))
      const marks = window as unknown as Record<string, unknown>
      const violations: string[] = []
      document.addEventListener('securitypolicyviolation', (event) => {
        violations.push(event.effectiveDirective)
      })
      const errorOf = async (run: () => unknown): Promise<string> => {
        try {
          await run()
          return 'none'
        } catch (error) {
          return error instanceof Error ? error.name : String(error)
        }
      }
      const errors: Record<string, string> = {}

      // An inline <script> whose text comes from a text node: no HTML sink is touched, so only the
      // policy stands between it and running (Trusted Types checks the text before it would run).
      const script = document.createElement('script')
      script.appendChild(document.createTextNode('window.inlineScriptRan = true'))
      errors['inline <script>'] = await errorOf(() => document.body.appendChild(script))
      // An inline event handler attribute set through the DOM.
      const button = document.createElement('button')
      errors['onclick attribute'] = await errorOf(() =>
        button.setAttribute('onclick', 'window.inlineHandlerRan = true'),
      )
      document.body.appendChild(button)
      button.click()
      button.remove()
      // A javascript: URL.
      const link = document.createElement('a')
      link.href = 'javascript:window.javascriptUrlRan=true'
      document.body.appendChild(link)
      link.click()
      link.remove()
      // Strings as code.
      // biome-ignore lint/security/noGlobalEval: the point is that the page's policy refuses it
      errors['eval'] = await errorOf(() => window.eval('window.evalRan = true'))
      errors['new Function'] = await errorOf(() => new Function('window.functionRan = true')())
      // HTML sinks: Trusted Types with no policy makes each of them throw.
      const probe = document.createElement('div')
      errors['innerHTML'] = await errorOf(() => {
        probe.innerHTML = '<img src=x onerror="window.innerHTMLRan = true">'
      })
      errors['insertAdjacentHTML'] = await errorOf(() => probe.insertAdjacentHTML('beforeend', '<b>x</b>'))
      errors['createPolicy'] = await errorOf(() =>
        (
          window as unknown as { trustedTypes: { createPolicy(n: string, r: object): unknown } }
        ).trustedTypes.createPolicy('attacker', { createHTML: (s: string) => s }),
      )
      // An inline <style>: style-src 'self' refuses it as well.
      const style = document.createElement('style')
      style.textContent = 'body { display: none }'
      document.head.appendChild(style)
      const hiddenByStyle = getComputedStyle(document.body).display === 'none'
      style.remove()

      // Violation events are dispatched asynchronously.
      await new Promise((resolve) => setTimeout(resolve, 300))
      const names = ['inlineScriptRan', 'inlineHandlerRan', 'javascriptUrlRan', 'evalRan']
      return {
        ran: [...names, 'functionRan', 'innerHTMLRan'].filter((name) => marks[name] === true),
        hiddenByStyle,
        probeChildren: probe.childNodes.length,
        errors,
        violations: [...new Set(violations)].sort(),
      }
    })

    // Script from a data: URL and from another origin, through import(), which is no Trusted Types
    // sink: script-src 'self' alone refuses them. (A string, so the test runner's transform leaves
    // `import()` alone; it runs after a macrotask, as the page's own code.)
    const evil = await startAttackerSite(
      '127.0.0.2',
      () => '',
      (path) =>
        path === '/evil.js'
          ? { contentType: 'text/javascript', body: 'window.otherOriginRan = true' }
          : undefined,
    )
    const imports = await page
      .evaluate(`(async () => {
        await new Promise((resolve) => setTimeout(resolve, 0))
        const attempt = (url) => import(url).then(() => 'none', (error) => error.name)
        return {
          data: await attempt('data:text/javascript,window.dataImportRan=true'),
          otherOrigin: await attempt('${evil.url}/evil.js'),
          ran: [window.dataImportRan, window.otherOriginRan].some((mark) => mark === true),
        }
      })()`)
      .finally(() => evil.close())
    expect(imports).toEqual({ data: 'TypeError', otherOrigin: 'TypeError', ran: false })

    expect(outcome.ran).toEqual([])
    expect(outcome.hiddenByStyle).toBe(false)
    expect(outcome.probeChildren).toBe(0)
    expect(outcome.errors).toEqual({
      // The <script> is inserted, then refused before it runs (no exception, a violation).
      'inline <script>': 'none',
      'onclick attribute': 'TypeError',
      eval: expect.stringMatching(/^(EvalError|TypeError)$/),
      'new Function': expect.stringMatching(/^(EvalError|TypeError)$/),
      innerHTML: 'TypeError',
      insertAdjacentHTML: 'TypeError',
      createPolicy: 'TypeError',
    })
    // script-src 'self' refused the imports, Trusted Types the script text, the handler, the URL and
    // the HTML sinks, trusted-types 'none' the policy, style-src 'self' the inline style.
    expect(outcome.violations).toEqual(
      expect.arrayContaining([
        'script-src-elem',
        'require-trusted-types-for',
        'trusted-types',
        'style-src-elem',
      ]),
    )
    // And Chromium reported them as console errors: what the collector fails any other test on.
    const reported = problems.all().map((p) => p.text)
    expect(reported.some((text) => /Content Security Policy/.test(text))).toBe(true)
    expect(reported.some((text) => /Trusted ?Type|TrustedHTML|TrustedScript/.test(text))).toBe(true)
  })

  it('refuses forged POSTs from another site and from another origin of the same site: nothing is created', async () => {
    const { context, page, problems } = await open()
    const { session } = await signIn(page, server.url, adminToken)
    const target = `${server.url}/admin/v1/instances/${instanceId}/applications`
    const attackerPage = (label: string) => (): string =>
      [
        '<!doctype html><html><head><title>win a prize</title></head><body>',
        `<form id="plain" method="POST" action="${target}" enctype="text/plain">`,
        `<input name='{"name":"csrf-${label}-plain","x":"' value='"}'></form>`,
        `<form id="urlencoded" method="POST" action="${target}">`,
        `<input name="name" value="csrf-${label}-urlencoded"></form>`,
        '</body></html>',
      ].join('')
    // 127.0.0.2 is another site: the SameSite=Strict cookie stays home. 127.0.0.1 on another port
    // is the same site: the cookie goes along, and only the CSRF proof and the Origin check refuse.
    const crossSite = await startAttackerSite('127.0.0.2', attackerPage('cross-site'))
    const sameSite = await startAttackerSite('127.0.0.1', attackerPage('same-site'))
    // The refused requests, the failed preflight and the favicon a JSON answer has not are reported
    // by Chromium as console errors.
    problems.expectFailedLoad(401, new URL(target).pathname)
    problems.expectFailedLoad(403, new URL(target).pathname)
    problems.expectFailedLoad(404, '/favicon.ico')
    problems.expect(/CORS policy|net::ERR_FAILED/)
    const statuses: Record<string, number> = {}
    try {
      for (const [label, site] of [
        ['cross-site', crossSite],
        ['same-site', sameSite],
      ] as const) {
        for (const form of ['plain', 'urlencoded']) {
          const attacker = await context.newPage()
          await attacker.goto(site.url)
          const [answer] = await Promise.all([
            attacker.waitForResponse((r) => r.url() === target),
            attacker.waitForURL(target),
            attacker.evaluate((id) => (document.getElementById(id) as HTMLFormElement).submit(), form),
          ])
          statuses[`${label} form ${form}`] = answer.status()
          await attacker.close()
        }
        const attacker = await context.newPage()
        await attacker.goto(site.url)
        statuses[`${label} fetch`] = await attacker.evaluate(
          async ({ url, name, csrf }) => {
            // A no-cors "simple" request goes out with the ambient cookie; its answer is opaque.
            await fetch(url, {
              method: 'POST',
              mode: 'no-cors',
              credentials: 'include',
              headers: { 'content-type': 'text/plain' },
              body: JSON.stringify({ name: `${name}-no-cors` }),
            }).catch(() => undefined)
            // A JSON request with a (guessed) CSRF header needs a CORS preflight, which must fail.
            return fetch(url, {
              method: 'POST',
              credentials: 'include',
              headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
              body: JSON.stringify({ name: `${name}-cors` }),
            }).then(
              (r) => r.status,
              () => 0,
            )
          },
          { url: target, name: `csrf-${label}`, csrf: 'guessed-token' },
        )
        await screenshot(attacker, TEST, `csrf-${label}`)
        await attacker.close()
      }
    } finally {
      await crossSite.close()
      await sameSite.close()
    }

    // No cookie crossed sites; same-site, the cookie went but there was no CSRF proof.
    expect(statuses['cross-site form plain']).toBe(401)
    expect(statuses['cross-site form urlencoded']).toBe(401)
    expect(statuses['same-site form plain']).toBe(403)
    expect(statuses['same-site form urlencoded']).toBe(403)
    expect(statuses['cross-site fetch']).toBe(0)
    expect(statuses['same-site fetch']).toBe(0)

    // From the console's own origin: a call without the CSRF header, or with a wrong one, is refused.
    const sameOrigin = await page.evaluate(async (url) => {
      const attempt = (headers: Record<string, string>) =>
        fetch(url, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ name: 'csrf-same-origin' }),
        }).then((r) => r.status)
      return { missing: await attempt({}), wrong: await attempt({ 'x-csrf-token': 'x'.repeat(43) }) }
    }, target)
    expect(sameOrigin).toEqual({ missing: 403, wrong: 403 })

    // With the real cookie and the real CSRF token, a foreign Origin is still refused.
    const cookie = await sessionCookie(context)
    expect(cookie?.name).toBe(SESSION_COOKIE)
    const stolen = { cookie: `${cookie?.name}=${cookie?.value}`, csrfToken: session.csrfToken }
    const foreign = await withSession(
      server.url,
      'POST',
      new URL(target).pathname,
      {
        ...stolen,
        origin: 'http://127.0.0.2:1',
      },
      { name: 'csrf-foreign-origin' },
    )
    expect(foreign.status).toBe(403)
    // The CSRF token is asked on every method, a read too.
    const bareRead = await withSession(server.url, 'GET', new URL(target).pathname, { cookie: stolen.cookie })
    expect(bareRead.status).toBe(403)
    expect(bareRead.body).toMatchObject({ Code: 'CsrfRejected', field: 'X-CSRF-Token' })

    const names = await applicationNames()
    expect(names.filter((n) => n.startsWith('csrf-'))).toEqual([])
    const created = await api.ok<{ entities: unknown[] }>(
      'GET',
      `/admin/v1/instances/${instanceId}/audit/events?action=application.create&maxResults=1000`,
    )
    expect(JSON.stringify(created.entities)).not.toMatch(/csrf-/)
  })

  it('keeps the session in an HttpOnly, SameSite=Strict, Path=/ browser-session cookie, out of reach of scripts', async () => {
    const { context, page } = await open()
    const { session, setCookie, receivedAt } = await signIn(page, server.url, adminToken)
    const cookies = setCookie.map(parseSetCookie).filter((c) => c.name === SESSION_COOKIE)
    expect(cookies).toHaveLength(1)
    const set = cookies[0]!
    expect(set.attributes.has('httponly')).toBe(true)
    expect(set.attributes.get('samesite')?.toLowerCase()).toBe('strict')
    expect(set.attributes.get('path')).toBe('/')
    expect(set.attributes.has('domain')).toBe(false)
    // Gone when the browser closes: no Max-Age or Expires keeps it on disk for the session's 8 hours.
    expect(set.attributes.has('max-age')).toBe(false)
    expect(set.attributes.has('expires')).toBe(false)
    // The server ends the session by itself: 8 hours after sign-in at most, 30 minutes unused.
    expect(session.expiresAt).toBeLessThanOrEqual(receivedAt + 8 * 3600_000 + 5_000)
    expect(session.idleExpiresAt).toBeLessThanOrEqual(session.expiresAt)

    const kept = await sessionCookie(context)
    expect(kept).toMatchObject({ name: SESSION_COOKIE, httpOnly: true, sameSite: 'Strict', path: '/' })
    // Playwright's -1: a session cookie.
    expect(kept?.expires).toBe(-1)
    expect(kept?.value.length).toBeGreaterThanOrEqual(32)

    const fromScript = await page.evaluate(() => document.cookie)
    expect(fromScript).not.toContain(SESSION_COOKIE)
    expect(fromScript).not.toContain(kept?.value)
    // Neither the admin token nor the session's secrets are anywhere a script or a screenshot sees.
    expect(await placesHolding(page, adminToken)).toEqual([])
    expect(await placesHolding(page, kept?.value ?? '')).toEqual([])
    expect(await placesHolding(page, session.csrfToken)).toEqual([])
    expect(await page.title()).not.toContain(adminToken)
  })

  it('over TLS names the cookie __Host-strongroom_session and marks it Secure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-console-tls-'))
    const { cert, key } = selfSignedCertificate(dir)
    const tls = await startServer({ args: ['--tls-cert', cert, '--tls-key', key] })
    try {
      expect(tls.url).toMatch(/^https:\/\//)
      const { context, page } = await open({ ignoreHTTPSErrors: true })
      const { setCookie } = await signIn(page, tls.url, await tls.adminToken())
      const cookies = setCookie.map(parseSetCookie).filter((c) => c.name.endsWith(SESSION_COOKIE))
      expect(cookies.map((c) => c.name)).toEqual([SECURE_SESSION_COOKIE])
      const set = cookies[0]!
      expect(set.attributes.has('secure')).toBe(true)
      expect(set.attributes.has('httponly')).toBe(true)
      expect(set.attributes.get('samesite')?.toLowerCase()).toBe('strict')
      expect(set.attributes.get('path')).toBe('/')
      expect(set.attributes.has('domain')).toBe(false)
      expect(await sessionCookie(context)).toMatchObject({
        name: SECURE_SESSION_COOKIE,
        secure: true,
        httpOnly: true,
        sameSite: 'Strict',
      })
      expect(await page.evaluate(() => document.cookie)).not.toContain(SESSION_COOKIE)
      await screenshot(page, TEST, 'signed-in-over-tls')
      // Closed before the server stops, or its graceful stop waits on Chromium's idle connections.
      await context.close()
    } finally {
      await tls.stop()
    }
  })

  it('removes a revealed secret from the page on Hide and when its 30 seconds are up', async () => {
    // A canary value nobody would type: found anywhere in the page, it can only be the secret.
    const canary = `sk_canary_${randomBytes(12).toString('hex')}`
    const credential = await api.ok<{ credentialId: string }>(
      'POST',
      `/admin/v1/instances/${instanceId}/credentials`,
      {
        credentialIdentifier: 'security/reveal-canary',
        credentialType: 'api_key',
        value: { apiKey: canary },
      },
    )
    const { page } = await open()
    // The page's clock is Playwright's: the 30 seconds pass when the test says so.
    await page.clock.install()
    await signIn(page, server.url, adminToken)
    await page.getByRole('link', { name: 'Credentials', exact: true }).click()
    await page.getByRole('link', { name: 'security/reveal-canary' }).click()
    await page.getByRole('heading', { name: 'security/reveal-canary' }).waitFor()
    expect(page.url()).toContain(credential.credentialId)
    // Hidden until asked.
    expect(await placesHolding(page, canary)).toEqual([])

    const reveal = async (reason: string): Promise<void> => {
      await page.getByLabel('Reason').fill(reason)
      await page.getByRole('button', { name: 'Reveal', exact: true }).click()
      await page.getByText(canary).waitFor()
    }
    await reveal('security test: hide')
    // The check below can see the value when it is there.
    expect(await placesHolding(page, canary)).toContain('page.content()')
    await page.getByRole('button', { name: 'Hide' }).click()
    await page.getByText(canary).waitFor({ state: 'detached' })
    expect(await placesHolding(page, canary)).toEqual([])

    await reveal('security test: timeout')
    await page.clock.runFor(29_000)
    expect(await placesHolding(page, canary)).toContain('page.content()')
    await page.clock.runFor(2_000)
    await page.getByText(canary).waitFor({ state: 'detached' })
    expect(await placesHolding(page, canary)).toEqual([])
    // Nor did the reason field keep anything, and the URL holds ids only.
    expect(page.url()).not.toContain(canary)
  })

  it('ends the session on the server at sign-out: the old cookie and CSRF token then get 401', async () => {
    const { context, page } = await open()
    const { session } = await signIn(page, server.url, adminToken)
    const cookie = await sessionCookie(context)
    expect(cookie).toBeDefined()
    const stolen = { cookie: `${cookie?.name}=${cookie?.value}`, csrfToken: session.csrfToken }
    const instances = '/admin/v1/instances'

    // While signed in, the pair works from outside the browser: the 401 below is the sign-out's doing.
    expect((await withSession(server.url, 'GET', instances, stolen)).status).toBe(200)
    expect((await withSession(server.url, 'GET', '/console/session', stolen)).status).toBe(200)

    await signOut(page)
    expect(await sessionCookie(context)).toBeUndefined()

    expect((await withSession(server.url, 'GET', instances, stolen)).status).toBe(401)
    expect((await withSession(server.url, 'GET', '/console/session', stolen)).status).toBe(401)
    const create = await withSession(
      server.url,
      'POST',
      `/admin/v1/instances/${instanceId}/applications`,
      stolen,
      { name: 'after-sign-out' },
    )
    expect(create.status).toBe(401)
    expect(await applicationNames()).not.toContain('after-sign-out')
    // And the page is back at the sign-in form, with nothing of the session left in it.
    expect(await placesHolding(page, session.csrfToken)).toEqual([])
  })

  it('says signed out only when it is: a sign-out that does not get through leaves the session and says so', async () => {
    const { context, page, problems } = await open()
    await signIn(page, server.url, adminToken)
    // The request never reaches the server (a dropped connection).
    problems.expect(/net::ERR_FAILED|Failed to load resource/, /\/console\/session$/)
    await page.route('**/console/session', (route) =>
      route.request().method() === 'DELETE' ? route.abort('failed') : route.continue(),
    )
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByText(/^Sign-out failed: .* The session is still active; try again\.$/).waitFor()
    expect(await page.getByText('You are signed out.').count()).toBe(0)
    expect(await page.getByLabel('Admin token').count()).toBe(0)
    expect(await sessionCookie(context)).toBeDefined()
    // Let it through: now it is over.
    await page.unroute('**/console/session')
    await signOut(page)
    expect(await sessionCookie(context)).toBeUndefined()
    await page.getByText('You are signed out.').waitFor()
  })

  it('clears a copied secret from the clipboard on Hide, and on sign-out', async () => {
    const canary = `sk_clip_${randomBytes(12).toString('hex')}`
    await api.ok('POST', `/admin/v1/instances/${instanceId}/credentials`, {
      credentialIdentifier: 'security/clipboard-canary',
      credentialType: 'api_key',
      value: { apiKey: canary },
    })
    const { context, page } = await open()
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
    await signIn(page, server.url, adminToken)
    await page.getByRole('link', { name: 'Credentials', exact: true }).click()
    await page.getByRole('link', { name: 'security/clipboard-canary' }).click()
    const clipboard = () => page.evaluate(() => navigator.clipboard.readText())
    const revealAndCopy = async (reason: string) => {
      await page.getByLabel('Reason').fill(reason)
      await page.getByRole('button', { name: 'Reveal', exact: true }).click()
      await page.getByText(canary).waitFor()
      await page.getByRole('button', { name: 'Copy' }).click()
      await page.getByRole('button', { name: 'Copied' }).waitFor()
      expect(await clipboard()).toBe(canary)
    }
    await revealAndCopy('security test: clipboard hide')
    await page.getByRole('button', { name: 'Hide' }).click()
    await page.getByText(canary).waitFor({ state: 'detached' })
    expect(await clipboard()).toBe('')

    await revealAndCopy('security test: clipboard sign-out')
    await signOut(page)
    expect(await clipboard()).toBe('')
  })

  it('keeps every row’s actions on screen when a name is one long unbroken word', async () => {
    await api.ok('POST', '/admin/v1/admin-tokens', { name: 'B'.repeat(128) })
    const { page } = await open()
    await signIn(page, server.url, adminToken)
    await page.getByRole('link', { name: 'Admin tokens', exact: true }).click()
    const table = page.locator('.table-wrap').first()
    await table.locator('td', { hasText: 'B'.repeat(40) }).waitFor()
    const { wrap, inner } = await table.evaluate((el) => ({
      wrap: el.getBoundingClientRect().width,
      inner: el.scrollWidth,
    }))
    // The table fits its frame: no Revoke button hides behind a horizontal scroll.
    expect(inner).toBeLessThanOrEqual(Math.ceil(wrap))
  })
})
