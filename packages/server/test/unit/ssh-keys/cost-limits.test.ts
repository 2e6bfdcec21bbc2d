import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto'
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  DEFAULT_MAX_PBKDF2_ITERATIONS,
  DEFAULT_MAX_SCRYPT_MEMORY_BYTES,
  DEFAULT_MAX_SCRYPT_N,
  DEFAULT_MAX_SCRYPT_P,
  DEFAULT_MAX_SCRYPT_R,
  inspectSshPrivateKey,
  MAX_RSA_BITS,
  readSshPrivateKey,
  readSshPrivateKeyAsync,
  SshKeyArgumentError,
  SshKeyError,
  writeOpenSshPrivateKey,
} from '../../../src/crypto/ssh-keys/index.js'
import { sshKeyReadsRunning } from '../../../src/crypto/ssh-keys/ssh-key-workers.js'
import {
  derInteger,
  encryptedPkcs8,
  forgedRsa,
  openSshRsaKey,
  type Pkcs8Kdf,
  pbkdf2Parameters,
  pkcs1Pem,
} from './forged-keys.js'

// node:crypto as it is, but counted: a PKCS#8 key's KDF runs inside createPrivateKey (OpenSSL decrypts
// while it decodes), and an OpenSSH key's pairwise check is a sign. A refusal that never called them
// ran neither.
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>()
  return { ...original, createPrivateKey: vi.fn(original.createPrivateKey), sign: vi.fn(original.sign) }
})

const PASSPHRASE = 'correct horse battery staple'
let ed25519: ReturnType<typeof generateKeyPairSync>['privateKey']

beforeAll(() => {
  ed25519 = generateKeyPairSync('ed25519').privateKey
})
beforeEach(() => {
  vi.mocked(createPrivateKey).mockClear()
  vi.mocked(sign).mockClear()
})

/** The SshKeyError `read` throws, checked to hold neither the passphrase nor the key's text. */
function refusal(read: () => unknown, text: string): SshKeyError {
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
  for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('-----')))
    expect(shown).not.toContain(line.slice(0, 24))
  return error
}

/** A PKCS#8 key with `kdf`, refused by every reader with KdfTooExpensive, before any KDF work. */
async function expectRefusedBeforeKdf(kdf: Pkcs8Kdf, message: RegExp, options = {}): Promise<void> {
  const text = encryptedPkcs8(ed25519, PASSPHRASE, kdf, { derive: false })
  vi.mocked(createPrivateKey).mockClear()
  const error = refusal(() => readSshPrivateKey(text, PASSPHRASE, options), text)
  expect(error.code).toBe('KdfTooExpensive')
  expect(error.message).toMatch(message)
  expect(createPrivateKey).not.toHaveBeenCalled()
  // The async reader refuses it on this thread: no worker is started for it.
  const read = readSshPrivateKeyAsync(text, PASSPHRASE, options)
  expect(sshKeyReadsRunning()).toBe(0)
  await expect(read).rejects.toMatchObject({ name: 'SshKeyError', code: 'KdfTooExpensive' })
  expect(createPrivateKey).not.toHaveBeenCalled()
}

function expectReads(text: string, options = {}): void {
  const key = readSshPrivateKey(text, PASSPHRASE, options)
  expect(key).toMatchObject({ format: 'pkcs8', keyType: 'ed25519', encrypted: true })
  expect(key.privateKeyPem).toBe(ed25519.export({ type: 'pkcs8', format: 'pem' }))
}

