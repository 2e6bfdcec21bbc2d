// Text that anyone can plant, shown as it is to be read: a right-to-left override (U+202E) makes
// "4711 tnedicni" read as "incident 1174". An unauthenticated token request puts its client_id in
// the audit as the actor and its user agent in the event; a description or a reason stored before
// the server refused such characters is still in the database. The console shows each control or
// bidirectional character as its escape, marked, and never the character itself.
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { AdminApi } from './support/admin-api.js'
import { launchChromium, newWatchedContext, screenshot, type WatchedContext } from './support/browser.js'
import { signIn } from './support/console-session.js'

const TEST = 'console-visible-text'
const RLO = '\u202e'
/**
 * The characters the console must not let act on the page, in its rendered text (where tabs and
 * newlines are the browser's own, between cells and blocks: those planted are checked as marks).
 */
const HIDDEN =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/

/** The text a person sees in `page` (what the browser renders, not the DOM's markup). */
const renderedText = (page: Page): Promise<string> =>
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person sees
  page.evaluate(() => document.body.innerText)

describe('the console in Chromium: control and bidirectional characters', { timeout: 60_000 }, () => {
  let browser: Browser
  let server: ServerProcess
  let api: AdminApi
  let instanceId: string
  let watched: WatchedContext | undefined

  beforeAll(async () => {
    ;[browser, server] = await Promise.all([launchChromium(), startServer()])
    api = new AdminApi(server)
    instanceId = await api.defaultInstanceId()
  })
  afterAll(async () => {
    await watched?.context.close()
    await browser?.close()
    await server?.stop()
  })

  it('shows a planted client_id, user agent, reason and description escaped and marked, not acting on the page', async () => {
    // The reviewer's request: no credentials needed, only an address that can reach the server.
    const planted = await fetch(
      `${server.url}/v2/${instanceId}/authorizationServer/iauths_system/oauth2/token`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'probe/1\x85\x9b2J' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: `${RLO}4711 tnedicni`,
          client_secret: 'x',
        }).toString(),
      },
    )
    expect(planted.status).toBe(401)
    const events = await api.ok<{ entities: { seq: number; actorId: string; userAgent: string | null }[] }>(
      'GET',
      `/admin/v1/instances/${instanceId}/audit/events?action=oauth.token&order=desc&maxResults=1`,
    )
    const event = events.entities[0]!
    expect(event.actorId).toBe(`${RLO}4711 tnedicni`)
    expect(event.userAgent).toBe('probe/1\x85\x9b2J')

    // What an older server accepted: a reason and a description holding such characters.
    const credential = await api.ok<{ credentialId: string }>(
      'POST',
      `/admin/v1/instances/${instanceId}/credentials`,
      { credentialIdentifier: 'visible/planted', credentialType: 'api_key', value: { apiKey: 'k' } },
    )
    const db = new Database(join(server.dataDir, 'strongroom.db'))
    try {
      db.pragma('busy_timeout = 5000')
      db.prepare('update audit_events set reason = ? where instance_id = ? and seq = ?').run(
        `incident ${RLO}4711 tnedicni\nsecond line`,
        instanceId,
        event.seq,
      )
      db.prepare('update credentials set description = ? where id = ?').run(
        `owner: ${RLO}nimda\u2066 \x1b[2J\ttab`,
        credential.credentialId,
      )
    } finally {
      db.close()
    }

    watched = await newWatchedContext(browser)
    watched.problems.expectFailedLoad(401, '/console/session')
    const page = await watched.context.newPage()
    await signIn(page, server.url, await server.adminToken())

    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Audit', exact: true })
      .click()
    const row = page.getByRole('row').filter({ hasText: 'oauth.token' }).first()
    await row.waitFor()
    await row.locator('summary').click()
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person sees
    const rowText = (await row.innerText()).replace(/\s+/g, ' ')
    expect(rowText).toContain('\\u202e4711 tnedicni')
    expect(rowText).toContain('incident \\u202e4711 tnedicni\\nsecond line')
    expect(rowText).toContain('probe/1\\x85\\x9b2J')
    // Each escape is marked apart from the text around it.
    const marks = await row.locator('.escaped').allTextContents()
    expect(marks).toEqual(expect.arrayContaining(['\\u202e', '\\n', '\\x85', '\\x9b']))
    expect(await renderedText(page)).not.toMatch(HIDDEN)
    await screenshot(page, TEST, 'audit')

    await page.getByRole('link', { name: 'Credentials', exact: true }).click()
    await page.getByRole('link', { name: 'visible/planted' }).click()
    const description = page.locator('.facts div').filter({ hasText: 'Description' }).locator('dd')
    await description.waitFor()
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person sees
    expect(await description.innerText()).toBe('owner: \\u202enimda\\u2066 \\x1b[2J\\ttab')
    expect(await description.locator('.escaped').allTextContents()).toEqual([
      '\\u202e',
      '\\u2066',
      '\\x1b',
      '\\t',
    ])
    // The edit form starts with the same text: saving it stores what the reader saw.
    const edit = page.getByRole('form', { name: 'Edit credential' }).getByLabel('Description')
    expect(await edit.inputValue()).toBe('owner: \\u202enimda\\u2066 \\x1b[2J\\ttab')
    expect(await renderedText(page)).not.toMatch(HIDDEN)
    await screenshot(page, TEST, 'credential-description')

    await watched.context.close()
    watched.problems.assertClean()
    watched = undefined
  })
})
