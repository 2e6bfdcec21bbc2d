import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Config } from '../../src/config/config.js'
import { banner } from '../../src/server.js'

const URL = 'http://127.0.0.1:8080'

/** The banner's part of a configuration: the database, the data folder, the workers. */
function config(dataDir: string | null): Config {
  return {
    db: 'sqlite:strongroom.db',
    dataDir,
    workers: 1,
    listen: { host: '127.0.0.1', port: 8080 },
  } as Config
}

describe('the start-up banner', () => {
  let cwd: string
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'sr-banner-'))
  })
  afterEach(() => rmSync(cwd, { recursive: true, force: true }))

  /** A data folder with the files a first start leaves, as `bootstrap` and `writeDemoClientConfig` write them. */
  function dataFolder(dir: string, files: { adminToken?: boolean; clientSecret?: boolean } = {}) {
    mkdirSync(dir, { recursive: true })
    if (files.adminToken !== false) writeFileSync(join(dir, 'admin-token'), 'srat_x\n')
    if (files.clientSecret !== false) writeFileSync(join(dir, 'client-secret'), 'srcs_x\n')
    writeFileSync(join(dir, 'client-config.json'), JSON.stringify({ clientId: 'app_demo' }))
    return { tokenFile: join(dir, 'admin-token'), demoConfig: join(dir, 'client-config.json') }
  }

  it('says the CLI reads the token by itself only for ./.strongroom of the working folder', () => {
    const dir = join(cwd, '.strongroom')
    const { tokenFile, demoConfig } = dataFolder(dir)
    const text = banner(URL, config(dir), 'srat_secret', tokenFile, demoConfig, cwd)
    expect(text).toContain('Admin token: saved to .strongroom/admin-token (mode 0600).')
    expect(text).toContain(
      `The CLI run in ${cwd} reads it, and the server's URL, from .strongroom/ by itself.`,
    )
    expect(text).not.toContain('STRONGROOM_ADMIN_TOKEN')
    expect(text).toContain('export IDAAS_CLIENT_SECRET=$(cat .strongroom/client-secret)')
    expect(text).not.toContain('srat_secret')
  })

  it('prints the two exports the CLI needs for a data folder elsewhere, first start or not', () => {
    const dir = join(cwd, 'data')
    const { tokenFile, demoConfig } = dataFolder(dir)
    for (const text of [
      banner(URL, config(dir), 'srat_secret', tokenFile, demoConfig, cwd),
      banner(URL, config(dir), null, null, demoConfig, cwd),
    ]) {
      expect(text).not.toContain('reads it')
      expect(text).toContain(`    export STRONGROOM_URL=${URL}\n`)
      expect(text).toContain(`    export STRONGROOM_ADMIN_TOKEN=$(cat ${tokenFile})\n`)
      expect(text).not.toContain('srat_secret')
    }
    expect(banner(URL, config(dir), 'srat_secret', tokenFile, demoConfig, cwd)).toContain(
      'Admin token: saved to data/admin-token (mode 0600).',
    )
  })

  it('names no file that is not there (a backup restored into a fresh folder)', () => {
    for (const dir of [join(cwd, '.strongroom'), join(cwd, 'restored')]) {
      const { demoConfig } = dataFolder(dir, { adminToken: false, clientSecret: false })
      const text = banner(URL, config(dir), null, null, demoConfig, cwd)
      expect(text).not.toMatch(/cat \S*admin-token/)
      expect(text).not.toMatch(/cat \S*client-secret/)
      expect(text).toContain('no admin-token file in')
      expect(text).toContain(`    export STRONGROOM_URL=${URL}\n`)
      expect(text).toContain('    export STRONGROOM_ADMIN_TOKEN=<an admin token you hold>\n')
      expect(text).toContain('export IDAAS_CLIENT_SECRET=$(npx strongroom app secret create app_demo)')
    }
  })

  it('shows the token once, with the URL to go with it, when there is no data folder', () => {
    const text = banner(URL, config(null), 'srat_secret', null, null, cwd)
    expect(text).toContain('(shown this once, not saved):\n    srat_secret\n')
    expect(text).toContain(`    export STRONGROOM_URL=${URL}\n`)
    expect(text).toContain('    export STRONGROOM_ADMIN_TOKEN=<the token above>\n')
    expect(banner(URL, config(null), null, null, null, cwd)).toContain(
      'export STRONGROOM_ADMIN_TOKEN=<an admin token you hold>',
    )
  })

  it('quotes a path a shell would split', () => {
    const dir = join(cwd, 'my data')
    const { tokenFile, demoConfig } = dataFolder(dir)
    const text = banner(URL, config(dir), null, null, demoConfig, cwd)
    expect(text).toContain(`export STRONGROOM_ADMIN_TOKEN=$(cat '${tokenFile}')`)
    expect(text).toContain(`export IDAAS_CLIENT_SECRET=$(cat 'my data/client-secret')`)
  })

  // It printed config.db as given: a reviewer's PostgreSQL password on every start's stdout.
  it('shows a PostgreSQL URL without its password', () => {
    const text = banner(
      URL,
      {
        db: 'postgres://strongroom:S3cretPw@db.internal:5432/sr',
        dataDir: null,
        workers: 2,
        listen: { host: '127.0.0.1', port: 8080 },
      } as Config,
      null,
      null,
      null,
      cwd,
    )
    expect(text).toContain('database: postgres://strongroom:***@db.internal:5432/sr')
    expect(text).not.toContain('S3cretPw')
  })

  it('says so when the server listens on every interface', () => {
    const every = {
      db: 'sqlite:x.db',
      dataDir: null,
      workers: 1,
      listen: { host: '0.0.0.0', port: 8080 },
    } as Config
    expect(banner(URL, every, null, null, null, cwd)).toContain(
      'listening on every network interface (0.0.0.0)',
    )
    expect(banner(URL, config(null), null, null, null, cwd)).not.toContain('every network interface')
  })

  it('warns that the console sign-in and its cookie travel unencrypted when others can reach a plain-HTTP listener', () => {
    const listening = (host: string, tls: Config['tls'] = null) =>
      banner(
        URL,
        { db: 'sqlite:x.db', dataDir: null, workers: 1, listen: { host, port: 8080 }, tls } as Config,
        null,
        null,
        null,
        cwd,
      )
    const warning =
      /warning: no TLS on a listener other machines can reach: the console sign-in \(an admin token\)\n\s+and its session cookie travel unencrypted/
    for (const host of ['0.0.0.0', '::', '192.0.2.10', 'strongroom.internal', '10.0.0.1']) {
      expect(listening(host), host).toMatch(warning)
    }
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]']) {
      expect(listening(host), host).not.toContain('warning')
    }
    expect(listening('0.0.0.0', { certFile: 'c.pem', keyFile: 'k.pem' })).not.toContain('warning')
  })
})