describe('encrypted PKCS#8: PBKDF2 iterations', () => {
  it('defaults to at most 1,000,000: ~500 times what ssh-keygen, OpenSSL 3 and node:crypto write', () => {
    expect(DEFAULT_MAX_PBKDF2_ITERATIONS).toBe(1_000_000)
    // node:crypto's own export writes the count OpenSSL 3 and ssh-keygen -m PKCS8 write: 2048.
    const exported = ed25519.export({
      type: 'pkcs8',
      format: 'der',
      cipher: 'aes-256-cbc',
      passphrase: PASSPHRASE,
    })
    expect(exported.includes(derInteger(2048n))).toBe(true)
    const text = ed25519.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: PASSPHRASE,
    })
    expectReads(text as string)
    expectReads(encryptedPkcs8(ed25519, PASSPHRASE, { pbkdf2: 2048n }))
  })

  it.each([
    [1_000_001n, /1000001 PBKDF2 iterations, more than the 1000000 allowed/],
    [2n ** 31n - 1n, /2147483647 PBKDF2 iterations/],
    [10n ** 40n, /more than 9007199254740991 PBKDF2 iterations, more than the 1000000 allowed/],
  ])('refuses %s iterations before any KDF work', async (iterations, message) => {
    await expectRefusedBeforeKdf({ pbkdf2: iterations }, message)
  })

  it('honours maxPbkdf2Iterations: a key at the limit is read, one iteration more is refused', async () => {
    const text = encryptedPkcs8(ed25519, PASSPHRASE, { pbkdf2: 3000n })
    expectReads(text, { maxPbkdf2Iterations: 3000 })
    await expectRefusedBeforeKdf({ pbkdf2: 3000n }, /3000 PBKDF2 iterations, more than the 2999 allowed/, {
      maxPbkdf2Iterations: 2999,
    })
    // And the async reader runs an accepted one on a worker, with the same limits.
    const read = readSshPrivateKeyAsync(text, PASSPHRASE, { maxPbkdf2Iterations: 3000 })
    expect(sshKeyReadsRunning()).toBe(1)
    expect((await read).fingerprint).toBe(readSshPrivateKey(text, PASSPHRASE).fingerprint)
  })

  it.each([
    ['zero', Buffer.of(0)],
    ['negative', Buffer.of(0xff)],
    ['empty', Buffer.alloc(0)],
  ])('a %s iteration count is MalformedKey, before any KDF work', (_, raw) => {
    const text = encryptedPkcs8(
      ed25519,
      PASSPHRASE,
      { pbkdf2Parameters: pbkdf2Parameters(derInteger({ raw })) },
      { derive: false },
    )
    const error = refusal(() => readSshPrivateKey(text, PASSPHRASE), text)
    expect(error).toMatchObject({ code: 'MalformedKey', message: expect.stringMatching(/iteration count/) })
    expect(createPrivateKey).not.toHaveBeenCalled()
  })
})

describe('encrypted PKCS#8: scrypt parameters', () => {
  it('defaults to N ≤ 2^20, r ≤ 32, p ≤ 16 and 32 MiB, and reads what OpenSSL writes (2^14, 8, 1)', () => {
    expect([DEFAULT_MAX_SCRYPT_N, DEFAULT_MAX_SCRYPT_R, DEFAULT_MAX_SCRYPT_P]).toEqual([2 ** 20, 32, 16])
    expect(DEFAULT_MAX_SCRYPT_MEMORY_BYTES).toBe(32 * 1024 * 1024)
    expectReads(encryptedPkcs8(ed25519, PASSPHRASE, { scrypt: { n: 2n ** 14n, r: 8n, p: 1n } }))
  })

  it('counts memory as OpenSSL does: what it decrypts is read, one step more is refused', async () => {
    // 128·r·(N + p + 2): 30.0 MiB for r = 15 (OpenSSL 3 decrypts it), 32.0 MiB and a little for r = 16.
    expectReads(encryptedPkcs8(ed25519, PASSPHRASE, { scrypt: { n: 2n ** 14n, r: 15n, p: 1n } }))
    await expectRefusedBeforeKdf(
      { scrypt: { n: 2n ** 14n, r: 16n, p: 1n } },
      /scrypt needing 32.1 MiB of memory \(N = 16384, r = 16, p = 1\), more than the 32 MiB allowed/,
    )
    await expectRefusedBeforeKdf({ scrypt: { n: 2n ** 15n, r: 8n, p: 1n } }, /MiB of memory/)
  })

  it.each([
    [{ n: 2n ** 21n, r: 1n, p: 1n }, /scrypt with N = 2097152, more than the 1048576 allowed/],
    [{ n: 2n ** 64n, r: 8n, p: 1n }, /N = more than 9007199254740991/],
    [{ n: 2n ** 10n, r: 33n, p: 1n }, /scrypt with r = 33, more than the 32 allowed/],
    [{ n: 2n ** 14n, r: 8n, p: 17n }, /scrypt with p = 17, more than the 16 allowed/],
    [{ n: 2n ** 14n, r: 8n, p: 2n ** 30n }, /scrypt with p = 1073741824/],
  ])('refuses %o before any KDF work', async (scrypt, message) => {
    await expectRefusedBeforeKdf({ scrypt }, message)
  })

  it('honours maxScryptN, maxScryptR, maxScryptP and maxScryptMemoryBytes', async () => {
    const scrypt = { n: 2n ** 12n, r: 8n, p: 2n }
    expectReads(encryptedPkcs8(ed25519, PASSPHRASE, { scrypt }), {
      maxScryptN: 2 ** 12,
      maxScryptR: 8,
      maxScryptP: 2,
      maxScryptMemoryBytes: 128 * 8 * (2 ** 12 + 2 + 2),
    })
    await expectRefusedBeforeKdf({ scrypt }, /N = 4096/, { maxScryptN: 2 ** 11 })
    await expectRefusedBeforeKdf({ scrypt }, /r = 8/, { maxScryptR: 7 })
    await expectRefusedBeforeKdf({ scrypt }, /p = 2/, { maxScryptP: 1 })
    await expectRefusedBeforeKdf({ scrypt }, /memory/, {
      maxScryptMemoryBytes: 128 * 8 * (2 ** 12 + 2 + 2) - 1,
    })
  })

  it('limits must be positive integers', () => {
    const text = encryptedPkcs8(ed25519, PASSPHRASE, { pbkdf2: 2048n })
    for (const options of [
      { maxPbkdf2Iterations: 0 },
      { maxScryptN: 1.5 },
      { maxScryptR: -1 },
      { maxScryptP: Number.NaN },
      { maxScryptMemoryBytes: Number.POSITIVE_INFINITY },
    ])
      expect(() => readSshPrivateKey(text, PASSPHRASE, options)).toThrow(SshKeyArgumentError)
  })
})

