import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  inspectSshPrivateKey,
  isSupportedSshKey,
  readSshPrivateKey,
  SshKeyArgumentError,
  SshKeyError,
  type SshKeyErrorCode,
} from '../../../src/crypto/ssh-keys/index.js'
import { type KeyDir, makeKeyDir, PASSPHRASE } from './ssh-keygen.js'

let keys: KeyDir
let plain: string
let encrypted: string
let plainBody: string[]

beforeAll(() => {
  keys = makeKeyDir()
  const file = keys.generate('ed25519', 'ed25519')
  plain = keys.read(file)
  encrypted = keys.read(keys.rewrite(file, 'encrypted', { passphrase: PASSPHRASE, rounds: 2 }))
  plainBody = plain.split('\n').filter((line) => line !== '' && !line.startsWith('-----'))
})
afterAll(() => keys.remove())

/** The error `read` throws, checked to be ours and free of the passphrase and the key's text. */
function refusal(read: () => unknown): SshKeyError {
  let thrown: unknown
  try {
    read()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(SshKeyError)
  const error = thrown as SshKeyError
  const shown = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`
  expect(shown).not.toContain(PASSPHRASE)
  expect(shown).not.toContain('wrong horse')
  for (const line of plainBody) expect(shown).not.toContain(line.slice(0, 24))
  return error
}

const codeOf = (read: () => unknown): SshKeyErrorCode => refusal(read).code

/** `openssh-key-v1` binary with the given fields, armored. */
function openSshKey(fields: {
  cipher?: string
  kdf?: string
  kdfOptions?: Buffer
  publicKey: Buffer
  section: Buffer
}) {
  const string = (value: Buffer | string) => {
    const bytes = Buffer.from(value)
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.length)
    return Buffer.concat([length, bytes])
  }
  const binary = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    string(fields.cipher ?? 'none'),
    string(fields.kdf ?? 'none'),
    string(fields.kdfOptions ?? Buffer.alloc(0)),
    Buffer.of(0, 0, 0, 1),
    string(fields.publicKey),
    string(fields.section),
  ])
  return armor(binary)
}

function armor(binary: Buffer): string {
  const lines = binary.toString('base64').match(/.{1,70}/g) ?? []
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`
}

function binaryOf(text: string): Buffer {
  return Buffer.from(
    text
      .split('\n')
      .filter((line) => !line.startsWith('-----'))
      .join(''),
    'base64',
  )
}

describe('keys that are refused', () => {
  it('a wrong passphrase: WrongPassphrase, without the passphrase in the message', () => {
    expect(codeOf(() => readSshPrivateKey(encrypted, 'wrong horse'))).toBe('WrongPassphrase')
    expect(isSupportedSshKey(encrypted, 'wrong horse')).toBe(false)
    expect(isSupportedSshKey(encrypted, PASSPHRASE)).toBe(true)
  })

  it('no passphrase for an encrypted key: PassphraseRequired (an empty one counts as none)', () => {
    expect(codeOf(() => readSshPrivateKey(encrypted))).toBe('PassphraseRequired')
    expect(codeOf(() => readSshPrivateKey(encrypted, ''))).toBe('PassphraseRequired')
    expect(isSupportedSshKey(encrypted)).toBe(false)
  })

  it('a passphrase given for an unencrypted key is ignored, as ssh-keygen does', () => {
    expect(readSshPrivateKey(plain, 'anything').encrypted).toBe(false)
  })

  it.each([
    ['', 'UnrecognisedKeyFormat', /no -----BEGIN/],
    ['hello, world', 'UnrecognisedKeyFormat', /not a PEM or OpenSSH private key/],
    ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== me@host', 'UnrecognisedKeyFormat', /public key/],
    ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', 'UnrecognisedKeyFormat', /public key/],
    ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', 'UnrecognisedKeyFormat', /certificate/],
    ['PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n', 'UnrecognisedKeyFormat', /PuTTY/],
    ['---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\n', 'UnrecognisedKeyFormat', /SSH2/],
    ['-----BEGIN DSA PRIVATE KEY-----\nAAAA\n-----END DSA PRIVATE KEY-----', 'UnsupportedKeyType', /DSA/],
    ['-----BEGIN PGP PRIVATE KEY BLOCK-----\nAAAA\n', 'UnrecognisedKeyFormat', /not a supported/],
    ['-----BEGIN PRIVATE KEY-----\nAAAA\n', 'MalformedKey', /no END line/],
    ['-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----', 'MalformedKey', /base64/],
    ['-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----', 'MalformedKey', /malformed/],
    [
      '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----',
      'MalformedKey',
      /openssh-key-v1/,
    ],
  ] as const)('garbage %j: %s', (text, code, message) => {
    const error = refusal(() => readSshPrivateKey(text))
    expect(error.code).toBe(code)
    expect(error.message).toMatch(message)
  })

  it('truncated keys: MalformedKey, whether the END line survives or not', () => {
    const lines = plain.trimEnd().split('\n')
    for (let keep = 1; keep < lines.length - 1; keep++) {
      const cut = lines.slice(0, keep)
      expect(codeOf(() => readSshPrivateKey(`${cut.join('\n')}\n`))).toBe('MalformedKey')
      expect(codeOf(() => readSshPrivateKey(`${cut.join('\n')}\n${lines.at(-1)}\n`))).toBe('MalformedKey')
    }
    const binary = binaryOf(encrypted)
    for (let length = 0; length < binary.length; length += 7)
      expect(refusal(() => readSshPrivateKey(armor(binary.subarray(0, length)), PASSPHRASE)).code).toBe(
        'MalformedKey',
      )
  })

  it('an unsupported cipher (3des-cbc): UnsupportedCipher, and inspect says so', () => {
    const file = keys.rewrite(`${keys.path}/ed25519`, '3des', {
      passphrase: PASSPHRASE,
      cipher: '3des-cbc',
      rounds: 2,
    })
    const text = keys.read(file)
    const error = refusal(() => readSshPrivateKey(text, PASSPHRASE))
    expect(error.code).toBe('UnsupportedCipher')
    expect(error.message).toMatch(/"3des-cbc".*not supported/)
    expect(inspectSshPrivateKey(text)).toMatchObject({
      cipher: '3des-cbc',
      cipherSupported: false,
      keyType: 'ed25519',
    })
  })

  it('an unknown KDF or key type: UnsupportedKdf, UnsupportedKeyType', () => {
    const realPublicKey = Buffer.from(readSshPrivateKey(plain).publicKeyOpenSsh.split(' ')[1]!, 'base64')
    const section = Buffer.alloc(16)
    const scrypt = openSshKey({ cipher: 'aes256-ctr', kdf: 'scrypt', publicKey: realPublicKey, section })
    expect(codeOf(() => readSshPrivateKey(scrypt, 'x'))).toBe('UnsupportedKdf')
    for (const type of [
      'ssh-dss',
      'sk-ssh-ed25519@openssh.com',
      'ssh-ed25519-cert-v01@openssh.com',
      '\u0000evil\n',
    ]) {
      const blob = Buffer.concat([Buffer.of(0, 0, 0, Buffer.byteLength(type)), Buffer.from(type)])
      const error = refusal(() => readSshPrivateKey(openSshKey({ publicKey: blob, section })))
      expect(error.code).toBe('UnsupportedKeyType')
      expect(error.message).not.toContain('evil')
    }
  })

  it('a private key that does not belong to the public key in the envelope: MalformedKey', () => {
    const other = readSshPrivateKey(keys.read(keys.generate('other', 'ed25519')))
    const binary = binaryOf(plain)
    const ownBlob = Buffer.from(readSshPrivateKey(plain).publicKeyOpenSsh.split(' ')[1]!, 'base64')
    const otherBlob = Buffer.from(other.publicKeyOpenSsh.split(' ')[1]!, 'base64')
    const swapped = Buffer.from(binary)
    swapped.set(otherBlob, binary.indexOf(ownBlob))
    const error = refusal(() => readSshPrivateKey(armor(swapped)))
    expect(error.code).toBe('MalformedKey')
    expect(error.message).toMatch(/does not match|inconsistent/)
  })

  it('flipped bits in an encrypted key give SshKeyError, or at most a changed comment', () => {
    const binary = binaryOf(encrypted)
    const original = readSshPrivateKey(encrypted, PASSPHRASE)
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: binary.length - 1 }),
        fc.integer({ min: 0, max: 7 }),
        (at, bit) => {
          const damaged = Buffer.from(binary)
          damaged[at]! ^= 1 << bit
          let key: ReturnType<typeof readSshPrivateKey> | undefined
          try {
            key = readSshPrivateKey(armor(damaged), PASSPHRASE, { maxKdfRounds: 4 })
          } catch (error) {
            expect(error).toBeInstanceOf(SshKeyError)
          }
          // aes256-ctr is malleable and OpenSSH's format has no MAC: a flip inside the encrypted
          // comment goes unnoticed (ssh-keygen accepts it too), but never a flip in the key itself.
          if (key !== undefined) {
            expect(key.fingerprint).toBe(original.fingerprint)
            expect(key.privateKeyPem).toBe(original.privateKeyPem)
            expect(key.comment).not.toBe(original.comment)
          }
        },
      ),
      { numRuns: 40 },
    )
  })

  it('random strings and bytes only ever raise SshKeyError', () => {
    const ours = (read: () => unknown) => {
      try {
        read()
      } catch (error) {
        if (!(error instanceof SshKeyError)) throw error
      }
    }
    const armored = (label: string) =>
      fc
        .uint8Array({ maxLength: 600 })
        .map(
          (bytes) =>
            `-----BEGIN ${label}-----\n${Buffer.from(bytes).toString('base64')}\n-----END ${label}-----\n`,
        )
    const afterMagic = fc
      .uint8Array({ maxLength: 400 })
      .map((bytes) => armor(Buffer.concat([Buffer.from('openssh-key-v1\0'), bytes])))
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.uint8Array({ maxLength: 300 }),
          armored('OPENSSH PRIVATE KEY'),
          armored('PRIVATE KEY'),
          armored('ENCRYPTED PRIVATE KEY'),
          armored('RSA PRIVATE KEY'),
          armored('EC PRIVATE KEY'),
          afterMagic,
        ),
        fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
        (text, passphrase) => {
          ours(() => readSshPrivateKey(text, passphrase, { maxKdfRounds: 2 }))
          ours(() => inspectSshPrivateKey(text, { maxKdfRounds: 2 }))
          expect(typeof isSupportedSshKey(text, passphrase, { maxKdfRounds: 2 })).toBe('boolean')
        },
      ),
      { numRuns: 400 },
    )
  })

  it('arguments of the wrong type are a programming error (SshKeyArgumentError, a TypeError)', () => {
    expect(() => readSshPrivateKey(42 as never)).toThrow(SshKeyArgumentError)
    expect(() => readSshPrivateKey(plain, 42 as never)).toThrow(TypeError)
    expect(() => readSshPrivateKey(plain, undefined, { maxKdfRounds: 0 })).toThrow(SshKeyArgumentError)
  })
})
