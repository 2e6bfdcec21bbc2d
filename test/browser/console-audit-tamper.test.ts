// The audit page against a database someone edited: one audit row is altered in the SQLite file
// while the server runs, as an intruder with write access to the file would do it (WAL lets a second
// connection write beside the server's). The server's own chain head, kept in memory and in
// audit_heads, is untouched; only verification can notice. The page must say the chain is broken
// and name the altered event, without a restart.
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { AdminApi } from './support/admin-api.js'
import { launchChromium, newWatchedContext, screenshot } from './support/browser.js'
import { signIn } from './support/console-session.js'

const TEST = 'console-audit-tamper'

interface AuditPage {
  entities: { seq: number; action: string; resourceId: string | null }[]
}

describe('the console in Chromium: a tampered audit chain', { timeout: 60_000 }, () => {
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

  it('shows the chain verified, then broken at the event altered in the database file', async () => {
    const created: string[] = []
    for (const name of ['tamper-a', 'tamper-b', 'tamper-c']) {
      const app = await api.ok<{ applicationId: string }>(
        'POST',
        `/admin/v1/instances/${instanceId}/applications`,
        {
          name,
        },
      )
      created.push(app.applicationId)
    }
    const events = await api.ok<AuditPage>(
      'GET',
      `/admin/v1/instances/${instanceId}/audit/events?action=application.create&maxResults=100`,
    )
    const victim = events.entities.find((e) => e.resourceId === created[1])
    expect(victim).toBeDefined()
    const seq = victim!.seq

    const { context, problems } = await newWatchedContext(browser)
    // A fresh page starts signed out: the console asks for its session and is told 401, by design.
    problems.expectFailedLoad(401, '/console/session')
    const page = await context.newPage()
    await signIn(page, server.url, await server.adminToken())
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Audit', exact: true })
      .click()
    // Before: the page says the chain holds (so the banner below is the edit's doing).
    await page.getByText('Chain verified.').waitFor()
    await screenshot(page, TEST, 'audit-verified')

    const db = new Database(join(server.dataDir, 'strongroom.db'))
    try {
      db.pragma('busy_timeout = 5000')
      const changed = db
        .prepare("update audit_events set action = 'application.delete' where instance_id = ? and seq = ?")
        .run(instanceId, seq)
      expect(changed.changes).toBe(1)
    } finally {
      db.close()
    }

    await page.getByRole('button', { name: 'Verify chain' }).click()
    const banner = page.getByRole('alert').filter({ hasText: 'Chain broken' })
    await banner.waitFor()
    expect(await banner.textContent()).toContain(`Chain broken at event ${seq}.`)
    expect(await banner.textContent()).toMatch(new RegExp(`event ${seq} was altered`))
    // In the list, the broken link is the altered event, and no other.
    const brokenRows = page.getByRole('row').filter({ hasText: 'broken link' })
    await brokenRows.first().waitFor()
    expect(await brokenRows.count()).toBe(1)
    expect(await brokenRows.getByRole('cell').first().textContent()).toMatch(new RegExp(`^${seq}\\b`))
    await screenshot(page, TEST, 'audit-broken')

    // A reload finds it too: the page verifies on every load, nothing is remembered. Its events
    // list, loaded afresh, shows the altered row as it now reads.
    await page.reload()
    await page
      .getByRole('alert')
      .filter({ hasText: `Chain broken at event ${seq}.` })
      .waitFor()
    await brokenRows.filter({ hasText: 'application.delete' }).waitFor()
    expect(await brokenRows.count()).toBe(1)
    await screenshot(page, TEST, 'audit-broken-reloaded')

    // The server agrees, link for link.
    const verified = await api.ok<{ ok: boolean; firstBrokenSeq: number | null; headSeq: number }>(
      'GET',
      `/admin/v1/instances/${instanceId}/audit/verify`,
    )
    expect(verified).toMatchObject({ ok: false, firstBrokenSeq: seq, headSeq: seq - 1 })

    await context.close()
    problems.assertClean()
  })
})
