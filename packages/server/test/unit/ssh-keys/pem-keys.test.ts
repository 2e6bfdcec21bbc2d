import { createPublicKey, sign, verify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  inspectSshPrivateKey,
  readSshPrivateKey,
  type SshKeyType,
} from '../../../src/crypto/ssh-keys/index.js'
import { type KeyDir, makeKeyDir, PASSPHRASE, type SshKeygenType } from './ssh-keygen.js'

// ssh-keygen 9 writes RSA and ECDSA keys as PEM (-m PEM: PKCS#1 / SEC1) and PKCS#8 (-m PKCS8), but
// Ed25519 only in its own format: the Ed25519 PKCS#8 keys come from openssl.
const PEM_TYPES: ReadonlyArray<[SshKeygenType, SshKeyType, 'pkcs1' | 'sec1']> = [
  ['rsa', 'rsa', 'pkcs1'],
  ['ecdsa-256', 'ecdsa-p256', 'sec1'],
  ['ecdsa-384', 'ecdsa-p384', 'sec1'],
  ['ecdsa-521', 'ecdsa-p521', 'sec1'],
]

let keys: KeyDir
const plainKeys = new Map<SshKeygenType, string>()

beforeAll(() => {
  keys = makeKeyDir()
  for (const [type] of PEM_TYPES) plainKeys.set(type, keys.generate(type, type))
})
afterAll(() => keys.remove())

function expectMatchesSshKeygen(text: string, file: string, passphrase?: string) {
  const key = readSshPrivateKey(text, passphrase)
  expect(key.publicKeyOpenSsh.split(' ')[1]).toBe(keys.publicBlob(file, passphrase))
  expect(key.fingerprint).toBe(keys.fingerprint(file, passphrase))
  expect(key.comment).toBeUndefined()
  const message = Buffer.from('privileged access')
  const digest = key.keyType === 'ed25519' ? null : 'sha256'
  expect(
    verify(digest, message, createPublicKey(key.privateKeyPem), sign(digest, message, key.privateKey)),
  ).toBe(true)
  return key
}

