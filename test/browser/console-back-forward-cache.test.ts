// What Back brings back. Chromium keeps a page it leaves whole in its back/forward cache (DOM,
// memory, frozen timers) and shows it again on Back without asking the server; Playwright turns
// that cache off, so these tests turn it back on. The server answers the console's page with
// `Cache-Control: no-store`, which keeps today's Chromium from caching it after a sign-in; the
// tests rewrite that to `no-cache` (what the page was served with before) so the page is cached
// and the console's own defence is what is tested: on `pagehide` it drops every secret it shows,
// on a `pageshow` from the cache it asks the server for the session before showing anything.
import { randomBytes } from 'node:crypto'
import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { AdminApi, withSession } from './support/admin-api.js'
import { launchChromium, newWatchedContext, screenshot, type WatchedContext } from './support/browser.js'
import { sessionCookie, signIn } from './support/console-session.js'
import { placesHolding } from './support/dom-scan.js'

const TEST = 'console-back-forward-cache'

/** A property the test sets on the page's window: still there after Back, the page came from the cache. */
const MARK = '__strongroomTestKeptPage'

describe('the console in Chromium: Back after leaving', { timeout: 60_000 }, () => {
  let browser: Browser
  let server: ServerProcess
  let api: AdminApi
  let instanceId: string
  let adminToken: string
  let watched: WatchedContext | undefined

  beforeAll(async () => {
    ;[browser, server] = await Promise.all([launchChromium({ backForwardCache: true }), startServer()])
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

  /** A signed-in page whose console page may be cached (its `no-store` rewritten to `no-cache`). */
  async function signedIn(): Promise<WatchedContext & { page: Page }> {
    watched = await newWatchedContext(browser)
    watched.problems.expectFailedLoad(401, '/console/session')
    const page = await watched.context.newPage()
    await page.route('**/console/**', async (route) => {
      const response = await route.fetch()
      const headers = response.headers()
      if ((headers['content-type'] ?? '').startsWith('text/html')) headers['cache-control'] = 'no-cache'
      await route.fulfill({ response, headers })
    })
    await signIn(page, server.url, adminToken)
    return { ...watched, page }
  }

  async function revealCanary(page: Page, identifier: string): Promise<string> {
    const canary = `sk_bfcache_${randomBytes(12).toString('hex')}`
    await api.ok('POST', `/admin/v1/instances/${instanceId}/credentials`, {
      credentialIdentifier: identifier,
      credentialType: 'api_key',
      value: { apiKey: canary },
    })
    await page.getByRole('link', { name: 'Credentials', exact: true }).click()
    await page.getByRole('link', { name: identifier }).click()
    await page.getByRole('heading', { name: identifier }).waitFor()
    await page.getByLabel('Reason').fill('back/forward cache test')
    await page.getByRole('button', { name: 'Reveal', exact: true }).click()
    await page.getByText(canary).waitFor()
    return canary
  }

  /** Leaves the console for another page of the server, then presses Back. */
  async function leaveAndComeBack(page: Page, whileAway?: () => Promise<void>): Promise<void> {
    await page.evaluate((mark) => {
      ;(window as unknown as Record<string, unknown>)[mark] = true
    }, MARK)
    await page.goto(`${server.url}/healthz`)
    await whileAway?.()
    // A page restored from the cache fires no `load`: wait only for the navigation itself.
    await page.goBack({ waitUntil: 'commit' })
    // The restored page is the same window: the test's mark is on it (else the check is vacuous).
    expect(await page.evaluate((mark) => (window as unknown as Record<string, unknown>)[mark], MARK)).toBe(
      true,
    )
  }

  it('brings back neither a revealed value nor a one-time admin token; the page is shown again once the session is confirmed', async () => {
    const { page } = await signedIn()
    const canary = await revealCanary(page, 'bfcache/revealed')
    await leaveAndComeBack(page)
    await page.getByRole('heading', { name: 'bfcache/revealed' }).waitFor()
    await page.getByRole('button', { name: 'Sign out' }).waitFor()
    expect(await placesHolding(page, canary)).toEqual([])
    await screenshot(page, TEST, 'credential-after-back')

    // A secret shown once, with no timer of its own: a new admin token.
    await page.getByRole('link', { name: 'Admin tokens', exact: true }).click()
    await page.getByLabel('Name').fill('bfcache-one-time')
    await page.getByRole('button', { name: 'Create admin token' }).click()
    const shown = page.locator('.one-time [data-secret]')
    await shown.waitFor()
    const token = (await shown.textContent()) ?? ''
    expect(token).toMatch(/^srat_/)
    await leaveAndComeBack(page)
    await page.getByRole('heading', { level: 1, name: 'Admin tokens' }).waitFor()
    expect(await placesHolding(page, token)).toEqual([])
  })

  it('shows the sign-in page, and nothing of the old page, when the session ended while the page was away', async () => {
    const { context, page, problems } = await signedIn()
    const canary = await revealCanary(page, 'bfcache/signed-out')
    const cookie = await sessionCookie(context)
    const csrfToken = await page.evaluate(async () => {
      const answer = await fetch('/console/session', { credentials: 'same-origin' })
      return ((await answer.json()) as { csrfToken: string }).csrfToken
    })
    // The page asks again after Back: the server says 401 (the session ended), by design.
    problems.expectFailedLoad(401, '/console/session')
    await leaveAndComeBack(page, async () => {
      // Signed out elsewhere (another tab, or the session's 30 minutes were up).
      const ended = await withSession(server.url, 'DELETE', '/console/session', {
        cookie: `${cookie?.name}=${cookie?.value}`,
        csrfToken,
      })
      expect(ended.status).toBe(204)
    })
    await page.getByLabel('Admin token').waitFor()
    await page.getByText('Your session has ended. Sign in again.').waitFor()
    expect(await placesHolding(page, canary)).toEqual([])
    expect(await page.getByRole('heading', { name: 'bfcache/signed-out' }).count()).toBe(0)
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0)
    await screenshot(page, TEST, 'signed-out-after-back')
  })
})
