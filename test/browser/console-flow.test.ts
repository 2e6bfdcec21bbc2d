// The administrator's path of issue 18, end to end in a real Chromium against a real server: sign
// in, create an application and a credential, grant it, reveal with a reason and find the event on
// the audit page, revoke a provider-minted token and an admin token, rotate the signing key, sign
// out, and a signed-out session that no longer works. Every page on the way is photographed at
// 1280 px, the sign-in page and a list page at 390 px (.test-results/screenshots/console-flow-*).
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createPamClient } from '@strongroom/sdk'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { AdminApi, withSession } from './support/admin-api.js'
import { launchChromium, newWatchedContext, screenshot } from './support/browser.js'
import { openConsole, sessionCookie, signIn, signOut } from './support/console-session.js'
import { placesHolding } from './support/dom-scan.js'
import { cumulativeLayoutShift, horizontalOverflow } from './support/layout.js'

const TEST = 'console-flow'

/** Clicks the navigation's link to a page and waits for its heading and its lists to load. */
async function goTo(page: Page, link: string, heading = link): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link, exact: true }).click()
  await settled(page, heading)
}

/** Waits for the page's heading, then for every "Loading…" placeholder to be gone. */
async function settled(page: Page, heading: string): Promise<void> {
  await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor()
  await page.waitForFunction(() => document.querySelector('.loading') === null)
}

/** Presses the confirming button of the open confirmation dialog, after photographing it. */
async function confirm(page: Page, label: string, shot: string): Promise<void> {
  const dialog = page.getByRole('dialog')
  await dialog.waitFor()
  await screenshot(page, TEST, shot, { viewportOnly: true })
  await dialog.getByRole('button', { name: label, exact: true }).click()
  await dialog.waitFor({ state: 'detached' })
}