describe('PEM private keys', () => {
  describe.each(PEM_TYPES)('%s', (type, keyType, traditional) => {
    it(`reads ssh-keygen -m PEM (${traditional}), plain and legacy-encrypted`, () => {
      const plain = keys.rewrite(plainKeys.get(type)!, `${type}.pem`, { format: 'PEM' })
      const plainText = keys.read(plain)
      expect(plainText).toMatch(keyType === 'rsa' ? /BEGIN RSA PRIVATE KEY/ : /BEGIN EC PRIVATE KEY/)
      expect(expectMatchesSshKeygen(plainText, plain)).toMatchObject({
        format: traditional,
        keyType,
        encrypted: false,
      })

      const encrypted = keys.rewrite(plainKeys.get(type)!, `${type}-enc.pem`, {
        format: 'PEM',
        passphrase: PASSPHRASE,
      })
      const encryptedText = keys.read(encrypted)
      expect(encryptedText).toMatch(/Proc-Type: 4,ENCRYPTED/)
      expect(expectMatchesSshKeygen(encryptedText, encrypted, PASSPHRASE)).toMatchObject({
        format: traditional,
        keyType,
        encrypted: true,
      })
      expect(inspectSshPrivateKey(encryptedText)).toEqual({
        format: traditional,
        encrypted: true,
        cipherSupported: true,
        cipher: 'AES-128-CBC',
      })
      expect(() => readSshPrivateKey(encryptedText, 'not the passphrase')).toThrow(
        expect.objectContaining({ code: 'WrongPassphrase' }),
      )
      expect(() => readSshPrivateKey(encryptedText)).toThrow(
        expect.objectContaining({ code: 'PassphraseRequired' }),
      )
    })

    it('reads ssh-keygen -m PKCS8, plain and encrypted', () => {
      const plain = keys.rewrite(plainKeys.get(type)!, `${type}.p8`, { format: 'PKCS8' })
      const plainText = keys.read(plain)
      expect(plainText).toMatch(/BEGIN PRIVATE KEY/)
      expect(expectMatchesSshKeygen(plainText, plain)).toMatchObject({
        format: 'pkcs8',
        keyType,
        encrypted: false,
      })

      const encrypted = keys.rewrite(plainKeys.get(type)!, `${type}-enc.p8`, {
        format: 'PKCS8',
        passphrase: PASSPHRASE,
      })
      const encryptedText = keys.read(encrypted)
      expect(encryptedText).toMatch(/BEGIN ENCRYPTED PRIVATE KEY/)
      expect(expectMatchesSshKeygen(encryptedText, encrypted, PASSPHRASE)).toMatchObject({
        format: 'pkcs8',
        keyType,
        encrypted: true,
      })
    })
  })

  it('reads openssl-made encrypted PKCS#8 (PBKDF2 and scrypt) and Ed25519 PKCS#8', () => {
    keys.openssl('genpkey', '-algorithm', 'ed25519', '-out', 'ed25519.p8')
    const ed25519 = readSshPrivateKey(keys.read(`${keys.path}/ed25519.p8`))
    expect(ed25519).toMatchObject({ format: 'pkcs8', keyType: 'ed25519', encrypted: false, bits: 256 })
    // ssh-keygen 9 cannot read Ed25519 PKCS#8: build the expected blob from openssl's SPKI instead.
    keys.openssl('pkey', '-in', 'ed25519.p8', '-pubout', '-outform', 'DER', '-out', 'ed25519.spki')
    const rawPublicKey = readFileSync(`${keys.path}/ed25519.spki`).subarray(-32)
    const expectedBlob = Buffer.concat([
      Buffer.from('\0\0\0\x0bssh-ed25519\0\0\0\x20', 'latin1'),
      rawPublicKey,
    ])
    expect(ed25519.publicKeyOpenSsh).toBe(`ssh-ed25519 ${expectedBlob.toString('base64')}`)

    for (const [name, scheme] of [
      ['pbkdf2', ['-v2', 'aes-256-cbc']],
      ['scrypt', ['-scrypt']],
    ] as const) {
      keys.openssl(
        'pkcs8',
        '-topk8',
        '-in',
        'ed25519.p8',
        '-out',
        `${name}.p8`,
        '-passout',
        `pass:${PASSPHRASE}`,
        ...scheme,
      )
      const text = keys.read(`${keys.path}/${name}.p8`)
      expect(text).toMatch(/BEGIN ENCRYPTED PRIVATE KEY/)
      expect(inspectSshPrivateKey(text)).toEqual({ format: 'pkcs8', encrypted: true, cipherSupported: true })
      const key = readSshPrivateKey(text, PASSPHRASE)
      expect(key).toMatchObject({ format: 'pkcs8', keyType: 'ed25519', encrypted: true })
      expect(key.fingerprint).toBe(ed25519.fingerprint)
      expect(() => readSshPrivateKey(text, 'not the passphrase')).toThrow(
        expect.objectContaining({ code: 'WrongPassphrase' }),
      )
    }
  })

  it('reads short RSA keys but reports them as not supported', () => {
    keys.openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'rsa1024.p8')
    const text = keys.read(`${keys.path}/rsa1024.p8`)
    expect(readSshPrivateKey(text)).toMatchObject({
      keyType: 'rsa',
      bits: 1024,
      isKeySupported: false,
      unsupportedReason: 'RSA keys need at least 2048 bits',
    })
    expect(readSshPrivateKey(text, undefined, { minRsaBits: 1024 }).isKeySupported).toBe(true)
  })

  it.each([
    ['Ed448', ['genpkey', '-algorithm', 'ed448']],
    ['X25519', ['genpkey', '-algorithm', 'x25519']],
    ['secp256k1', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1']],
    ['RSA-PSS', ['genpkey', '-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:1024']],
  ])('refuses %s keys as an unsupported key type', (name, args) => {
    keys.openssl(...args, '-out', `${name}.p8`)
    expect(() => readSshPrivateKey(keys.read(`${keys.path}/${name}.p8`))).toThrow(
      expect.objectContaining({ name: 'SshKeyError', code: 'UnsupportedKeyType' }),
    )
  })
})
