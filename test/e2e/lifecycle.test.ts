import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { runCli, type ServerProcess, startServer } from '../support/server-process.js'
import { cli, ok, okJson } from './cli.js'

describe('a real server driven by the CLI', () => {
  let server: ServerProcess | undefined
  afterEach(async () => server?.stop())

  it('keeps applications, secrets, credentials and grants across a restart, with a verifying audit chain', async () => {
    server = await startServer()
    const dataDir = server.dataDir
    const app = await okJson(server, ['app', 'create', '--name', 'billing-worker'])
    expect(app.applicationId).toMatch(/^app_/)
    const secret = await okJson(server, ['app', 'secret', 'create', app.applicationId])
    expect(secret.clientSecret).toMatch(/^srcs_/)
    const cred = await okJson(
      server,
      ['credential', 'create', '--identifier', 'billing/stripe', '--type', 'api_key', '--name', 'Stripe'],
      'sk_live_value_1\n',
    )
    expect(cred).toMatchObject({ credentialIdentifier: 'billing/stripe', currentVersion: 1 })
    await ok(server, ['credential', 'put', 'billing/stripe'], 'sk_live_value_2\n')
    const grant = await okJson(server, [
      'grant',
      'create',
      '--app',
      app.applicationId,
      '--type',
      'credential',
      '--resource',
      'billing/',
      '--prefix',
      '--actions',
      'obtain,read',
    ])
    expect(grant).toMatchObject({ resourceMatch: 'prefix', actions: ['obtain', 'read'] })

    await server.stop()
    server = await startServer({ dataDir })
    expect(server.logs()).not.toContain('First start')

    const apps = await okJson<{ applicationId: string }[]>(server, ['app', 'list'])
    expect(apps.map((a) => a.applicationId)).toContain(app.applicationId)
    const secrets = await okJson<{ clientSecretId: string; revoked: boolean }[]>(server, [
      'app',
      'secret',
      'list',
      app.applicationId,
    ])
    expect(secrets).toEqual([
      expect.objectContaining({ clientSecretId: secret.clientSecretId, revoked: false }),
    ])
    expect(JSON.stringify(secrets)).not.toContain(secret.clientSecret)
    const versions = await okJson<{ version: number }[]>(server, ['credential', 'versions', 'billing/stripe'])
    expect(versions.map((v) => v.version)).toEqual([2, 1])
    expect(await ok(server, ['credential', 'reveal', 'billing/stripe', '--reason', 'e2e check'])).toBe(
      'sk_live_value_2\n',
    )
    const grants = await okJson<{ grantId: string }[]>(server, ['grant', 'list', '--app', app.applicationId])
    expect(grants.map((g) => g.grantId)).toEqual([grant.grantId])

    const verify = await cli(server, ['audit', 'verify'])
    expect(verify.code, verify.stderr + verify.stdout).toBe(0)
    const events = await okJson<{ action: string; reason: string | null }[]>(server, [
      'audit',
      'query',
      '--action',
      'credential.reveal',
    ])
    expect(events).toEqual([expect.objectContaining({ action: 'credential.reveal', reason: 'e2e check' })])
    await server.stop()
    // Offline, against the database file, without the server or the root key.
    const offline = await runCli(['audit', 'verify', '--data-dir', dataDir])
    expect(offline.code, offline.stderr + offline.stdout).toBe(0)
    server = undefined
  })

  it('names the tampered sequence number when a row of the database file is edited, then deleted', async () => {
    server = await startServer()
    for (const name of ['a', 'b', 'c', 'd']) await ok(server, ['app', 'create', '--name', name])
    const { instanceId } = (await okJson(server, ['instance', 'list']))[0]
    await server.stop()
    const file = join(server.dataDir, 'strongroom.db')
    const db = new Database(file)
    db.prepare("update audit_events set action = 'application.delete' where instance_id = ? and seq = 3").run(
      instanceId,
    )
    db.close()
    const edited = await runCli(['audit', 'verify', '--data-dir', server.dataDir, '--instance', instanceId])
    expect(edited.code).toBe(1)
    expect(edited.stdout + edited.stderr).toMatch(/\b3\b/)
    expect(edited.stdout + edited.stderr).toMatch(/altered/)
    const again = new Database(file)
    again
      .prepare("update audit_events set action = 'application.create' where instance_id = ? and seq = 3")
      .run(instanceId)
    again.prepare('delete from audit_events where instance_id = ? and seq = 2').run(instanceId)
    again.close()
    const deleted = await runCli(['audit', 'verify', '--data-dir', server.dataDir, '--instance', instanceId])
    expect(deleted.code).toBe(1)
    expect(deleted.stdout + deleted.stderr).toMatch(/event 2 is missing/)
    server = undefined
  })

  it('reports errors as one line and a non-zero exit code, with no secret in them', async () => {
    server = await startServer()
    const missing = await cli(server, ['credential', 'show', 'no/such'])
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim().split('\n')).toHaveLength(1)
    expect(missing.stderr).toMatch(/CredentialNotFound/)
    await ok(server, ['credential', 'create', '--identifier', 'dup', '--type', 'api_key'], 'first-secret\n')
    const dup = await cli(
      server,
      ['credential', 'create', '--identifier', 'dup', '--type', 'api_key'],
      'second-secret\n',
    )
    expect(dup.code).toBe(1)
    expect(dup.stderr).toMatch(/CredentialIdentifierExists/)
    expect(dup.stderr + dup.stdout).not.toMatch(/first-secret|second-secret/)
    const unauthorised = await runCli(['app', 'list'], {
      env: { STRONGROOM_URL: server.url, STRONGROOM_ADMIN_TOKEN: 'srat_wrong' },
    })
    expect(unauthorised.code).toBe(1)
    expect(unauthorised.stderr).toMatch(/InvalidToken/)
    expect(unauthorised.stderr).not.toContain('srat_wrong')
  })
})
