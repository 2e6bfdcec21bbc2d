// The console's pages in a real Chromium against a real server, beyond the main flow and the
// security tests of test/browser: every page renders at desktop and phone widths without a page
// error, errors name their field, destructive actions ask first, a client secret is shown once,
// the audit tail picks up new events, and cloud accounts and accounts work end to end.
import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AdminApi } from '../../../test/browser/support/admin-api.js'
import {
  launchChromium,
  newWatchedContext,
  screenshot,
  type WatchedContext,
} from '../../../test/browser/support/browser.js'
import { signIn } from '../../../test/browser/support/console-session.js'
import { type ServerProcess, startServer } from '../../../test/support/server-process.js'

const TEST = 'console-pages'

const PAGES: ReadonlyArray<readonly [link: string, heading: string]> = [
  ['Credentials', 'Credentials'],
  ['Accounts', 'Accounts'],
  ['Applications', 'Applications'],
  ['Grants', 'Grants'],
  ['Credential providers', 'Credential providers'],
  ['Cloud accounts', 'Cloud accounts'],
  ['Signing keys', 'Signing keys'],
  ['Audit', 'Audit'],
  ['Instances', 'Instances'],
  ['Admin tokens', 'Admin tokens'],
]

describe('the console in Chromium: pages', () => {
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

  async function signedIn(width = 1280): Promise<Page> {
    watched = await newWatchedContext(browser, { viewport: { width, height: 800 } })
    // The signed-out page asks whether a session exists: 401 is its answer.
    watched.problems.expectFailedLoad(401, '/console/session')
    const page = await watched.context.newPage()
    await signIn(page, server.url, adminToken)
    return page
  }

  async function go(page: Page, link: string, heading: string): Promise<void> {
    const nav = page.getByRole('navigation', { name: 'Main' })
    const target = nav.getByRole('link', { name: link, exact: true })
    if (!(await target.isVisible())) await page.getByRole('button', { name: 'Menu' }).click()
    await target.click()
    await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor()
    await page.locator('.loading').first().waitFor({ state: 'detached' })
  }

  for (const width of [1280, 400]) {
    it(`renders every page at ${width} px with its navigation, title and no page error`, {
      timeout: 120_000,
    }, async () => {
      const page = await signedIn(width)
      const nav = page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Audit', exact: true })
      // On a narrow screen the navigation waits behind "Menu"; on a wide one it is always there.
      expect(await nav.isVisible()).toBe(width > 760)
      for (const [link, heading] of PAGES) {
        await go(page, link, heading)
        expect(await page.title()).toBe(`${heading} · strongroom console`)
        // By id: a role query skips the collapsed (hidden) navigation of a narrow screen.
        const current = page.locator('#nav a[aria-current="page"]')
        expect(await current.textContent()).toBe(link)
        // Nothing wider than the screen but tables, which scroll inside their own box.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
        expect(overflow).toBeLessThanOrEqual(0)
        await screenshot(page, TEST, `${heading}-${width}`)
      }
    })
  }

  it('names the field and the rule when the server refuses a value, and clears it on success', async () => {
    const page = await signedIn()
    await go(page, 'Credentials', 'Credentials')
    const identifier = page.getByLabel('Identifier', { exact: true })
    await identifier.fill('team/../escape')
    await page.getByLabel('API key', { exact: true }).fill('k-123')
    watched!.problems.expectFailedLoad(400, `/admin/v1/instances/${instanceId}/credentials`)
    await page.getByRole('button', { name: 'Create credential' }).click()
    await expect.poll(() => identifier.getAttribute('aria-invalid')).toBe('true')
    const describedBy = (await identifier.getAttribute('aria-describedby')) ?? ''
    const message = await page.locator(`[id="${describedBy.split(' ').pop()}"]`).textContent()
    expect(message).toMatch(/credentialIdentifier/)
    expect(message).toMatch(/slashes/)
    await screenshot(page, TEST, 'field-error')

    // A field the page checks itself: the reason of a reveal.
    await identifier.fill('team/ok')
    await page.getByRole('button', { name: 'Create credential' }).click()
    await page.getByRole('heading', { level: 1, name: 'team/ok' }).waitFor()
    await page.getByRole('button', { name: 'Reveal', exact: true }).click()
    await page.getByText('Reason is required').first().waitFor()
    expect(await page.locator('[data-secret]').count()).toBe(0)
  })

  it('asks before a destructive action and does nothing when cancelled', async () => {
    const app = await api.ok<{ applicationId: string }>(
      'POST',
      `/admin/v1/instances/${instanceId}/applications`,
      {
        name: 'cancel-me',
      },
    )
    const page = await signedIn()
    await page.goto(`${server.url}/console/i/${instanceId}/applications/${app.applicationId}`)
    await page.getByRole('heading', { level: 1, name: 'cancel-me' }).waitFor()
    await page.getByRole('button', { name: 'Disable', exact: true }).click()
    const dialog = page.getByRole('dialog', { name: 'Disable cancel-me?' })
    await dialog.waitFor()
    await screenshot(page, TEST, 'confirm-dialog')
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'detached' })
    const after = await api.ok<{ status: string }>(
      'GET',
      `/admin/v1/instances/${instanceId}/applications/${app.applicationId}`,
    )
    expect(after.status).toBe('enabled')

    // Escape cancels too; confirming disables.
    await page.getByRole('button', { name: 'Disable', exact: true }).click()
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
    await page.getByRole('button', { name: 'Disable', exact: true }).click()
    await dialog.getByRole('button', { name: 'Disable', exact: true }).click()
    await page.getByRole('button', { name: 'Enable', exact: true }).waitFor()
    const disabled = await api.ok<{ status: string }>(
      'GET',
      `/admin/v1/instances/${instanceId}/applications/${app.applicationId}`,
    )
    expect(disabled.status).toBe('disabled')
  })

  it('shows a new client secret once: gone after Done and never shown again after a reload', async () => {
    const app = await api.ok<{ applicationId: string }>(
      'POST',
      `/admin/v1/instances/${instanceId}/applications`,
      {
        name: 'secret-once',
      },
    )
    const page = await signedIn()
    await page.goto(`${server.url}/console/i/${instanceId}/applications/${app.applicationId}`)
    await page.getByRole('button', { name: 'Create client secret' }).click()
    const shown = page.getByRole('region', { name: 'New client secret' })
    const secret = (await shown.locator('[data-secret]').textContent()) ?? ''
    expect(secret.length).toBeGreaterThan(20)
    const hint = (
      await api.ok<{ entities: { hint: string }[] }>(
        'GET',
        `/admin/v1/instances/${instanceId}/applications/${app.applicationId}/client-secrets`,
      )
    ).entities[0]!.hint
    expect(secret.endsWith(hint.replace(/^…/, ''))).toBe(true)
    await shown.getByRole('button', { name: 'Done' }).click()
    expect(await page.evaluate((s) => document.documentElement.outerHTML.includes(s), secret)).toBe(false)
    await page.reload()
    await page.getByRole('table', { name: 'Client secrets' }).waitFor()
    expect(await page.evaluate((s) => document.documentElement.outerHTML.includes(s), secret)).toBe(false)
  })

  it('tails the audit log: an event made elsewhere appears within a few seconds while Live is on', async () => {
    const page = await signedIn()
    await go(page, 'Audit', 'Audit')
    await page.getByText('Chain verified.').waitFor()
    const live = page.getByRole('button', { name: 'Live' })
    await live.click()
    expect(await live.getAttribute('aria-pressed')).toBe('true')
    await api.ok('POST', `/admin/v1/instances/${instanceId}/credentials`, {
      credentialIdentifier: 'tail/seen',
      credentialType: 'api_key',
      value: { apiKey: 'v' },
    })
    const row = page
      .getByRole('table', { name: 'Audit events' })
      .getByRole('row')
      .filter({ hasText: 'credential.create' })
    await expect.poll(() => row.count(), { timeout: 8000 }).toBeGreaterThan(0)
    // Each event once: the tail starts after the newest event the page already shows.
    const seqs = await page
      .getByRole('table', { name: 'Audit events' })
      .locator('tbody tr td:first-child')
      .allTextContents()
    expect(new Set(seqs).size).toBe(seqs.length)
    await live.click()
    expect(await live.getAttribute('aria-pressed')).toBe('false')
  })

  it('creates a cloud account, adds a role, and removes it after confirmation', async () => {
    const page = await signedIn()
    await go(page, 'Cloud accounts', 'Cloud accounts')
    await page.getByLabel('Name', { exact: true }).fill('prod-aws')
    await page.getByLabel('Vendor', { exact: true }).selectOption('aws')
    await page.getByLabel('Vendor account ID').fill('123456789012')
    await page.getByLabel('Access key ID').fill('AKIAEXAMPLE12345')
    await page.getByLabel('Access key secret').fill('a-secret-of-the-cloud')
    await page.getByRole('button', { name: 'Create cloud account' }).click()
    await page.getByRole('heading', { level: 1, name: 'prod-aws' }).waitFor()
    expect(
      await page.evaluate(() => document.documentElement.outerHTML.includes('a-secret-of-the-cloud')),
    ).toBe(false)
    await page.getByLabel('Role ARN').fill('arn:aws:iam::123456789012:role/deployer')
    await page.getByRole('button', { name: 'Add role' }).click()
    await page
      .getByRole('table', { name: 'Roles' })
      .getByRole('cell', { name: 'deployer', exact: true })
      .waitFor()
    await screenshot(page, TEST, 'cloud-account')
    await page.getByRole('button', { name: 'Remove role deployer' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Remove', exact: true }).click()
    await page.getByText('No roles yet.').waitFor()
  })

  it('revokes a superseded signing key after confirmation, with a reason; never offers the active one', async () => {
    const keys = `/admin/v1/instances/${instanceId}/signing-keys`
    const old = await api.ok<{ kid: string }>('POST', `${keys}/rotate`, { activateAfterSeconds: 0 })
    await new Promise((resolve) => setTimeout(resolve, 5))
    const active = await api.ok<{ kid: string }>('POST', `${keys}/rotate`, { activateAfterSeconds: 0 })
    const page = await signedIn()
    await go(page, 'Signing keys', 'Signing keys')
    expect(await page.getByRole('button', { name: `Revoke signing key ${active.kid}` }).count()).toBe(0)
    await page.getByRole('button', { name: `Revoke signing key ${old.kid}` }).click()
    const dialog = page.getByRole('dialog', { name: `Revoke signing key ${old.kid}?` })
    await dialog.getByLabel('Reason').fill('INC-4711: leaked')
    await screenshot(page, TEST, 'signing-key-revoke-dialog')
    await dialog.getByRole('button', { name: 'Revoke', exact: true }).click()
    await page.getByRole('row').filter({ hasText: old.kid }).getByText('revoked').waitFor()
    await screenshot(page, TEST, 'signing-key-revoked')
    const listed = await api.ok<{
      entities: { kid: string; status: string; revokedReason: string | null }[]
    }>('GET', keys)
    expect(listed.entities.find((k) => k.kid === old.kid)).toMatchObject({
      status: 'revoked',
      revokedReason: 'INC-4711: leaked',
    })
  })

  it('creates an account with a password it never shows, and lists who can read it', async () => {
    const page = await signedIn()
    await go(page, 'Accounts', 'Accounts')
    await page.getByLabel('Account name').fill('DB-9/root')
    await page.getByLabel('Password', { exact: true }).fill('pw-never-shown')
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.getByRole('heading', { level: 1, name: 'DB-9/root' }).waitFor()
    await page.getByText('No application can obtain this account.').waitFor()
    expect(await page.evaluate(() => document.documentElement.outerHTML.includes('pw-never-shown'))).toBe(
      false,
    )
    await page
      .getByRole('table', { name: 'Versions' })
      .getByRole('cell', { name: '1', exact: true })
      .waitFor()
  })
})
