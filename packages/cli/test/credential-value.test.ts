import { describe, expect, it } from 'vitest'
import { buildCredentialValue, checkValueOptions, secretOf } from '../src/credential-value.js'
import { UsageError } from '../src/errors.js'

describe('buildCredentialValue', () => {
  it('puts the secret where each type keeps it', () => {
    expect(buildCredentialValue('api_key', 'k')).toEqual({ apiKey: 'k' })
    expect(buildCredentialValue('oauth_client', 's', { clientId: 'c' })).toEqual({
      clientId: 'c',
      clientSecret: 's',
    })
    expect(buildCredentialValue('password', 'p')).toEqual({ password: 'p' })
    expect(buildCredentialValue('password', 'p', { username: 'u' })).toEqual({ password: 'p', username: 'u' })
    expect(buildCredentialValue('ssh_key', 'K')).toEqual({ privateKey: 'K' })
    expect(buildCredentialValue('ssh_key', 'K', { passphrase: 'pp', publicKey: 'ssh-ed25519 AAA' })).toEqual({
      privateKey: 'K',
      passphrase: 'pp',
      publicKey: 'ssh-ed25519 AAA',
    })
  })
})

describe('checkValueOptions', () => {
  it('requires --client-id for oauth_client', () => {
    expect(() => checkValueOptions('oauth_client', {})).toThrow(UsageError)
    expect(() => checkValueOptions('oauth_client', { clientId: 'c' })).not.toThrow()
  })

  it('refuses options of another type', () => {
    expect(() => checkValueOptions('api_key', { username: 'u' })).toThrow(
      '--username applies only to credentials of type password',
    )
    expect(() => checkValueOptions('password', { passphraseFile: 'f' })).toThrow(
      '--passphrase-file applies only to credentials of type ssh_key',
    )
    expect(() => checkValueOptions('ssh_key', { publicKeyFile: 'f', passphraseFile: 'g' })).not.toThrow()
  })
})

describe('secretOf', () => {
  it('picks the secret part of each type', () => {
    expect(secretOf({ credentialType: 'api_key', value: { apiKey: 'k' } })).toBe('k')
    expect(secretOf({ credentialType: 'oauth_client', value: { clientId: 'c', clientSecret: 's' } })).toBe(
      's',
    )
    expect(secretOf({ credentialType: 'password', value: { password: 'p', username: 'u' } })).toBe('p')
    expect(secretOf({ credentialType: 'ssh_key', value: { privateKey: 'K\n', passphrase: 'pp' } })).toBe(
      'K\n',
    )
  })

  it('fails without echoing the value for an unknown shape', () => {
    expect(() => secretOf({ credentialType: 'token', value: { token: 'zzz' } })).toThrow(
      'the server answered with a value this CLI cannot read for type token',
    )
    expect(() => secretOf({ credentialType: 'constructor', value: {} })).toThrow()
  })
})
