import { describe, expect, it } from 'vitest'
import {
  FIXTURE_PASSPHRASE,
  privateKeyText,
  type SshFixture,
  withKdfRounds,
} from '../../../../../test/fixtures/ssh/ssh-fixtures.js'
import {
  DEFAULT_MAX_KDF_ROUNDS,
  MAX_SSH_KEY_WORKERS,
  readSshPrivateKey,
  readSshPrivateKeyAsync,
  SshKeyError,
  type SshKeyErrorCode,
} from '../../../src/crypto/ssh-keys/index.js'
import { sshKeyReadsRunning } from '../../../src/crypto/ssh-keys/ssh-key-workers.js'

async function codeOf(read: Promise<unknown>): Promise<SshKeyErrorCode> {
  const error = await read.then(
    () => undefined,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(SshKeyError)
  return (error as SshKeyError).code
}

describe('readSshPrivateKeyAsync', () => {
  it('reads every kind of key as readSshPrivateKey does, encrypted ones on a worker thread', async () => {
    const fixtures: SshFixture[] = [
      'ed25519-encrypted',
      'ecdsa-p256-encrypted',
      'rsa-pkcs8-encrypted',
      'ed25519-plain',
    ]
    for (const fixture of fixtures) {
      const text = privateKeyText(fixture)
      const passphrase = FIXTURE_PASSPHRASE[fixture]
      const read = readSshPrivateKeyAsync(text, passphrase)
      // Dispatched at once, before the first await: only the encrypted keys go to a worker.
      expect(sshKeyReadsRunning(), fixture).toBe(passphrase === undefined ? 0 : 1)
      const key = await read
      const expected = readSshPrivateKey(text, passphrase)
      expect(key.toJSON(), fixture).toEqual(expected.toJSON())
      expect(key.privateKeyPem, fixture).toBe(expected.privateKeyPem)
    }
  })

  it('refuses as readSshPrivateKey does, and a key asking for too many rounds before any worker', async () => {
    const encrypted = privateKeyText('ed25519-encrypted')
    expect(await codeOf(readSshPrivateKeyAsync(encrypted, 'wrong horse'))).toBe('WrongPassphrase')
    expect(await codeOf(readSshPrivateKeyAsync(encrypted))).toBe('PassphraseRequired')
    expect(await codeOf(readSshPrivateKeyAsync('hello'))).toBe('UnrecognisedKeyFormat')
    expect(await codeOf(readSshPrivateKeyAsync(privateKeyText('rsa-pkcs8-encrypted'), 'nope'))).toBe(
      'WrongPassphrase',
    )
    expect(await codeOf(readSshPrivateKeyAsync(privateKeyText('ed25519-3des'), 'pass'))).toBe(
      'UnsupportedCipher',
    )
    expect(DEFAULT_MAX_KDF_ROUNDS).toBe(64)
    for (const rounds of [DEFAULT_MAX_KDF_ROUNDS + 1, 200, 100_000]) {
      const read = readSshPrivateKeyAsync(withKdfRounds(encrypted, rounds), 'pass')
      expect(sshKeyReadsRunning()).toBe(0)
      const error = await read.catch((thrown: unknown) => thrown)
      expect(error).toMatchObject({ code: 'KdfTooExpensive', message: expect.stringContaining(`${rounds}`) })
    }
    const capped = readSshPrivateKeyAsync(withKdfRounds(encrypted, 3), 'pass', { maxKdfRounds: 2 })
    expect(sshKeyReadsRunning()).toBe(0)
    expect(await codeOf(capped)).toBe('KdfTooExpensive')
  })

  it('leaves the event loop free while the KDF runs', async () => {
    const order: string[] = []
    const read = readSshPrivateKeyAsync(
      withKdfRounds(privateKeyText('ed25519-encrypted'), DEFAULT_MAX_KDF_ROUNDS),
      'pass',
    )
    const settled = read.then(
      () => order.push('read'),
      () => order.push('read'),
    )
    // A timer fires while the worker derives: on this thread, the read would have run to its end first.
    await new Promise((resolve) => setTimeout(resolve, 1))
    order.push('timer')
    expect(sshKeyReadsRunning()).toBe(1)
    await settled
    expect(order).toEqual(['timer', 'read'])
    expect(await codeOf(read)).toBe('WrongPassphrase')
  })

  it(`runs at most ${MAX_SSH_KEY_WORKERS} reads at once and queues the others`, async () => {
    const text = privateKeyText('ed25519-encrypted')
    const expected = readSshPrivateKey(text, 'pass').fingerprint
    const reads = Array.from({ length: 2 * MAX_SSH_KEY_WORKERS + 1 }, () =>
      readSshPrivateKeyAsync(text, 'pass'),
    )
    let most = 0
    const sample = setInterval(() => {
      most = Math.max(most, sshKeyReadsRunning())
    }, 2)
    try {
      expect(sshKeyReadsRunning()).toBe(MAX_SSH_KEY_WORKERS)
      const keys = await Promise.all(reads)
      for (const key of keys) expect(key.fingerprint).toBe(expected)
    } finally {
      clearInterval(sample)
    }
    expect(most).toBeLessThanOrEqual(MAX_SSH_KEY_WORKERS)
    expect(sshKeyReadsRunning()).toBe(0)
  })
})