describe(`RSA keys: at most MAX_RSA_BITS (${MAX_RSA_BITS})`, () => {
  it('reads a PEM key of exactly 16384 bits; one of 16385 or far more is refused once decoded, unsigned', () => {
    expect(MAX_RSA_BITS).toBe(16384)
    const largest = pkcs1Pem(forgedRsa(16384))
    expect(readSshPrivateKey(largest)).toMatchObject({ format: 'pkcs1', keyType: 'rsa', bits: 16384 })
    for (const bits of [16385, 60000]) {
      const pkcs1 = pkcs1Pem(forgedRsa(bits))
      const pkcs8 = createPrivateKey(pkcs1).export({ type: 'pkcs8', format: 'pem' }) as string
      for (const text of [pkcs1, pkcs8]) {
        const error = refusal(() => readSshPrivateKey(text), text)
        expect(error.code).toBe('UnsupportedKeyType')
        expect(error.message).toBe(
          `RSA keys of more than 16384 bits are not supported (this one has ${bits})`,
        )
        expect(() => inspectSshPrivateKey(text)).toThrow(
          expect.objectContaining({ code: 'UnsupportedKeyType' }),
        )
      }
    }
    expect(sign).not.toHaveBeenCalled()
  })

  it('refuses an OpenSSH key whose public modulus has 16385 to 16391 bits before it signs', async () => {
    // The wire reader allows mpints of 2049 bytes (16384 bits and a sign byte): a first byte 0x7f
    // makes 16391 bits, which node:crypto reads and OpenSSL cannot verify with.
    for (const first of [0x01, 0x7f]) {
      const publicN = Buffer.concat([Buffer.of(first), Buffer.alloc(2048, 0xab)])
      const text = openSshRsaKey(forgedRsa(2048), publicN)
      const bits = first === 0x01 ? 16385 : 16391
      expect(refusal(() => readSshPrivateKey(text), text)).toMatchObject({
        code: 'UnsupportedKeyType',
        message: `RSA keys of more than 16384 bits are not supported (this one has ${bits})`,
      })
      expect(() => inspectSshPrivateKey(text)).toThrow(
        expect.objectContaining({ code: 'UnsupportedKeyType' }),
      )
      const read = readSshPrivateKeyAsync(text)
      expect(sshKeyReadsRunning()).toBe(0)
      await expect(read).rejects.toMatchObject({ code: 'UnsupportedKeyType' })
    }
    expect(sign).not.toHaveBeenCalled()
  })
})

describe('OpenSSH RSA keys: the pairwise signature never runs on the caller’s thread of a server', () => {
  it('the async reader reads a plain OpenSSH RSA key on a worker', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    const text = writeOpenSshPrivateKey(rsa, { comment: 'deploy@web-01' })
    const read = readSshPrivateKeyAsync(text)
    expect(sshKeyReadsRunning()).toBe(1)
    const key = await read
    expect(sign).not.toHaveBeenCalled()
    expect(key.toJSON()).toEqual(readSshPrivateKey(text).toJSON())
    expect(sign).toHaveBeenCalledTimes(1)
  })

  it('inspect describes a plain OpenSSH key without signing: a forged one is refused by the read only', async () => {
    const text = openSshRsaKey(forgedRsa(2048))
    expect(inspectSshPrivateKey(text)).toMatchObject({
      format: 'openssh',
      encrypted: false,
      keyType: 'rsa',
      bits: 2048,
      comment: 'forged',
    })
    expect(sign).not.toHaveBeenCalled()
    expect(refusal(() => readSshPrivateKey(text), text)).toMatchObject({
      code: 'MalformedKey',
      message: expect.stringMatching(/does not match its public key/),
    })
    expect(sign).toHaveBeenCalledTimes(1)
    const read = readSshPrivateKeyAsync(text)
    expect(sshKeyReadsRunning()).toBe(1)
    await expect(read).rejects.toMatchObject({ code: 'MalformedKey' })
  })
})
