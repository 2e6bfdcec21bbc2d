import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  FIXTURE_PASSPHRASE,
  hasSshKeygen,
  openSshPublicKey,
  privateKeyText,
  publicKeyInOpenSshKey,
  publicKeyOf,
  type SshFixture,
  sshKeygenPublicKey,
} from '../../../../../test/fixtures/ssh/ssh-fixtures.js'
import { unarmor } from '../../../src/crypto/ssh-keys/armor.js'
import {
  readSshPrivateKey,
  SshKeyArgumentError,
  SshKeyError,
  writeOpenSshPrivateKey,
} from '../../../src/crypto/ssh-keys/index.js'
import { parseOpenSshEnvelope } from '../../../src/crypto/ssh-keys/openssh-envelope.js'
import { SshWireReader } from '../../../src/crypto/ssh-keys/ssh-wire-reader.js'

const withSshKeygen = hasSshKeygen()
const dir = mkdtempSync(join(tmpdir(), 'strongroom-write-openssh-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** What `ssh-keygen -y` derives from the private key `text`, written 0600 as ssh wants. */
function sshKeygenPublicKeyOf(text: string, name: string): string {
  const file = join(dir, name)
  writeFileSync(file, text, { mode: 0o600 })
  return sshKeygenPublicKey(file)
}

const jwkOf = (key: KeyObject) => key.export({ format: 'jwk' })

/** The private section of an unencrypted OpenSSH key's text. */
function privateSectionOf(text: string): Buffer {
  const envelope = parseOpenSshEnvelope(Buffer.from(unarmor(text).base64, 'base64'))
  expect([envelope.cipherName, envelope.kdfName]).toEqual(['none', 'none'])
  return envelope.privateSection
}

describe('writeOpenSshPrivateKey', () => {
  it('writes the unencrypted fixture byte for byte as ssh-keygen did, given its check int', () => {
    const text = privateKeyText('ed25519-plain')
    const checkInt = privateSectionOf(text).readUInt32BE(0)
    expect(writeOpenSshPrivateKey(readSshPrivateKey(text), { checkInt })).toBe(text)
  })

  it.each(['ed25519-plain', 'ed25519-encrypted', 'ecdsa-p256-encrypted', 'rsa-pkcs8-encrypted'] as const)(
    'round-trips the %s fixture to the same key, which ssh-keygen reads',
    (fixture: SshFixture) => {
      const original = readSshPrivateKey(privateKeyText(fixture), FIXTURE_PASSPHRASE[fixture])
      const written = writeOpenSshPrivateKey(original)
      expect(written).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/)
      expect(publicKeyInOpenSshKey(written)).toBe(publicKeyOf(fixture).publicKey)
      const reread = readSshPrivateKey(written)
      expect(reread).toMatchObject({ format: 'openssh', encrypted: false, keyType: original.keyType })
      expect(reread.fingerprint).toBe(publicKeyOf(fixture).fingerprint)
      expect(reread.comment).toBe(original.comment)
      expect(jwkOf(reread.privateKey)).toEqual(jwkOf(original.privateKey))
      if (withSshKeygen) expect(sshKeygenPublicKeyOf(written, fixture)).toBe(publicKeyOf(fixture).publicKey)
    },
  )

  it.each([
    ['ed25519', () => generateKeyPairSync('ed25519')],
    ['rsa', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['ecdsa-p256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['ecdsa-p384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' })],
    ['ecdsa-p521', () => generateKeyPairSync('ec', { namedCurve: 'P-521' })],
  ] as const)('writes a %s KeyObject that reads back as the same key', (keyType, generate) => {
    const { privateKey } = generate()
    const written = writeOpenSshPrivateKey(privateKey, { comment: `${keyType}@test` })
    const reread = readSshPrivateKey(written)
    expect(reread).toMatchObject({ keyType, comment: `${keyType}@test`, isKeySupported: true })
    expect(jwkOf(reread.privateKey)).toEqual(jwkOf(privateKey))
    const publicKey = openSshPublicKey(privateKey)
    expect(reread.publicKeyOpenSsh).toBe(`${publicKey} ${keyType}@test`)
    if (withSshKeygen) expect(sshKeygenPublicKeyOf(written, keyType)).toBe(publicKey)
  })

  it('lays the key out as PROTOCOL.key says: equal random check ints, padding 1, 2, 3…, 70-column base64', () => {
    for (const [type, options] of [
      ['ed25519', {}],
      ['rsa', { modulusLength: 2048 }],
      ['ec', { namedCurve: 'P-521' }],
    ] as const) {
      const { privateKey } = generateKeyPairSync(type as 'ec', options as { namedCurve: string })
      const first = writeOpenSshPrivateKey(privateKey)
      const lines = first.trimEnd().split('\n')
      const body = lines.slice(1, -1)
      expect(body.slice(0, -1).every((line) => line.length === 70)).toBe(true)
      expect(body.at(-1)!.length).toBeLessThanOrEqual(70)
      expect(lines.at(-1)).toBe('-----END OPENSSH PRIVATE KEY-----')

      const section = privateSectionOf(first)
      expect(section.length % 8).toBe(0)
      const reader = new SshWireReader(section, 'the private section')
      const checkInt = reader.uint32()
      expect(reader.uint32()).toBe(checkInt)
      expect(privateSectionOf(writeOpenSshPrivateKey(privateKey)).readUInt32BE(0)).not.toBe(checkInt)
      // The padding is what follows the empty comment, the last string of the section.
      const comment = Buffer.from('00000000', 'hex')
      const padding = section.subarray(section.lastIndexOf(comment) + 4)
      expect([...padding]).toEqual(Array.from({ length: padding.length }, (_, i) => i + 1))
      expect(padding.length).toBeLessThan(8)
    }
  })

  it("keeps an SshPrivateKey's comment unless told otherwise; a bare KeyObject has none", () => {
    const key = readSshPrivateKey(privateKeyText('ed25519-plain'))
    expect(readSshPrivateKey(writeOpenSshPrivateKey(key)).comment).toBe('plain@host')
    expect(readSshPrivateKey(writeOpenSshPrivateKey(key, { comment: 'other' })).comment).toBe('other')
    expect(readSshPrivateKey(writeOpenSshPrivateKey(key, { comment: '' })).comment).toBeUndefined()
    expect(readSshPrivateKey(writeOpenSshPrivateKey(key.privateKey)).comment).toBeUndefined()
  })

  it('refuses a public key, a check int that is not a uint32, and key types strongroom does not support', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    expect(() => writeOpenSshPrivateKey(publicKey)).toThrow(SshKeyArgumentError)
    expect(() => writeOpenSshPrivateKey('key' as unknown as KeyObject)).toThrow(SshKeyArgumentError)
    for (const checkInt of [-1, 2 ** 32, 1.5])
      expect(() => writeOpenSshPrivateKey(privateKey, { checkInt })).toThrow(SshKeyArgumentError)
    for (const other of [
      generateKeyPairSync('ed448').privateKey,
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey,
      generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).privateKey,
    ]) {
      expect(() => writeOpenSshPrivateKey(other)).toThrow(SshKeyError)
      expect(() => writeOpenSshPrivateKey(other)).toThrow(
        expect.objectContaining({ code: 'UnsupportedKeyType' }),
      )
    }
  })
})
