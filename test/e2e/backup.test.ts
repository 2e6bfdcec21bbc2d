// `strongroom backup` and `strongroom restore` with the real command and a real server. A copy of
// strongroom.db taken with `cp` while the server ran missed the writes still in its write-ahead
// log; the documented way must lose none that was acknowledged before it began.
import { copyFile, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SQLite from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { type CliResult, runCli, type ServerProcess, startServer } from '../support/server-process.js'
import { okJson } from './cli.js'
import { allIdentifiers, waitFor, whoami, writeLoad } from './write-load.js'

const expectOk = (r: CliResult): string => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}${r.stdout}`)
  return r.stdout
}

const tempDir = () => mkdtemp(join(tmpdir(), 'strongroom-backup-'))

/** A fresh data folder holding what an operator keeps apart from the backup: the root key (and their token). */
async function dataDirWithKeysOf(server: ServerProcess): Promise<string> {
  const dir = await tempDir()
  await copyFile(join(server.dataDir, 'root.key'), join(dir, 'root.key'))
  await copyFile(join(server.dataDir, 'admin-token'), join(dir, 'admin-token'))
  return dir
}

describe('strongroom backup and restore', () => {
  const servers: ServerProcess[] = []
  const start = async (dataDir?: string) => {
    const server = await startServer(dataDir === undefined ? {} : { dataDir })
    servers.push(server)
    return server
  }
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()))
  })

  it('backs up under 200 concurrent writes without losing an acknowledged one, and the restore serves', async () => {
    const server = await start()
    const token = await server.adminToken()
    const { defaultInstanceId } = await whoami(server, token)
    const load = writeLoad(server, token, defaultInstanceId, 200)
    await waitFor(() => load.answered() >= 300)
    const acknowledgedBefore = load.outcomes.filter((o) => o.status === 201).map((o) => o.identifier)
    const out = join(await tempDir(), 'strongroom-backup.db')
    const backup = await runCli(['backup', '--out', out, '--data-dir', server.dataDir])
    const answeredByThen = load.answered()
    await load.stop()

    expect(backup.code, backup.stderr).toBe(0)
    expect(answeredByThen).toBeGreaterThan(acknowledgedBefore.length) // writes went on during the backup
    expect(backup.stdout).toContain(`written to ${out}`)
    expect(backup.stdout).toMatch(/2 of 2 intact, \d+ event\(s\) checked/)
    expect(backup.stdout).toContain('The root key is NOT in this backup')
    expect((await stat(out)).mode & 0o777).toBe(0o600)
    expect(await readdir(join(out, '..'))).toEqual(['strongroom-backup.db']) // no temporary file left
    expect(expectOk(await runCli(['audit', 'verify', '--db', `sqlite:${out}`]))).toMatch(/intact/)

    await server.stop()
    const restoredDir = await dataDirWithKeysOf(server)
    const restore = expectOk(await runCli(['restore', '--from', out, '--data-dir', restoredDir]))
    expect(restore).toMatch(/The root key from .*root\.key opens all \d+ wrapped key\(s\)/)
    const restored = await start(restoredDir)
    const present = await allIdentifiers(restored)
    expect(acknowledgedBefore.filter((id) => !present.has(id))).toEqual([])
    const someWrite = acknowledgedBefore[acknowledgedBefore.length - 1]!
    const revealed = await okJson(restored, ['credential', 'reveal', someWrite])
    expect(revealed.value).toEqual({ apiKey: `v-${someWrite}` })
  }, 120_000)

  it('refuses to overwrite a backup unless --force, and refuses PostgreSQL with pg_dump guidance', async () => {
    const server = await start()
    const out = join(await tempDir(), 'b.db')
    await writeFile(out, 'an older backup')
    const refused = await runCli(['backup', '--out', out, '--data-dir', server.dataDir])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`${out} already exists: give another --out, or --force to replace it`)
    expect(await readFile(out, 'utf8')).toBe('an older backup')
    const forced = await runCli(['backup', '--out', out, '--data-dir', server.dataDir, '--force', '--json'])
    expect(forced.code, forced.stderr).toBe(0)
    const written = JSON.parse(forced.stdout)
    expect(written).toMatchObject({ path: out, rootKeyIncluded: false, keysChecked: null })
    expect(written.chains.map((c: { ok: boolean }) => c.ok)).toEqual([true, true])
    expect(forced.stderr).toContain('The root key is NOT in this backup') // stdout stays pure JSON
    expectOk(await runCli(['audit', 'verify', '--db', `sqlite:${out}`]))

    const pg = await runCli(['backup', '--out', out, '--db', 'postgres://pam:hunter22@db.example/pam'])
    expect(pg.code).toBe(1)
    expect(pg.stderr).toContain('use pg_dump')
    expect(pg.stderr).toContain(
      'pg_dump --format=custom --file=strongroom.dump "postgres://pam:***@db.example/pam"',
    )
    expect(pg.stderr).not.toContain('hunter22')
    const pgRestore = await runCli(['restore', '--from', out, '--db', 'postgres://pam@db.example/pam'])
    expect(pgRestore.code).toBe(1)
    expect(pgRestore.stderr).toContain('pg_restore')
  }, 60_000)

  // `backup --out <data dir>/root.key --force` replaced the root key with the database copy.
  it('refuses an --out in the data folder, where the root key is, even with --force', async () => {
    const server = await start()
    const keyFile = join(server.dataDir, 'root.key')
    const key = await readFile(keyFile, 'utf8')
    for (const name of ['root.key', 'admin-token', 'strongroom-backup.db']) {
      const out = join(server.dataDir, name)
      const refused = await runCli(['backup', '--out', out, '--force', '--data-dir', server.dataDir])
      expect(refused.code, name).toBe(1)
      expect(refused.stderr, name).toContain(
        `--out ${out} is in the database's folder ${server.dataDir}, among the server's own files (root.key, admin-token…): write backups to a folder of their own`,
      )
    }
    expect(await readFile(keyFile, 'utf8')).toBe(key)
    expect((await readdir(server.dataDir)).filter((f) => f.includes('backup'))).toEqual([])
  }, 60_000)

  it('refuses to restore onto a running server, or over a database without --force, and keeps the old one aside', async () => {
    const server = await start()
    const out = join(await tempDir(), 'b.db')
    expectOk(await runCli(['backup', '--out', out, '--data-dir', server.dataDir]))
    const running = await runCli(['restore', '--from', out, '--data-dir', server.dataDir, '--force'])
    expect(running.code).toBe(1)
    expect(running.stderr).toContain('is in use (is a strongroom server running on it?)')

    const live = await runCli([
      'restore',
      '--from',
      join(server.dataDir, 'strongroom.db'),
      '--data-dir',
      await tempDir(),
    ])
    expect(live.code).toBe(1)
    expect(live.stderr).toContain('it is a live database, not a backup')

    await server.stop()
    const kept = await runCli(['restore', '--from', out, '--data-dir', server.dataDir])
    expect(kept.code).toBe(1)
    expect(kept.stderr).toContain('already exists: give --force to replace it')
    const forced = expectOk(await runCli(['restore', '--from', out, '--data-dir', server.dataDir, '--force']))
    expect(forced).toMatch(
      /The database that was there is kept as .*strongroom\.db\.before-restore-\d{8}T\d{6}Z/,
    )
    const files = await readdir(server.dataDir)
    expect(files.filter((f) => f.startsWith('strongroom.db.before-restore-'))).toHaveLength(1)
    expect((await start(server.dataDir)).url).toMatch(/^http/)
  }, 60_000)

  it('refuses a tampered backup, one that is not a database, and one restored beside the wrong root key', async () => {
    const server = await start()
    const out = join(await tempDir(), 'b.db')
    expectOk(await runCli(['backup', '--out', out, '--data-dir', server.dataDir]))
    await server.stop()

    const tampered = join(await tempDir(), 'tampered.db')
    await copyFile(out, tampered)
    const sqlite = new SQLite(tampered)
    sqlite
      .prepare("update audit_events set actor_id = 'someone-else' where seq = 1 and instance_id = 'system'")
      .run()
    sqlite.close()
    const target = await dataDirWithKeysOf(server)
    const broken = await runCli(['restore', '--from', tampered, '--data-dir', target])
    expect(broken.code).toBe(1)
    expect(broken.stderr).toContain('was not restored: the audit chain of system is broken at seq 1')
    expect(await readdir(target)).toEqual(['admin-token', 'root.key']) // nothing was put in place

    const junk = join(await tempDir(), 'junk.db')
    await writeFile(junk, 'not a database at all, just text. '.repeat(200))
    const notDb = await runCli(['restore', '--from', junk, '--data-dir', target])
    expect(notDb.code).toBe(1)
    // Named as given, not as the temporary copy beside the target.
    expect(notDb.stderr).toContain(`${junk} is not a readable SQLite database`)

    const otherKey = await tempDir()
    await writeFile(join(otherKey, 'root.key'), `${Buffer.alloc(32, 7).toString('base64')}\n`, {
      mode: 0o600,
    })
    const wrongKey = await runCli(['restore', '--from', out, '--data-dir', otherKey])
    expect(wrongKey.code).toBe(1)
    expect(wrongKey.stderr).toContain('the root key does not match this database')
    expect(await readdir(otherKey)).toEqual(['root.key'])

    const noKey = expectOk(await runCli(['restore', '--from', out, '--data-dir', await tempDir()]))
    expect(noKey).toContain('No root key was given')
  }, 60_000)
})
