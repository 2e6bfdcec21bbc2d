import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../support/server-process.js'
import { cli, ok, okJson } from './cli.js'

const canary = (what: string) => `CANARY-${what}-${randomBytes(12).toString('hex')}`
const PAM = 'urn:cloud:idaas:pam'

/** The lines of a PEM body: each is 64 random-looking characters no other text should hold. */
const bodyLines = (pem: string) =>
  pem.split('\n').filter((line) => line.length > 0 && !line.startsWith('-----'))

/** Every place a value could leak on disk or in output: the database, its WAL, and the server's logs. */
function leaks(server: ServerProcess, secrets: string[]): string[] {
  const places: [string, Buffer][] = [['logs', Buffer.from(server.logs())]]
  for (const file of ['strongroom.db', 'strongroom.db-wal', 'strongroom.db-shm']) {
    const path = join(server.dataDir, file)
    if (existsSync(path)) places.push([file, readFileSync(path)])
  }
  const found: string[] = []
  for (const secret of secrets) {
    for (const [where, bytes] of places)
      if (bytes.includes(Buffer.from(secret))) found.push(`${secret.slice(0, 24)}… in ${where}`)
  }
  return found
}

describe('planted canary account secrets', () => {
  let server: ServerProcess | undefined
  let dir: string | undefined
  afterEach(async () => {
    await server?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('appear nowhere in the database, its WAL, the server logs (at trace level) or the audit log', async () => {
    server = await startServer({ args: ['--log-level', 'trace'] })
    dir = await mkdtemp(join(tmpdir(), 'strongroom-account-canary-'))
    const secrets = {
      password: canary('password'),
      rotated: canary('rotated'),
      passphrase: canary('passphrase'),
      wrongPassphrase: canary('wrong-passphrase'),
      junkKey: canary('junk-key'),
    }
    // A fresh key encrypted with the canary passphrase (PKCS#8, PBES2): its body is a canary too.
    const { privateKey } = generateKeyPairSync('ed25519')
    const plainPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
    const encryptedPem = privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: secrets.passphrase,
    }) as string
    const files = {
      password: join(dir, 'password'),
      passphrase: join(dir, 'passphrase'),
      wrong: join(dir, 'wrong'),
      key: join(dir, 'id_ed25519'),
      junk: join(dir, 'junk'),
    }
    await writeFile(files.password, secrets.password, { mode: 0o600 })
    await writeFile(files.passphrase, secrets.passphrase, { mode: 0o600 })
    await writeFile(files.wrong, secrets.wrongPassphrase, { mode: 0o600 })
    await writeFile(files.key, encryptedPem, { mode: 0o600 })
    await writeFile(files.junk, `-----BEGIN OPENSSH PRIVATE KEY-----\n${secrets.junkKey}\n`, { mode: 0o600 })

    await ok(server, [
      'account',
      'create',
      'canary-host/root',
      '--password-file',
      files.password,
      '--key-file',
      files.key,
      '--passphrase-file',
      files.passphrase,
      '--requires-reason',
    ])
    await ok(server, ['account', 'set-password', 'canary-host/root'], `${secrets.rotated}\n`)
    // Refused uploads carrying secrets: a wrong passphrase, a key that is not one.
    const wrong = await cli(server, [
      'account',
      'set-ssh-key',
      'canary-host/root',
      '--key-file',
      files.key,
      '--passphrase-file',
      files.wrong,
    ])
    expect(wrong.code).toBe(1)
    const junk = await cli(server, ['account', 'set-ssh-key', 'canary-host/root', '--key-file', files.junk])
    expect(junk.code).toBe(1)
    for (const r of [wrong, junk]) expect(r.stderr + r.stdout).not.toMatch(/CANARY/)

    // Retrievals of each secret, refused and served: the values cross the server both ways.
    const app = await okJson(server, [
      'app',
      'create',
      '--name',
      'canary',
      '--scope',
      `${PAM}|account:obtain`,
    ])
    const secret = (await okJson(server, ['app', 'secret', 'create', app.applicationId]))
      .clientSecret as string
    await ok(server, [
      'grant',
      'create',
      '--app',
      app.applicationId,
      '--type',
      'account',
      '--resource',
      'canary-host/root',
      '--actions',
      'obtain',
    ])
    const v2 = `${server.url}/v2/${app.instanceId}`
    const issued = await fetch(`${v2}/authorizationServer/iauths_system/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: secret,
      }),
    })
    const at = ((await issued.json()) as { access_token: string }).access_token
    const obtain = async (action: string, body: Record<string, unknown>) => {
      const res = await fetch(`${v2}/accounts/_/actions/${action}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${at}`, 'content-type': 'application/json' },
        body: JSON.stringify({ accountName: 'canary-host/root', ...body }),
      })
      return (await res.json()) as Record<string, unknown>
    }
    expect((await obtain('obtainPassword', {})).Code).toBe('ReasonRequired')
    expect((await obtain('obtainPassword', { reason: 'canary drill' })).password).toBe(secrets.rotated)
    const stored = await obtain('obtainSshKey', { reason: 'canary drill' })
    expect(stored).toMatchObject({ key: encryptedPem, passphrase: secrets.passphrase })
    const decrypted = await obtain('obtainSshKey', { reason: 'canary drill', decrypt: true })
    expect(bodyLines(decrypted.key as string)).toEqual(bodyLines(plainPem))

    const planted = [...Object.values(secrets), ...bodyLines(encryptedPem), ...bodyLines(plainPem)]
    const audit = await ok(server, ['audit', 'query', '--json'])
    expect(audit).toContain('account.obtain_ssh_key')
    expect(planted.filter((s) => audit.includes(s))).toEqual([])
    expect(leaks(server, planted)).toEqual([])
    await server.stop()
    expect(leaks(server, planted)).toEqual([])
    server = undefined
  })
})