describe('the console in Chromium: the administrator’s path', () => {
  let browser: Browser
  let server: ServerProcess
  let api: AdminApi
  let instanceId: string

  beforeAll(async () => {
    ;[browser, server] = await Promise.all([launchChromium(), startServer()])
    api = new AdminApi(server)
    instanceId = await api.defaultInstanceId()
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  it('signs in, creates, grants, reveals, audits, revokes, rotates and signs out', {
    timeout: 120_000,
  }, async () => {
    const adminToken = await server.adminToken()
    const canary = `sk_live_${randomBytes(12).toString('hex')}`
    // A token minted by a credential provider, to revoke from the provider's page: the demo
    // workload asks the demo JWT provider for one, as a workload would.
    await using pam = await createPamClient({
      configPath: join(server.dataDir, 'client-config.json'),
      env: { IDAAS_CLIENT_SECRET: (await readFile(join(server.dataDir, 'client-secret'), 'utf8')).trim() },
    })
    const minted = await pam.generateJwtAuthenticationToken({
      credentialProviderIdentifier: 'demo-jwt',
      subject: 'console-flow',
      audiences: ['https://api.example.com'],
      expiration: 600,
    })

    const { context, problems } = await newWatchedContext(browser)
    // A fresh page starts signed out: the console asks for its session and is told 401, by design.
    problems.expectFailedLoad(401, '/console/session')
    const page = await context.newPage()

    // Sign in, with the keyboard only.
    await openConsole(page, server.url)
    await page.getByLabel('Admin token').waitFor()
    expect(await cumulativeLayoutShift(page)).toBeLessThan(0.1)
    await screenshot(page, TEST, 'sign-in-1280')
    const { session } = await signIn(page, server.url, adminToken, { keyboard: true })
    await settled(page, 'Credentials')
    expect(await placesHolding(page, adminToken)).toEqual([])
    expect(await cumulativeLayoutShift(page)).toBeLessThan(0.1)

    // Instances.
    await goTo(page, 'Instances')
    await page.getByRole('cell', { name: instanceId }).waitFor()
    await screenshot(page, TEST, 'instances-1280')

    // An application, and its client secret, shown once.
    await goTo(page, 'Applications')
    await screenshot(page, TEST, 'applications-1280')
    await page.getByLabel('Name', { exact: true }).fill('billing-worker')
    await page.getByRole('button', { name: 'Create application' }).click()
    await settled(page, 'billing-worker')
    const applicationId = /\/applications\/(app_[^/]+)$/.exec(page.url())?.[1]
    expect(applicationId).toBeDefined()
    await page.getByRole('button', { name: 'Create client secret' }).click()
    const shownSecret = page.locator('.one-time .secret-value')
    await shownSecret.waitFor()
    const clientSecret = (await shownSecret.textContent()) ?? ''
    expect(clientSecret).toMatch(/^srcs_/)
    await page.getByRole('button', { name: 'Copy' }).waitFor()
    await screenshot(page, TEST, 'application-1280')
    await page.getByRole('button', { name: 'Done' }).click()
    expect(await placesHolding(page, clientSecret)).toEqual([])
    // Never shown again: not after a reload of the application's page either.
    await page.reload()
    await settled(page, 'billing-worker')
    expect(await placesHolding(page, clientSecret)).toEqual([])

    // A credential.
    await goTo(page, 'Credentials')
    await screenshot(page, TEST, 'credentials-1280')
    await page.getByLabel('Identifier', { exact: true }).fill('billing/stripe')
    await page.getByLabel('Name', { exact: true }).fill('Stripe live key')
    await page.getByLabel('API key', { exact: true }).fill(canary)
    await page.getByRole('button', { name: 'Create credential' }).click()
    await settled(page, 'billing/stripe')
    await page.getByText('No application can obtain this credential.').waitFor()
    expect(await placesHolding(page, canary)).toEqual([])

    // A grant: billing-worker may obtain billing/stripe.
    await goTo(page, 'Grants')
    await page.getByLabel('Application', { exact: true }).selectOption(applicationId!)
    await page.getByLabel('Resource type', { exact: true }).selectOption('credential')
    await page.getByLabel('Match', { exact: true }).selectOption('exact')
    await page.getByLabel('Resource', { exact: true }).fill('billing/stripe')
    await page.getByRole('button', { name: 'Create grant' }).click()
    await page.getByText('Grant created.').waitFor()
    await page
      .getByRole('row')
      .filter({ hasText: 'billing-worker' })
      .filter({ hasText: 'billing/stripe' })
      .waitFor()
    await screenshot(page, TEST, 'grants-1280')
    const grants = await api.ok<{
      entities: { applicationId: string; resource: string; actions: string[] }[]
    }>('GET', `/admin/v1/instances/${instanceId}/grants?applicationId=${applicationId}`)
    expect(grants.entities).toEqual([
      expect.objectContaining({ applicationId, resource: 'billing/stripe', actions: ['obtain'] }),
    ])

    // Who can read it, and a reveal with a reason.
    await goTo(page, 'Credentials')
    await page.getByRole('link', { name: 'billing/stripe' }).click()
    await settled(page, 'billing/stripe')
    await page
      .getByRole('table', { name: 'Applications that can read it' })
      .getByRole('link', { name: 'billing-worker' })
      .waitFor()
    await screenshot(page, TEST, 'credential-1280')
    await page.getByLabel('Reason').fill('incident 4711: rotate the webhook')
    await page.getByRole('button', { name: 'Reveal', exact: true }).click()
    await page.getByText(canary).waitFor()
    await screenshot(page, TEST, 'credential-revealed-1280')
    await page.getByRole('button', { name: 'Hide' }).click()
    expect(await placesHolding(page, canary)).toEqual([])

    // The reveal on the audit page, with its reason, on a verified chain.
    await goTo(page, 'Audit')
    await page.getByText('Chain verified.').waitFor()
    const revealRow = page
      .getByRole('row')
      .filter({ hasText: 'credential.reveal' })
      .filter({ hasText: 'incident 4711: rotate the webhook' })
    await revealRow.waitFor()
    await page.getByLabel('Action', { exact: true }).fill('credential.reveal')
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await page.waitForFunction(() =>
      [...document.querySelectorAll('table tbody tr')].every((row) =>
        row.textContent?.includes('credential.reveal'),
      ),
    )
    expect(await revealRow.count()).toBe(1)
    expect(await placesHolding(page, canary)).toEqual([])
    await screenshot(page, TEST, 'audit-1280')

    // A provider-minted token, revoked from its provider's page.
    await goTo(page, 'Credential providers')
    await screenshot(page, TEST, 'providers-1280')
    await page.getByRole('link', { name: 'demo-jwt' }).click()
    await settled(page, 'demo-jwt')
    await page.getByRole('button', { name: `Revoke token ${minted.authenticationTokenId}` }).click()
    await confirm(page, 'Revoke', 'provider-revoke-dialog-1280')
    await page.getByText('1 token revoked.').waitFor()
    await page.getByRole('button', { name: `Reinstate token ${minted.authenticationTokenId}` }).waitFor()
    await screenshot(page, TEST, 'provider-1280')
    const tokens = await api.ok<{ entities: { authenticationTokenId: string; revoked: boolean }[] }>(
      'GET',
      `/admin/v1/instances/${instanceId}/credential-providers/${minted.credentialProviderId}/tokens`,
    )
    expect(
      tokens.entities.find((t) => t.authenticationTokenId === minted.authenticationTokenId)?.revoked,
    ).toBe(true)

    // An admin token: made, shown once, revoked; the server refuses it from then on.
    await goTo(page, 'Admin tokens')
    await page.getByLabel('Name', { exact: true }).fill('flow-temporary')
    await page.getByRole('button', { name: 'Create admin token' }).click()
    const shownToken = page.locator('.one-time .secret-value')
    await shownToken.waitFor()
    const temporaryToken = (await shownToken.textContent()) ?? ''
    expect(temporaryToken.length).toBeGreaterThan(20)
    const whoami = (token: string) =>
      fetch(`${server.url}/admin/v1/whoami`, { headers: { authorization: `Bearer ${token}` } }).then(
        (r) => r.status,
      )
    expect(await whoami(temporaryToken)).toBe(200)
    await page.getByRole('button', { name: 'Done' }).click()
    const revokeTemporary = page.getByRole('button', { name: 'Revoke admin token flow-temporary' })
    // The confirmation guards: Escape (focus starts on Cancel) closes it and nothing is revoked.
    await revokeTemporary.click()
    await page.getByRole('dialog').waitFor()
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel')
    await page.keyboard.press('Escape')
    await page.getByRole('dialog').waitFor({ state: 'detached' })
    expect(await whoami(temporaryToken)).toBe(200)
    await revokeTemporary.click()
    await confirm(page, 'Revoke', 'admin-token-revoke-dialog-1280')
    await page.getByRole('row').filter({ hasText: 'flow-temporary' }).filter({ hasText: 'revoked' }).waitFor()
    expect(await whoami(temporaryToken)).toBe(401)
    expect(await placesHolding(page, temporaryToken)).toEqual([])
    await screenshot(page, TEST, 'admin-tokens-1280')

    // Accounts, cloud accounts.
    await goTo(page, 'Accounts')
    await screenshot(page, TEST, 'accounts-1280')
    await page.getByRole('link', { name: 'demo-db/admin' }).click()
    await settled(page, 'demo-db/admin')
    await screenshot(page, TEST, 'account-1280')
    // A cloud account and a role, made through the admin API, on their pages; its key's secret never.
    const cloudSecret = `aws_canary_${randomBytes(12).toString('hex')}`
    const cloudAccount = await api.ok<{ cloudAccountId: string }>(
      'POST',
      `/admin/v1/instances/${instanceId}/cloudAccounts`,
      {
        name: 'prod-aws',
        vendorType: 'aws',
        vendorAccountId: '123456789012',
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        accessKeySecret: cloudSecret,
      },
    )
    await api.ok(
      'POST',
      `/admin/v1/instances/${instanceId}/cloudAccounts/${cloudAccount.cloudAccountId}/roles`,
      {
        roleExternalId: 'arn:aws:iam::123456789012:role/deploy',
      },
    )
    await goTo(page, 'Cloud accounts')
    await screenshot(page, TEST, 'cloud-accounts-1280')
    await page.getByRole('link', { name: 'prod-aws' }).click()
    await settled(page, 'prod-aws')
    await page.getByRole('cell', { name: 'arn:aws:iam::123456789012:role/deploy' }).waitFor()
    expect(await placesHolding(page, cloudSecret)).toEqual([])
    await screenshot(page, TEST, 'cloud-account-1280')

    // Signing keys, rotated.
    await goTo(page, 'Signing keys')
    const keysBefore = await page.getByRole('row').count()
    await page.getByRole('button', { name: 'Rotate', exact: true }).click()
    await confirm(page, 'Rotate', 'signing-keys-rotate-dialog-1280')
    await page.getByText('Rotated.').waitFor()
    await page.waitForFunction((before) => document.querySelectorAll('tr').length > before, keysBefore)
    await screenshot(page, TEST, 'signing-keys-1280')

    // A narrow screen: the list still fits.
    await page.setViewportSize({ width: 390, height: 844 })
    const navLink = page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Credentials', exact: true })
    // On a narrow screen the navigation may sit behind the menu button.
    if (!(await navLink.isVisible())) await page.getByRole('button', { name: 'Menu' }).click()
    await goTo(page, 'Credentials')
    expect(await horizontalOverflow(page)).toBe(0)
    await screenshot(page, TEST, 'credentials-390')

    // Sign out; the session ends on the server, and its cookie and CSRF token no longer work.
    const cookie = await sessionCookie(context)
    const stolen = { cookie: `${cookie?.name}=${cookie?.value}`, csrfToken: session.csrfToken }
    expect((await withSession(server.url, 'GET', '/admin/v1/whoami', stolen)).status).toBe(200)
    await signOut(page)
    expect(await sessionCookie(context)).toBeUndefined()
    expect((await withSession(server.url, 'GET', '/admin/v1/whoami', stolen)).status).toBe(401)
    expect(
      (await withSession(server.url, 'GET', `/admin/v1/instances/${instanceId}/credentials`, stolen)).status,
    ).toBe(401)
    expect(await horizontalOverflow(page)).toBe(0)
    await screenshot(page, TEST, 'sign-in-390')

    await context.close()
    problems.assertClean()

    // No secret of the session went to the server's log or into an audit event. (The log does
    // record the console's requests: the scan below reads something.)
    expect(server.logs()).toContain('/console/session')
    const secrets = {
      adminToken,
      canary,
      clientSecret,
      temporaryToken,
      cloudSecret,
      cookie: cookie?.value ?? '',
    }
    const audit = JSON.stringify([
      await api.ok('GET', `/admin/v1/instances/${instanceId}/audit/events?maxResults=1000`),
      await api.ok('GET', '/admin/v1/instances/system/audit/events?maxResults=1000'),
    ])
    for (const [name, secret] of Object.entries({ ...secrets, csrfToken: session.csrfToken })) {
      expect(secret.length, name).toBeGreaterThan(10)
      expect(server.logs().includes(secret), `${name} in the server's log`).toBe(false)
      expect(audit.includes(secret), `${name} in an audit event`).toBe(false)
    }
  })
})
