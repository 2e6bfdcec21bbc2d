import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { createTestDatabase } from '../support/postgres.js'
import { runCli, type ServerProcess, startServer } from '../support/server-process.js'
import { ok, okJson } from './cli.js'

describe('strongroom serve on PostgreSQL', () => {
  let server: ServerProcess | undefined
  afterEach(async () => server?.stop())

  it('keeps credentials across a restart and verifies its chain, with the root key from the environment', async () => {
    const db = await createTestDatabase(inject('postgresUrl'))
    const env = { STRONGROOM_DB: db, STRONGROOM_ROOT_KEY: randomBytes(32).toString('base64') }
    server = await startServer({ env })
    expect(server.logs()).toContain('First start')
    await ok(server, ['credential', 'create', '--identifier', 'pg/key', '--type', 'api_key'], 'on-postgres\n')
    await ok(server, ['credential', 'put', 'pg/key'], 'rotated-on-postgres\n')
    const token = await server.adminToken()
    await server.stop()
    server = await startServer({ dataDir: server.dataDir, env })
    expect(server.logs()).not.toContain('First start')
    const revealed = await runCli(['credential', 'reveal', 'pg/key'], {
      env: { STRONGROOM_URL: server.url, STRONGROOM_ADMIN_TOKEN: token },
    })
    expect(revealed.stdout).toBe('rotated-on-postgres\n')
    const versions = await okJson<{ version: number }[]>(server, ['credential', 'versions', 'pg/key'])
    expect(versions.map((v) => v.version)).toEqual([2, 1])
    const verify = await runCli(['audit', 'verify'], {
      env: { STRONGROOM_URL: server.url, STRONGROOM_ADMIN_TOKEN: token },
    })
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)
    const offline = await runCli(['audit', 'verify', '--db', db])
    expect(offline.code, offline.stdout + offline.stderr).toBe(0)
  })
})
