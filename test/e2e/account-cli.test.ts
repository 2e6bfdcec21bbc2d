import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { publicKeyOf, SSH_FIXTURES } from '../fixtures/ssh/ssh-fixtures.js'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { cli, ok, okJson } from './cli.js'

const PASSWORD = 'cli-account-password-4c7d'
const ROTATED = 'cli-account-rotated-a913'

describe('strongroom account …', () => {
  let server: ServerProcess
  let dir: string
  const file = (name: string, text: string) => writeFile(join(dir, name), text, { mode: 0o600 })
  const key = (name: string) => join(SSH_FIXTURES, name)

  beforeAll(async () => {
    server = await startServer()
    dir = await mkdtemp(join(tmpdir(), 'strongroom-account-cli-'))
    await file('password', `${PASSWORD}\n`)
    await file('passphrase', 'pass\n')
    await file('wrong-passphrase', 'wrong-passphrase-0e5b\n')
    await file('junk-key', 'this-is-no-key-5b2a\n')
  })
  afterAll(async () => {
    await server?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('creates accounts with secrets from files, stdin and key files, never printing them', async () => {
    const created = await okJson(server, [
      'account',
      'create',
      'DB-SERVER/admin',
      '--password-file',
      join(dir, 'password'),
      '--key-file',
      key('ed25519-encrypted'),
      '--passphrase-file',
      join(dir, 'passphrase'),
      '--requires-reason',
      '--description',
      'primary database',
    ])
    expect(created).toMatchObject({
      accountName: 'DB-SERVER/admin',
      target: 'DB-SERVER',
      account: 'admin',
      requiresReason: true,
      hasPassword: true,
      hasKey: true,
      isKeySupported: true,
      currentVersion: 1,
      sshKey: { ...publicKeyOf('ed25519-encrypted'), fileName: 'ed25519-encrypted', encrypted: true },
    })
    // The password on stdin; the human view shows the key's public facts only.
    const human = await ok(server, ['account', 'create', 'web-01/deploy', '--password'], `${PASSWORD}\n`)
    expect(human).toMatch(/Name\s+web-01\/deploy/)
    expect(human).not.toContain(PASSWORD)
    // A key whose passphrase comes on stdin, under another file name.
    const ecdsa = await okJson(
      server,
      [
        'account',
        'create',
        'web-01/ecdsa',
        '--key-file',
        key('ecdsa-p256-encrypted'),
        '--passphrase',
        '--file-name',
        'id_ecdsa',
      ],
      'pass\n',
    )
    expect(ecdsa).toMatchObject({
      hasPassword: false,
      isKeySupported: true,
      sshKey: { fileName: 'id_ecdsa' },
    })
    const shown = await ok(server, ['account', 'show', 'DB-SERVER/admin'])
    expect(shown).toContain(publicKeyOf('ed25519-encrypted').fingerprint)
    expect(shown).toMatch(/Requires reason\s+yes/)
    expect(shown).not.toMatch(/PRIVATE KEY|cli-account-password/)
  })

  it('refuses bad keys, wrong passphrases and ambiguous input without echoing a secret', async () => {
    const junk = await cli(server, ['account', 'create', 'bad/junk', '--key-file', join(dir, 'junk-key')])
    expect(junk.code).toBe(1)
    expect(junk.stderr).toMatch(/^strongroom: InvalidParameter\.SshKey: .*field sshKey\.key/)
    expect(junk.stderr).not.toContain('this-is-no-key')
    const wrong = await cli(server, [
      'account',
      'create',
      'bad/wrong',
      '--key-file',
      key('ed25519-encrypted'),
      '--passphrase-file',
      join(dir, 'wrong-passphrase'),
    ])
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/InvalidParameter\.SshKey: .*field sshKey\.passphrase/)
    expect(wrong.stderr).not.toContain('wrong-passphrase-0e5b')
    const twoOnStdin = await cli(
      server,
      ['account', 'create', 'bad/two', '--password', '--key-file', key('ed25519-encrypted'), '--passphrase'],
      'x\n',
    )
    expect(twoOnStdin.code).toBe(2)
    expect(twoOnStdin.stderr).toContain('only one secret can come from stdin')
    const noKey = await cli(server, [
      'account',
      'create',
      'bad/nokey',
      '--passphrase-file',
      join(dir, 'passphrase'),
    ])
    expect(noKey.code).toBe(2)
    const taken = await cli(server, ['account', 'create', 'DB-SERVER/admin'])
    expect(taken.code).toBe(1)
    expect(taken.stderr).toContain('AccountNameExists')
    const missing = await cli(server, ['account', 'show', 'DB-SERVER/nobody'])
    expect(missing.stderr).toContain('AccountNotFound')
    expect((await okJson(server, ['account', 'list', '--prefix', 'bad/'])).length).toBe(0)
  })

  it('lists, shows by id, updates, disables and enables', async () => {
    const listed = await okJson(server, ['account', 'list'])
    // In creation order: first the demo account every first start makes, then this test's.
    expect(listed[0].accountName).toBe('demo-db/admin')
    const all = listed.slice(1)
    expect(all.map((a: { accountName: string }) => a.accountName)).toEqual([
      'DB-SERVER/admin',
      'web-01/deploy',
      'web-01/ecdsa',
    ])
    const web = await okJson(server, ['account', 'list', '--prefix', 'web-01/', '--limit', '1'])
    expect(web.map((a: { accountName: string }) => a.accountName)).toEqual(['web-01/deploy'])
    const table = await ok(server, ['account', 'list'])
    expect(table.split('\n')[0]).toMatch(/^ACCOUNT ID\s+NAME\s+STATUS/)
    const byId = await okJson(server, ['account', 'show', all[0].accountId])
    expect(byId.accountName).toBe('DB-SERVER/admin')
    const updated = await okJson(server, [
      'account',
      'update',
      'DB-SERVER/admin',
      '--display-name',
      'DB admin',
      '--no-requires-reason',
    ])
    expect(updated).toMatchObject({
      displayName: 'DB admin',
      requiresReason: false,
      description: 'primary database',
    })
    expect((await cli(server, ['account', 'update', 'DB-SERVER/admin'])).code).toBe(2)
    expect((await okJson(server, ['account', 'disable', 'web-01/deploy'])).status).toBe('disabled')
    expect((await okJson(server, ['account', 'enable', 'web-01/deploy'])).status).toBe('enabled')
  })

  it('rotates the password and the key, removes each, and lists the versions', async () => {
    const a = 'web-01/deploy'
    expect(await okJson(server, ['account', 'set-password', a], `${ROTATED}\n`)).toMatchObject({
      currentVersion: 2,
      hasPassword: true,
      hasKey: false,
    })
    const keyed = await okJson(server, [
      'account',
      'set-ssh-key',
      a,
      '--key-file',
      key('ed25519-encrypted'),
      '--passphrase-file',
      join(dir, 'passphrase'),
    ])
    expect(keyed).toMatchObject({ currentVersion: 3, hasPassword: true, hasKey: true, isKeySupported: true })
    // Without its passphrase the key is kept as it is: handed out as stored, never decrypted.
    const locked = await okJson(server, ['account', 'set-ssh-key', a, '--key-file', key('ed25519-encrypted')])
    expect(locked).toMatchObject({ currentVersion: 4, isKeySupported: false, sshKey: { encrypted: true } })
    expect(await okJson(server, ['account', 'remove-password', a])).toMatchObject({
      currentVersion: 5,
      hasPassword: false,
      hasKey: true,
    })
    expect(await okJson(server, ['account', 'remove-ssh-key', a])).toMatchObject({
      currentVersion: 6,
      hasKey: false,
      sshKey: null,
    })
    const versions = await okJson(server, ['account', 'versions', a])
    expect(
      versions.map((v: { version: number; hasPassword: boolean; hasKey: boolean }) => [
        v.version,
        v.hasPassword,
        v.hasKey,
      ]),
    ).toEqual([
      [6, false, false],
      [5, false, true],
      [4, true, true],
      [3, true, true],
      [2, true, false],
      [1, true, false],
    ])
    expect(await ok(server, ['account', 'versions', a, '--limit', '2'])).toMatch(
      /^VERSION\s+CURRENT\s+PASSWORD\s+KEY/,
    )
    const events = await okJson(server, ['audit', 'query', '--action', 'account.rotate'])
    expect(events).toHaveLength(5)
    expect(JSON.stringify(events)).not.toMatch(/cli-account|PRIVATE KEY|"pass"/)
    expect(server.logs()).not.toMatch(/cli-account-password|cli-account-rotated|wrong-passphrase-0e5b/)
  })
})
