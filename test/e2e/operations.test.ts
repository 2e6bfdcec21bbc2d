import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { get as httpsGet } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cliBin, repoRoot, runCli, type ServerProcess, startServer } from '../support/server-process.js'
import { selfSignedCertificate } from '../support/tls.js'
import { ok } from './cli.js'

describe('operating the server', () => {
  let server: ServerProcess | undefined
  afterEach(async () => server?.stop())

  it('rotates the root key offline; values stay readable and the old key no longer opens the database', async () => {
    server = await startServer()
    await ok(
      server,
      ['credential', 'create', '--identifier', 'rot/key', '--type', 'api_key'],
      'before-rotation\n',
    )
    const token = await server.adminToken()
    await server.stop()
    const keyFile = join(server.dataDir, 'root.key')
    const oldKey = readFileSync(keyFile, 'utf8')
    const rotated = await runCli(['admin', 'rotate-root-key', '--data-dir', server.dataDir])
    expect(rotated.code, rotated.stderr).toBe(0)
    const newKey = readFileSync(keyFile, 'utf8')
    expect(newKey).not.toBe(oldKey)
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    const dataDir = server.dataDir
    server = await startServer({ dataDir })
    const revealed = await runCli(['credential', 'reveal', 'rot/key'], {
      env: { STRONGROOM_URL: server.url, STRONGROOM_ADMIN_TOKEN: token },
    })
    expect(revealed.stdout).toBe('before-rotation\n')
    await server.stop()
    server = undefined
    const refused = await runCli(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
      env: { STRONGROOM_ROOT_KEY: oldKey.trim() },
    })
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/root key does not match this database/)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
  })

  // A server running on the file keeps the old root key in memory: an instance it created after
  // the rotation was wrapped under a key that no longer existed, and its values were lost at the
  // next start. The rotation is refused, and nothing changes.
  it('refuses to rotate the root key while a server runs on the database', async () => {
    server = await startServer()
    const keyFile = join(server.dataDir, 'root.key')
    const oldKey = readFileSync(keyFile, 'utf8')
    const refused = await runCli(['admin', 'rotate-root-key', '--data-dir', server.dataDir])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(
      /a strongroom server is running on .*strongroom\.db \(it holds .*serve-lock\): stop it before rotating the root key/,
    )
    expect(readFileSync(keyFile, 'utf8')).toBe(oldKey)
    expect(existsSync(`${keyFile}.new`)).toBe(false)
    await ok(server, ['instance', 'create', '--name', 'after-refusal'])
  })

  // A restore killed between setting the old database aside and renaming the copy in, or a
  // database moved by hand, left a folder in which the next start made an empty database and
  // wrote a new admin token over the real one's file.
  it.each([
    ['admin-token', 'srat_the-real-databases-token\n'],
    ['strongroom.db.before-restore-20261207T100000Z', 'the database an interrupted restore set aside'],
  ])('refuses a first start in a data folder whose database is missing (%s left)', async (name, content) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sr-missing-db-'))
    writeFileSync(join(dataDir, name), content, { mode: 0o600 })
    const refused = await runCli(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/strongroom\.db is missing, but .* held a database/)
    expect(existsSync(join(dataDir, 'strongroom.db'))).toBe(false)
    expect(readFileSync(join(dataDir, name), 'utf8')).toBe(content)
  })

  // The same with --db sqlite:PATH outside the data folder: the traces of a restore killed midway
  // lie beside the file, where the server did not look (found by a review of restore).
  it('refuses a first start when --db names a missing file whose folder holds an interrupted restore', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sr-missing-db-data-'))
    const dbDir = mkdtempSync(join(tmpdir(), 'sr-missing-db-file-'))
    const aside = join(dbDir, 's.db.before-restore-20261207T100000Z')
    writeFileSync(aside, 'the database an interrupted restore set aside', { mode: 0o600 })
    const refused = await runCli([
      'serve',
      '--data-dir',
      dataDir,
      '--db',
      `sqlite:${join(dbDir, 's.db')}`,
      '--listen',
      '127.0.0.1:0',
    ])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/s\.db is missing, but .* held a database \(s\.db\.before-restore-/)
    expect(existsSync(join(dbDir, 's.db'))).toBe(false)
  })

  // A mistyped --db sqlite:… made the maintenance commands create (and migrate) a new database
  // there: `audit archive` then said there was nothing to archive.
  it('offline commands refuse a --db sqlite: path with no database, and create none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-typo-'))
    const typo = join(dir, 'typo.db')
    const url = `sqlite:${typo}`
    const keyFile = join(dir, 'root.key')
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 })
    const archive = 'audit-zz-000000000001-000000000001.jsonl'
    writeFileSync(join(dir, archive), 'not an archive\n')
    for (const args of [
      ['audit', 'archive', '--before', '1d', '--db', url],
      ['audit', 'verify', '--db', url],
      ['audit', 'verify', '--archive', join(dir, archive), '--db', url],
      ['admin', 'rotate-root-key', '--db', url, '--root-key-file', keyFile],
      ['backup', '--out', join(dir, 'backups', 'b.db'), '--db', url],
    ]) {
      const refused = await runCli(args)
      expect(refused.code, args.join(' ')).toBe(1)
      expect(refused.stderr, args.join(' ')).toContain(`no database at ${typo} (--db ${url})`)
      expect(existsSync(typo), args.join(' ')).toBe(false)
    }
    expect(readdirSync(dir).sort()).toEqual([archive, 'root.key'])
  })

  // The rename that puts the new key in place replaced the link with a regular file in the data
  // folder, and left the old key at the link's target.
  it('refuses to rotate a root key file that is a symbolic link, and rotates its real path', async () => {
    server = await startServer()
    await server.stop()
    const dataDir = server.dataDir
    server = undefined
    const keyFile = join(dataDir, 'root.key')
    const real = join(realpathSync(mkdtempSync(join(tmpdir(), 'sr-key-vault-'))), 'strongroom-root.key')
    renameSync(keyFile, real)
    symlinkSync(real, keyFile)
    const oldKey = readFileSync(real, 'utf8')
    const refused = await runCli(['admin', 'rotate-root-key', '--data-dir', dataDir])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`${keyFile} is a symbolic link (to ${real})`)
    expect(refused.stderr).toContain(`give --root-key-file ${real} to rotate the key file itself`)
    expect(lstatSync(keyFile).isSymbolicLink()).toBe(true)
    expect(readFileSync(real, 'utf8')).toBe(oldKey)
    expect(existsSync(`${keyFile}.new`)).toBe(false)
    const rotated = await runCli(['admin', 'rotate-root-key', '--data-dir', dataDir, '--root-key-file', real])
    expect(rotated.code, rotated.stderr).toBe(0)
    expect(readFileSync(real, 'utf8')).not.toBe(oldKey)
    expect(lstatSync(keyFile).isSymbolicLink()).toBe(true)
    expect(statSync(real).mode & 0o777).toBe(0o600)
  })

  // A world-readable root.key.new stopped the server although root.key was fine: only a .new that
  // is this database's key (an interrupted rotation) is taken, and then its mode is checked.
  it('ignores a stray root.key.new with a warning, and adopts a matching one only when it is private', async () => {
    server = await startServer()
    await server.stop()
    const dataDir = server.dataDir
    const keyFile = join(dataDir, 'root.key')
    const pending = `${keyFile}.new`
    const key = readFileSync(keyFile, 'utf8')
    const stray = `${randomBytes(32).toString('base64')}\n`
    writeFileSync(pending, stray)
    chmodSync(pending, 0o644)
    server = await startServer({ dataDir })
    expect(server.logs()).toContain(
      `strongroom: warning: ${pending} was ignored: it is not the root key this database uses`,
    )
    await server.stop()
    server = undefined
    expect(readFileSync(keyFile, 'utf8')).toBe(key)
    expect(readFileSync(pending, 'utf8')).toBe(stray)

    // An interrupted rotation: the database uses the new key, which is still root.key.new.
    const rotated = await runCli([
      'admin',
      'rotate-root-key',
      '--data-dir',
      dataDir,
      '--new-root-key-file',
      `${pending}.2`,
    ])
    expect(rotated.code, rotated.stderr).toBe(0)
    renameSync(`${pending}.2`, pending)
    const newKey = readFileSync(pending, 'utf8')
    chmodSync(pending, 0o644)
    const refused = await runCli(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`root key file ${pending} is readable by others (mode 644)`)
    chmodSync(pending, 0o600)
    server = await startServer({ dataDir })
    expect(readFileSync(keyFile, 'utf8')).toBe(newKey)
    expect(existsSync(pending)).toBe(false)
  })

  // A FIFO named strongroom.db made offline verification wait for a writer forever.
  it('refuses a database path that is not a regular file instead of waiting on it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sr-fifo-db-'))
    const file = join(dataDir, 'strongroom.db')
    execFileSync('mkfifo', [file])
    for (const args of [
      ['audit', 'verify', '--data-dir', dataDir],
      ['backup', '--out', join(mkdtempSync(join(tmpdir(), 'sr-fifo-out-')), 'b.db'), '--data-dir', dataDir],
    ]) {
      const refused = await runCli(args, { timeoutMs: 15_000 })
      expect(refused.code, args.join(' ')).toBe(1)
      expect(refused.stderr, args.join(' ')).toContain(
        `${file} (--data-dir ${dataDir}) is not a regular file (a FIFO, a device or a folder)`,
      )
    }
  })

  // `serve` on a file that is no database said only "unexpected error: file is not a database".
  it('names the database file when SQLite cannot open it at start-up, in one line', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sr-garbage-db-'))
    writeFileSync(join(dataDir, 'strongroom.db'), 'not a database at all, just text. '.repeat(200), {
      mode: 0o600,
    })
    const refused = await runCli(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'])
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim()).toBe(
      `strongroom: database ${join(dataDir, 'strongroom.db')}: file is not a database (SQLITE_NOTADB)`,
    )
  })

  // Two servers on one data folder both started, with their own caches and budgets (a key rotated
  // through one was unknown to the other), and two starting at once broke the first migration.
  it('refuses a second server on the same SQLite database, until the first has ended, however it ended', async () => {
    server = await startServer()
    const dataDir = server.dataDir
    const second = await runCli(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'])
    expect(second.code).toBe(1)
    expect(second.stderr).toMatch(/another strongroom server is running on .*strongroom\.db/)
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
    await server.kill9()
    server = await startServer({ dataDir })
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
  })

  // A world-writable data folder was accepted: whoever may write there can put their own root
  // key and database in place.
  // Found by a reviewer: SIGHUP (a closed terminal, or a `kill -HUP` meant as a reload) ended the
  // server on the spot, requests in flight cut, with no line in its log.
  it('drains and stops on SIGHUP as on SIGTERM, alone and with workers', async () => {
    for (const args of [[], ['--workers', '2']]) {
      server = await startServer({ args })
      const exited = new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (server!.exitCode !== null || server!.signalCode !== null) {
            clearInterval(poll)
            resolve()
          }
        }, 50)
      })
      process.kill(server.pid, 'SIGHUP')
      await exited
      expect(server.signalCode).toBeNull()
      expect(server.exitCode).toBe(0)
      expect(server.logs()).toMatch(/"reason":"SIGHUP".*shutting down/)
    }
  }, 60_000)

  it('refuses a data folder writable by everyone', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sr-open-dir-'))
    chmodSync(dataDir, 0o777)
    const refused = await runCli(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/data folder .* is writable by everyone \(mode 777\); run: chmod 700/)
    expect(existsSync(join(dataDir, 'strongroom.db'))).toBe(false)
    expect(existsSync(join(dataDir, 'strongroom.db.serve-lock'))).toBe(false)
  })

  // A link planted as the lock file had SQLite create its target; a readable lock file let any
  // local user hold a shared lock that kept the server from starting.
  it('makes its lock file private and never through a link', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sr-lock-link-'))
    const target = join(mkdtempSync(join(tmpdir(), 'sr-lock-target-')), 'made-by-server')
    symlinkSync(target, join(dataDir, 'strongroom.db.serve-lock'))
    const refused = await runCli(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/cannot make the server lock .*serve-lock/)
    expect(existsSync(target)).toBe(false)
    server = await startServer()
    expect(statSync(join(server.dataDir, 'strongroom.db.serve-lock')).mode & 0o777).toBe(0o600)
  })

  it('serves HTTPS with --tls-cert and --tls-key, trusted with its CA and refused without', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-tls-'))
    selfSignedCertificate(dir)
    const child = spawn(
      process.execPath,
      [
        cliBin,
        'serve',
        '--data-dir',
        join(dir, 'data'),
        '--listen',
        '127.0.0.1:0',
        '--tls-cert',
        join(dir, 'cert.pem'),
        '--tls-key',
        join(dir, 'key.pem'),
      ],
      { stdio: 'ignore' },
    )
    try {
      const urlFile = join(dir, 'data', 'url')
      const deadline = Date.now() + 20_000
      while (!existsSync(urlFile)) {
        if (Date.now() > deadline) throw new Error('the HTTPS server did not start')
        await new Promise((r) => setTimeout(r, 50))
      }
      const url = readFileSync(urlFile, 'utf8').trim()
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      const get = (ca?: Buffer) =>
        new Promise<number>((resolve, reject) =>
          httpsGet(`${url}/healthz`, ca ? { ca } : {}, (res) => {
            res.resume()
            resolve(res.statusCode ?? 0)
          }).on('error', reject),
        )
      expect(await get(readFileSync(join(dir, 'cert.pem')))).toBe(200)
      await expect(get()).rejects.toThrow(/self-signed|certificate/)
    } finally {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('close', r))
    }
  })

  it('links `npx strongroom` to a committed launcher, which a fresh clone has before anything is built', async () => {
    // npm links a bin at install time only if its file exists: a bin inside dist/ is missing on a fresh clone.
    expect(realpathSync(join(repoRoot, 'node_modules/.bin/strongroom'))).toBe(
      join(repoRoot, 'packages/cli/bin/strongroom.mjs'),
    )
    const version = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('npx', ['--no-install', 'strongroom', '--version'], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'ignore'],
      })
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
      child.on('close', (code) => resolve({ code, out }))
    })
    expect(version).toEqual({ code: 0, out: expect.stringMatching(/^\d+\.\d+\.\d+/) })
  })

  it('starts with `npm start`, prints the URL, where the admin token is (not the token) and what to try, and serves /healthz', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sr-npm-start-'))
    const run = async () => {
      const child = spawn('npm', ['start', '--silent'], {
        detached: true,
        cwd: repoRoot,
        env: {
          ...process.env,
          STRONGROOM_DATA_DIR: dataDir,
          STRONGROOM_LISTEN: '127.0.0.1:0',
          NO_COLOR: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
      child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c))
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
      const deadline = Date.now() + 60_000
      while (!/running at (https?:\/\/\S+)/.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`npm start did not come up:\n${out}`)
        await new Promise((r) => setTimeout(r, 50))
      }
      const url = /running at (https?:\/\/\S+)/.exec(out)![1]!
      const health = await fetch(`${url}/healthz`)
      // The console the banner names is served, built by npm start with the rest.
      const consoleUrl = /console: +(https?:\/\/\S+)/.exec(out)?.[1]
      const consolePage = consoleUrl ? await fetch(consoleUrl) : null
      const consoleHtml = consolePage ? await consolePage.text() : ''
      // What an IDaaS SDK does with the demo configuration: client_secret_post at its token endpoint.
      const config = JSON.parse(readFileSync(join(dataDir, 'client-config.json'), 'utf8'))
      expect(config).toMatchObject({
        idaasInstanceId: expect.stringMatching(/^idaas_/),
        clientId: expect.stringMatching(/^app_/),
        tokenEndpoint: `${url}/v2/${config.idaasInstanceId}/authorizationServer/iauths_system/oauth2/token`,
        authnConfiguration: {
          identityType: 'CLIENT',
          authnMethod: 'CLIENT_SECRET_POST',
          clientSecretEnvVarName: 'IDAAS_CLIENT_SECRET',
        },
      })
      const demoToken = await fetch(config.tokenEndpoint, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: config.clientId,
          client_secret: readFileSync(join(dataDir, 'client-secret'), 'utf8').trim(),
          scope: config.scope,
        }),
      }).then((r) => r.json())
      // The WAL exists only while the server runs (a clean close checkpoints and removes it).
      const walMode = statSync(join(dataDir, 'strongroom.db-wal')).mode & 0o777
      // What a terminal's Ctrl-C does: the signal goes to the whole foreground process group.
      process.kill(-child.pid!, 'SIGINT')
      await exited
      // The server drained and is gone.
      const after = await fetch(`${url}/healthz`).then(
        (r) => r.status,
        () => 'refused',
      )
      return { out, health: health.status, after, walMode, demoToken, consoleUrl, consolePage, consoleHtml }
    }
    const first = await run()
    expect(first.health).toBe(200)
    expect(first.consoleUrl).toMatch(/\/console\/$/)
    expect(first.consolePage?.status).toBe(200)
    expect(first.consolePage?.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(first.consoleHtml).toContain('/console/js/main.js')
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
    expect(statSync(join(dataDir, 'admin-token')).mode & 0o777).toBe(0o600)
    for (const file of ['root.key', 'strongroom.db']) {
      expect(statSync(join(dataDir, file)).mode & 0o777, file).toBe(0o600)
    }
    expect(first.walMode).toBe(0o600)
    // The banner lands in captured logs: it says where the token is, never the token.
    expect(first.out).not.toContain(token)
    expect(first.out).toMatch(/Admin token: saved to .*admin-token \(mode 0600\)/)
    // The data folder is not ./.strongroom of npm start's folder, so the CLI would not find it by
    // itself: the banner says what to export instead, the URL with the token.
    expect(first.out).not.toContain('reads it')
    expect(first.out).toMatch(/^ {4}export STRONGROOM_URL=http:\/\/127\.0\.0\.1:\d+$/m)
    expect(first.out).toContain(`    export STRONGROOM_ADMIN_TOKEN=$(cat ${join(dataDir, 'admin-token')})\n`)
    expect(first.out).toMatch(/npx strongroom/)
    // The demo workload: an IDaaS client configuration and its secret, and the two exports to use them.
    const configPath = join(dataDir, 'client-config.json')
    expect(first.out).toContain(`export CLOUD_IDAAS_CONFIG_PATH=${configPath}`)
    expect(first.out).toMatch(/export IDAAS_CLIENT_SECRET=\$\(cat .*client-secret\)/)
    expect(statSync(join(dataDir, 'client-secret')).mode & 0o777).toBe(0o600)
    expect(first.demoToken).toMatchObject({ token_type: 'Bearer', scope: 'urn:cloud:idaas:pam|.all' })
    expect(first.out).toMatch(/shutting down/)
    expect(first.after).toBe('refused')
    const second = await run()
    expect(second.health).toBe(200)
    expect(second.out).not.toContain(token)
    expect(readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()).toBe(token)
  }, 120_000)
})
