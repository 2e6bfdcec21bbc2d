// Backup and restore work on SQLite files only (PostgreSQL has pg_dump, and the commands say so),
// so unlike the other storage tests these run on the one engine they are for, on real files.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import SQLite from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { verifySqliteChains } from '../../src/audit/verify-sqlite.js'
import { backupDatabase } from '../../src/backup/backup-database.js'
import { restoreDatabase } from '../../src/backup/restore-database.js'
import { rotateRootKey } from '../../src/offline.js'
import { holdServerLock } from '../../src/store/server-lock.js'
import { openTestServer, type TestServer } from '../support/engines.js'

const tempDir = () => mkdtempSync(join(tmpdir(), 'strongroom-backup-'))

describe('backup and restore of a SQLite database', () => {
  let server: TestServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  /** A migrated, bootstrapped database, served in this process, at DIR/strongroom.db. */
  async function served(): Promise<{ dir: string; file: string; rootKey: string }> {
    const dir = tempDir()
    const file = join(dir, 'strongroom.db')
    server = await openTestServer('sqlite', { db: `sqlite:${file}` })
    return { dir, file, rootKey: server.rootKey }
  }

  it('copies what was committed and not a write transaction still open, without waiting for it', async () => {
    const { file } = await served()
    const writer = new SQLite(file)
    writer.exec('BEGIN IMMEDIATE')
    writer.prepare("insert into meta (key, value) values ('uncommitted', 'x')").run()
    const out = join(tempDir(), 'copy.db')
    const result = await backupDatabase({ db: `sqlite:${file}`, out })
    writer.exec('ROLLBACK')
    writer.close()
    const copy = new SQLite(out, { readonly: true })
    const keys = (copy.prepare('select key from meta').all() as { key: string }[]).map((r) => r.key)
    copy.close()
    expect(keys).toContain('root_key_id')
    expect(keys).not.toContain('uncommitted')
    expect(result.chains.every((c) => c.ok)).toBe(true)
    expect(result.events).toBeGreaterThan(0)
  })

  it('refuses to write the backup over the database itself, even with force', async () => {
    const { file } = await served()
    await expect(backupDatabase({ db: `sqlite:${file}`, out: file, force: true })).rejects.toThrow(
      /is the database itself/,
    )
    await expect(backupDatabase({ db: `sqlite:${file}`, out: `${file}-wal`, force: true })).rejects.toThrow(
      /is the database itself/,
    )
  })

  it("refuses an --out in the database's folder, where the root key and the tokens are, even with force", async () => {
    const { file, dir } = await served()
    const key = 'the root key, which a backup must never replace\n'
    writeFileSync(join(dir, 'root.key'), key, { mode: 0o600 })
    const names = [
      'root.key',
      'root.key.new',
      'admin-token',
      'client-secret',
      'client-config.json',
      'url',
      'copy.db',
    ]
    for (const location of [{ db: `sqlite:${file}` }, { dataDir: dir }]) {
      for (const name of names) {
        const out = join(dir, name)
        await expect(backupDatabase({ ...location, out, force: true }), name).rejects.toThrow(
          `--out ${out} is in the database's folder ${dir}, among the server's own files (root.key, admin-token…): write backups to a folder of their own`,
        )
      }
    }
    // Spelled another way, it is the same folder.
    await expect(
      backupDatabase({ dataDir: dir, out: join(dir, 'sub', '..', 'root.key'), force: true }),
    ).rejects.toThrow("is in the database's folder")
    expect(readFileSync(join(dir, 'root.key'), 'utf8')).toBe(key)
    expect(readdirSync(dir).filter((name) => names.includes(name))).toEqual(['root.key'])
    // A folder of its own, even inside it, is fine.
    const kept = await backupDatabase({ dataDir: dir, out: join(dir, 'backups', 'b.db') })
    expect(kept.chains.every((c) => c.ok)).toBe(true)
  })

  it('names the --from file, not its temporary copy, when the backup is not a database', async () => {
    const junk = join(tempDir(), 'junk.db')
    writeFileSync(junk, 'not a database at all, just text. '.repeat(200))
    const target = join(tempDir(), 'strongroom.db')
    const refused = restoreDatabase({ from: junk, db: target })
    await expect(refused).rejects.toThrow(`${junk} is not a readable SQLite database: file is not a database`)
    await expect(refused).rejects.not.toThrow('.tmp-')
  })

  it('refuses a SQLite file that is not a strongroom database, and one from a newer version', async () => {
    const dir = tempDir()
    const foreign = join(dir, 'foreign.db')
    const other = new SQLite(foreign)
    other.exec('create table notes (text)')
    other.close()
    const target = join(tempDir(), 'strongroom.db')
    await expect(restoreDatabase({ from: foreign, db: target })).rejects.toThrow(
      'is not a strongroom database: it has no migrations table',
    )

    const { file } = await served()
    const newer = join(dir, 'newer.db')
    await backupDatabase({ db: file, out: newer })
    const edit = new SQLite(newer)
    edit
      .prepare("insert into kysely_migration (name, timestamp) values ('9999_from_the_future', 'now')")
      .run()
    edit.close()
    await expect(restoreDatabase({ from: newer, db: target })).rejects.toThrow(
      'was written by a newer strongroom (it has migration 9999_from_the_future',
    )
    expect(existsSync(target)).toBe(false)
  })

  it('refuses a backup with a trigger, a view, an index or a column that no migration makes', async () => {
    const { file } = await served()
    // Backups go to a folder of their own, never the database's (where the root key is).
    const dir = tempDir()
    const clean = join(dir, 'clean.db')
    await backupDatabase({ db: file, out: clean })
    const planted: [string, string, RegExp][] = [
      [
        'trigger',
        `create trigger zz_unscope after insert on admin_tokens begin
           update admin_tokens set instance_id = null where id = new.id; end`,
        /it has a trigger zz_unscope that no migration makes/,
      ],
      ['view', 'create view zz_tokens as select * from admin_tokens', /it has a view zz_tokens that no/],
      ['index', 'create index zz_index on grants (created_at)', /it has a index zz_index that no/],
      [
        'column',
        'alter table grants add column zz text',
        /its table grants differs from what the migrations make/,
      ],
      [
        'dropped index',
        'drop index client_secrets_application',
        /its index client_secrets_application is missing/,
      ],
    ]
    for (const [what, statement, refusal] of planted) {
      const tampered = join(tempDir(), `tampered-${what.replace(' ', '-')}.db`)
      await backupDatabase({ db: clean, out: tampered })
      const edit = new SQLite(tampered)
      edit.exec(statement)
      edit.close()
      const target = join(tempDir(), 'strongroom.db')
      await expect(restoreDatabase({ from: tampered, db: target }), what).rejects.toThrow(refusal)
      expect(existsSync(target), what).toBe(false)
    }
    // SQLite refuses its reserved prefix `sqlite_` to CREATE, but an edit of the file (or of
    // sqlite_master under writable_schema, which better-sqlite3's defensive mode forbids here)
    // can name a trigger so, and SQLite then runs it: made as xqlite_zz, renamed in the bytes.
    const reserved = join(tempDir(), 'tampered-reserved-name.db')
    await backupDatabase({ db: clean, out: reserved })
    const edit = new SQLite(reserved)
    edit.exec(`create trigger xqlite_zz after insert on admin_tokens begin
      update admin_tokens set instance_id = null where id = new.id; end`)
    edit.close()
    const bytes = readFileSync(reserved)
    for (let at = bytes.indexOf('xqlite_zz'); at >= 0; at = bytes.indexOf('xqlite_zz', at + 1))
      bytes[at] = 0x73
    writeFileSync(reserved, bytes)
    const check = new SQLite(reserved, { readonly: true })
    expect(check.prepare("select name from sqlite_master where type = 'trigger'").pluck().all()).toEqual([
      'sqlite_zz',
    ])
    check.close()
    await expect(restoreDatabase({ from: reserved, db: join(tempDir(), 'strongroom.db') })).rejects.toThrow(
      /it has a trigger sqlite_zz that no migration makes/,
    )
    // The untouched backup restores.
    const target = join(tempDir(), 'strongroom.db')
    const restored = await restoreDatabase({
      from: clean,
      db: target,
      env: { STRONGROOM_ROOT_KEY: server!.rootKey },
    })
    expect(restored.chains.every((c) => c.ok)).toBe(true)
  })

  it('refuses to restore or rotate the root key while a server holds its lock, with no connection open', async () => {
    // As the primary of `serve --workers N` between a crashed worker and its replacement: it holds
    // the server lock, and nothing has the database itself open (found by a review: both ran).
    const { file, rootKey } = await served()
    const out = join(tempDir(), 'copy.db')
    await backupDatabase({ db: file, out })
    await server?.close()
    server = undefined
    const keyFile = join(tempDir(), 'root.key')
    writeFileSync(keyFile, `${rootKey}\n`, { mode: 0o600 })
    const before = readFileSync(file)
    const release = holdServerLock(file)
    try {
      await expect(
        restoreDatabase({ from: out, db: file, force: true, env: { STRONGROOM_ROOT_KEY: rootKey } }),
      ).rejects.toThrow(/a strongroom server is running on .* stop it before restoring/)
      await expect(
        rotateRootKey({
          db: `sqlite:${file}`,
          rootKeyFile: keyFile,
          newRootKeyFile: join(tempDir(), 'new.key'),
        }),
      ).rejects.toThrow(/stop it before rotating the root key/)
    } finally {
      release()
    }
    expect(readFileSync(file).equals(before)).toBe(true)
    // Once the server is gone, both run.
    const restored = await restoreDatabase({
      from: out,
      db: file,
      force: true,
      env: { STRONGROOM_ROOT_KEY: rootKey },
    })
    expect(restored.chains.every((c) => c.ok)).toBe(true)
  })

  it('refuses a backup whose table and index disagree, which SQLite’s quick_check passes', async () => {
    // One byte of a migration's name changed where the table holds it, not where its index does
    // (found by a review flipping bits of real backups): restore said "verified", and the server
    // then refused to start on a migration it could not find.
    const { file } = await served()
    const out = join(tempDir(), 'copy.db')
    await backupDatabase({ db: file, out })
    const bytes = readFileSync(out)
    const name = Buffer.from('0001_')
    const at = bytes.indexOf(name)
    expect(at).toBeGreaterThan(0)
    bytes[at + 1] = '9'.charCodeAt(0) // 0001_… reads 0901_… in one of its two copies
    writeFileSync(out, bytes)
    const quick = new SQLite(out, { readonly: true })
    expect(quick.pragma('quick_check', { simple: true })).toBe('ok')
    quick.close()
    await expect(restoreDatabase({ from: out, db: join(tempDir(), 'strongroom.db') })).rejects.toThrow(
      /is damaged: SQLite's integrity_check says/,
    )
  })

  it('refuses a database that holds instances but lost the record of its keys, to restore and to serve', async () => {
    // Restored, it was said to open "all 0" wrapped keys; served, it was taken for a first start:
    // a new hashing key (every admin token and client secret refused) and a second default instance.
    const { file, rootKey } = await served()
    const out = join(tempDir(), 'copy.db')
    await backupDatabase({ db: file, out })
    await server?.close()
    server = undefined
    const edit = new SQLite(out)
    edit.prepare("delete from meta where key in ('root_key_id', 'hash_key')").run()
    edit.close()
    await expect(
      restoreDatabase({
        from: out,
        db: join(tempDir(), 'strongroom.db'),
        env: { STRONGROOM_ROOT_KEY: rootKey },
      }),
    ).rejects.toThrow(/holds instances but has lost the record of its root key and hashing key/)
    await expect(openTestServer('sqlite', { db: `sqlite:${out}` })).rejects.toThrow(
      /holds instances but has lost the record of its root key and hashing key/,
    )
  })

  it('records a root key rotation in the system chain, with the keys’ fingerprints and not the keys', async () => {
    const { file, rootKey } = await served()
    await server?.close()
    server = undefined
    const dir = tempDir()
    const keyFile = join(dir, 'root.key')
    writeFileSync(keyFile, `${rootKey}\n`, { mode: 0o600 })
    const rotated = await rotateRootKey({ db: `sqlite:${file}`, rootKeyFile: keyFile })
    const newKey = readFileSync(rotated.rootKeyFile, 'utf8').trim()
    const db = new SQLite(file, { readonly: true })
    const event = db
      .prepare(
        "select actor_type, actor_id, details from audit_events where instance_id = 'system' and action = 'root_key.rotate'",
      )
      .get() as { actor_type: string; actor_id: string; details: string }
    db.close()
    expect(event).toMatchObject({ actor_type: 'system', actor_id: 'rotate-root-key' })
    const details = JSON.parse(event.details)
    expect(details).toMatchObject({ rewrapped: rotated.rewrapped })
    expect(details.fromRootKeyId).not.toBe(details.toRootKeyId)
    expect(event.details).not.toContain(rootKey)
    expect(event.details).not.toContain(newKey)
    const [system] = verifySqliteChains(file, 'system')
    expect(system).toMatchObject({ ok: true })
  })

  it('removes the temporary copies a crashed backup or restore left beside the target, once an hour old', async () => {
    const { file, rootKey } = await served()
    const outDir = tempDir()
    const out = join(outDir, 'b.db')
    const target = join(tempDir(), 'strongroom.db')
    const hourAgo = (Date.now() - 61 * 60_000) / 1000
    const planted = (path: string) => {
      const stale = join(dirname(path), `.${basename(path)}.tmp-0123456789ab`)
      const fresh = join(dirname(path), `.${basename(path)}.tmp-ba9876543210`)
      const other = join(dirname(path), `.${basename(path)}.tmp-not-ours`)
      for (const p of [stale, fresh, other]) writeFileSync(p, 'a copy of a database', { mode: 0o600 })
      utimesSync(stale, hourAgo, hourAgo)
      utimesSync(other, hourAgo, hourAgo)
      return { stale, fresh, other }
    }
    const beside = planted(out)
    await backupDatabase({ db: file, out })
    expect(existsSync(beside.stale)).toBe(false)
    expect(existsSync(beside.fresh)).toBe(true) // a run may still be writing it
    expect(existsSync(beside.other)).toBe(true) // not a name this command gives
    const atTarget = planted(target)
    await restoreDatabase({ from: out, db: target, env: { STRONGROOM_ROOT_KEY: rootKey } })
    expect(existsSync(atTarget.stale)).toBe(false)
    expect(existsSync(atTarget.fresh)).toBe(true)
  })

  it('checks the root key given in the environment, and refuses another one', async () => {
    const { file, rootKey } = await served()
    const out = join(tempDir(), 'copy.db')
    await backupDatabase({ db: file, out })
    const target = join(tempDir(), 'strongroom.db')
    const other = randomBytes(32).toString('base64')
    await expect(
      restoreDatabase({ from: out, db: target, env: { STRONGROOM_ROOT_KEY: other } }),
    ).rejects.toThrow('the root key does not match this database')
    const restored = await restoreDatabase({ from: out, db: target, env: { STRONGROOM_ROOT_KEY: rootKey } })
    expect(restored.rootKey).toBe('STRONGROOM_ROOT_KEY')
    expect(restored.keysChecked).toBeGreaterThanOrEqual(2) // the hashing key and the instance's data key
  })

  it('moves a write-ahead log left at the target aside with the old database, so it is not replayed into the restore', async () => {
    const { file } = await served()
    const out = join(tempDir(), 'copy.db')
    await backupDatabase({ db: file, out })
    const targetDir = tempDir()
    const target = join(targetDir, 'strongroom.db')
    writeFileSync(`${target}-wal`, 'a log of some other database')
    const restored = await restoreDatabase({
      from: out,
      db: target,
      now: () => Date.UTC(2026, 11, 3, 12, 0, 0),
    })
    expect(restored.previous).toBe(`${target}.before-restore-20261203T120000Z`)
    // Beside them, the server's lock files, which the restore held as a server would.
    expect(readdirSync(targetDir).sort()).toEqual([
      'strongroom.db',
      'strongroom.db.before-restore-20261203T120000Z-wal',
      'strongroom.db.serve-lock',
      'strongroom.db.workers-lock',
    ])
  })
})
