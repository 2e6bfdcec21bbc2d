import { createPublicKey, sign, verify } from 'node:crypto'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  inspectSshPrivateKey,
  readSshPrivateKey,
  type SshKeyType,
  type SshPrivateKey,
} from '../../../src/crypto/ssh-keys/index.js'
import { type KeyDir, makeKeyDir, PASSPHRASE, type SshKeygenType } from './ssh-keygen.js'

const KEY_TYPES: ReadonlyArray<[SshKeygenType, SshKeyType, number]> = [
  ['ed25519', 'ed25519', 256],
  ['rsa', 'rsa', 2048],
  ['ecdsa-256', 'ecdsa-p256', 256],
  ['ecdsa-384', 'ecdsa-p384', 384],
  ['ecdsa-521', 'ecdsa-p521', 521],
]

let keys: KeyDir
const plainKeys = new Map<SshKeygenType, string>()

beforeAll(() => {
  keys = makeKeyDir()
  for (const [type] of KEY_TYPES) plainKeys.set(type, keys.generate(type, type))
})
afterAll(() => keys.remove())

/** The checks every key read from `file` must pass against ssh-keygen's own view of it. */
function expectSameKeyAsSshKeygen(key: SshPrivateKey, file: string, passphrase?: string): void {
  const [sshName, blob, ...comment] = key.publicKeyOpenSsh.split(' ')
  expect(blob).toBe(keys.publicBlob(file, passphrase))
  expect(key.fingerprint).toBe(keys.fingerprint(file, passphrase))
  expect(sshName).toMatch(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521))$/)
  if (key.comment !== undefined) expect(comment.join(' ')).toBe(key.comment)

  const fromPem = createPublicKey(key.privateKeyPem)
  const fromPrivate = createPublicKey(key.privateKey)
  expect(fromPem.export({ format: 'jwk' })).toEqual(fromPrivate.export({ format: 'jwk' }))
  expect(key.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/)

  const message = Buffer.from('privileged access')
  const digest = key.keyType === 'ed25519' ? null : 'sha256'
  expect(verify(digest, message, fromPem, sign(digest, message, key.privateKey))).toBe(true)
}

describe('OpenSSH private keys (openssh-key-v1)', () => {
  describe.each(KEY_TYPES)('%s', (type, keyType, bits) => {
    it('reads the unencrypted key exactly as ssh-keygen does', () => {
      const file = plainKeys.get(type)!
      const key = readSshPrivateKey(keys.read(file))
      expect(key).toMatchObject({ format: 'openssh', keyType, bits, encrypted: false, isKeySupported: true })
      expect(key.comment).toBe(`${type}@strongroom-test`)
      expectSameKeyAsSshKeygen(key, file)
    })

    it('decrypts the key encrypted with a passphrase (aes256-ctr, bcrypt)', () => {
      const file = keys.rewrite(plainKeys.get(type)!, `${type}-encrypted`, { passphrase: PASSPHRASE })
      const key = readSshPrivateKey(keys.read(file), PASSPHRASE)
      expect(key).toMatchObject({ format: 'openssh', keyType, bits, encrypted: true, isKeySupported: true })
      expectSameKeyAsSshKeygen(key, file, PASSPHRASE)
      expect(key.fingerprint).toBe(readSshPrivateKey(keys.read(plainKeys.get(type)!)).fingerprint)
    })
  })

  it.each([
    'aes128-ctr',
    'aes192-ctr',
    'aes256-ctr',
    'aes128-cbc',
    'aes192-cbc',
    'aes256-cbc',
    'aes128-gcm@openssh.com',
    'aes256-gcm@openssh.com',
    'chacha20-poly1305@openssh.com',
  ])('decrypts a key encrypted with %s, and refuses a wrong passphrase', (cipher) => {
    const file = keys.rewrite(plainKeys.get('ecdsa-256')!, `cipher-${cipher}`, {
      passphrase: PASSPHRASE,
      cipher,
    })
    const text = keys.read(file)
    expect(inspectSshPrivateKey(text)).toMatchObject({ cipher, kdf: 'bcrypt', cipherSupported: true })
    expectSameKeyAsSshKeygen(readSshPrivateKey(text, PASSPHRASE), file, PASSPHRASE)
    expect(() => readSshPrivateKey(text, `${PASSPHRASE}!`)).toThrow(
      expect.objectContaining({ code: 'WrongPassphrase' }),
    )
  })

  it('honours the KDF rounds written in the key, within the allowed maximum', () => {
    const file = keys.rewrite(plainKeys.get('ed25519')!, 'rounds-4', { passphrase: PASSPHRASE, rounds: 4 })
    const text = keys.read(file)
    expect(inspectSshPrivateKey(text).kdfRounds).toBe(4)
    expectSameKeyAsSshKeygen(readSshPrivateKey(text, PASSPHRASE), file, PASSPHRASE)
    expect(() => readSshPrivateKey(text, PASSPHRASE, { maxKdfRounds: 3 })).toThrow(
      expect.objectContaining({ code: 'KdfTooExpensive' }),
    )
  })

  it('accepts the passphrase as bytes and leaves the caller’s buffer intact', () => {
    const file = keys.rewrite(plainKeys.get('ed25519')!, 'bytes-passphrase', { passphrase: PASSPHRASE })
    const passphrase = Buffer.from(PASSPHRASE)
    const key = readSshPrivateKey(Buffer.from(keys.read(file)), passphrase)
    expect(key.keyType).toBe('ed25519')
    expect(passphrase.toString()).toBe(PASSPHRASE)
  })

  it('shows the public key and fingerprint of an encrypted key without its passphrase', () => {
    const file = keys.rewrite(plainKeys.get('ecdsa-384')!, 'inspect', { passphrase: PASSPHRASE })
    const metadata = inspectSshPrivateKey(keys.read(file))
    expect(metadata).toEqual({
      format: 'openssh',
      encrypted: true,
      cipherSupported: true,
      cipher: 'aes256-ctr',
      kdf: 'bcrypt',
      kdfRounds: 16,
      keyType: 'ecdsa-p384',
      bits: 384,
      publicKeyOpenSsh: `ecdsa-sha2-nistp384 ${keys.publicBlob(file, PASSPHRASE)}`,
      fingerprint: keys.fingerprint(file, PASSPHRASE),
    })
  })

  it('shows everything but the secret of an unencrypted key', () => {
    const metadata = inspectSshPrivateKey(keys.read(plainKeys.get('ed25519')!))
    expect(metadata).toMatchObject({
      format: 'openssh',
      encrypted: false,
      keyType: 'ed25519',
      comment: 'ed25519@strongroom-test',
    })
    expect(JSON.stringify(metadata)).not.toMatch(/PRIVATE/)
  })

  it('never prints the private key: inspect and JSON show [REDACTED]', () => {
    const key = readSshPrivateKey(keys.read(plainKeys.get('ed25519')!))
    const pemBody = key.privateKeyPem.split('\n')[1]!
    const seed = key.privateKey.export({ format: 'jwk' }).d!
    for (const shown of [inspect(key, { depth: 10, showHidden: true }), JSON.stringify(key), String(key)]) {
      expect(shown).not.toContain(pemBody)
      expect(shown).not.toContain(seed)
    }
    expect(JSON.parse(JSON.stringify(key))).toMatchObject({
      privateKey: '[REDACTED]',
      privateKeyPem: '[REDACTED]',
    })
    expect(inspect(key)).toContain('[REDACTED]')
    expect(Object.keys(key)).not.toContain('privateKeyPem')
    expect({ ...key }).not.toHaveProperty('privateKeyPem')
  })
})
