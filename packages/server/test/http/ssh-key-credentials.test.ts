import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, openTestServer, type TestServer } from '../support/engines.js'
import { privateKeyText } from './accounts-fixtures.js'

const NOT_A_KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nbm90LWEta2V5LWNhbmFyeQ==\n-----END OPENSSH PRIVATE KEY-----\n'

describe('ssh_key credentials', () => {
  let t: TestServer
  const i = () => `/admin/v1/instances/${t.instanceId}`
  const create = (credentialIdentifier: string, value: Record<string, string>) =>
    call(t, 'POST', `${i()}/credentials`, { credentialIdentifier, credentialType: 'ssh_key', value })
  beforeAll(async () => {
    t = await openTestServer('sqlite')
  })
  afterAll(async () => t?.close())

  it('refuses a private key that is not one, as accounts do, naming value.privateKey and never echoing it', async () => {
    for (const privateKey of [NOT_A_KEY, 'not a key at all: bm90LWEta2V5LWNhbmFyeQ']) {
      const res = await create('ssh/bad', { privateKey })
      expect(res.status).toBe(400)
      expect(res.body).toMatchObject({ Code: 'InvalidParameter.SshKey', field: 'value.privateKey' })
      expect(JSON.stringify(res.body)).not.toContain('bm90LWEta2V5LWNhbmFyeQ')
    }
    expect((await call(t, 'GET', `${i()}/credentials/ssh%2Fbad`)).status).toBe(404)
  })

  it('refuses a wrong passphrase, or one for an unencrypted key, naming value.passphrase', async () => {
    const wrong = await create('ssh/wrong', {
      privateKey: privateKeyText('ed25519-encrypted'),
      passphrase: 'nope-canary',
    })
    expect(wrong.status).toBe(400)
    expect(wrong.body).toMatchObject({ field: 'value.passphrase', rule: 'does not decrypt the key' })
    expect(JSON.stringify(wrong.body)).not.toContain('nope-canary')
    const needless = await create('ssh/needless', {
      privateKey: privateKeyText('ed25519-plain'),
      passphrase: 'x',
    })
    expect(needless.body).toMatchObject({ field: 'value.passphrase' })
  })

  it('stores real keys as given, and checks a rotated version the same way', async () => {
    const plain = privateKeyText('ed25519-plain')
    const created = await create('ssh/good', { privateKey: plain })
    expect(created.status).toBe(201)
    const encrypted = await create('ssh/encrypted', {
      privateKey: privateKeyText('ed25519-encrypted'),
      passphrase: 'pass',
    })
    expect(encrypted.status).toBe(201)
    const rotated = await call(t, 'POST', `${i()}/credentials/ssh%2Fgood/versions`, {
      value: { privateKey: NOT_A_KEY },
    })
    expect(rotated.status).toBe(400)
    expect(rotated.body).toMatchObject({ field: 'value.privateKey' })
    const revealed = await call(t, 'POST', `${i()}/credentials/ssh%2Fgood/reveal`, {})
    expect(revealed.body).toMatchObject({ version: 1, value: { privateKey: plain } })
    const ok = await call(t, 'POST', `${i()}/credentials/ssh%2Fgood/versions`, {
      value: { privateKey: privateKeyText('ed25519-encrypted'), passphrase: 'pass' },
    })
    expect(ok.status).toBe(201)
    expect(ok.body.currentVersion).toBe(2)
  })
})
