import { describe, expect, it } from 'vitest'
import {
  fetchKey,
  fetchOf,
  formatReference,
  isSecretReference,
  MalformedReference,
  parseReference,
} from '../../src/run/references.js'

describe('parseReference', () => {
  it('passes values that are not references through', () => {
    for (const value of [
      '',
      'plain',
      'https://example.com',
      'STRONGROOM://credential/x',
      ' strongroom://credential/x',
    ]) {
      expect(parseReference(value), value).toBeUndefined()
    }
  })

  it('reads a credential reference, with a field only where the last segment is one', () => {
    expect(parseReference('strongroom://credential/demo/api-key')).toEqual({
      kind: 'credential',
      identifier: 'demo/api-key',
      field: undefined,
    })
    expect(parseReference('strongroom://credential/stripe')).toEqual({
      kind: 'credential',
      identifier: 'stripe',
      field: undefined,
    })
    expect(parseReference('strongroom://credential/billing/oauth/clientSecret')).toEqual({
      kind: 'credential',
      identifier: 'billing/oauth',
      field: 'clientSecret',
    })
    // A field name alone is an identifier: there is nothing before it to be the credential.
    expect(parseReference('strongroom://credential/password')).toEqual({
      kind: 'credential',
      identifier: 'password',
      field: undefined,
    })
    // Field names are case-sensitive: `Password` is part of the identifier.
    expect(parseReference('strongroom://credential/team/Password')).toMatchObject({
      identifier: 'team/Password',
      field: undefined,
    })
    // The escape for an identifier that ends in a field name: name the field.
    expect(parseReference('strongroom://credential/team/password/apiKey')).toEqual({
      kind: 'credential',
      identifier: 'team/password',
      field: 'apiKey',
    })
    for (const field of [
      'apiKey',
      'clientId',
      'clientSecret',
      'password',
      'username',
      'privateKey',
      'passphrase',
    ]) {
      expect(parseReference(`strongroom://credential/a:b/c.d_e-f/${field}`)).toMatchObject({
        identifier: 'a:b/c.d_e-f',
        field,
      })
    }
  })

  it('reads account references by their suffix, TARGET/account or an acct_ id', () => {
    expect(parseReference('strongroom://account/demo-db/admin/password')).toEqual({
      kind: 'account',
      account: 'demo-db/admin',
      secret: 'password',
    })
    expect(parseReference('strongroom://account/web-01/deploy/ssh-key')).toEqual({
      kind: 'account',
      account: 'web-01/deploy',
      secret: 'ssh-key',
    })
    expect(parseReference('strongroom://account/acct_123/password')).toMatchObject({ account: 'acct_123' })
  })

  it('reads provider references', () => {
    expect(parseReference('strongroom://provider/github/app/oauth-token')).toEqual({
      kind: 'provider',
      identifier: 'github/app',
      secret: 'oauth-token',
    })
  })

  it('refuses what starts like a reference and fits no shape', () => {
    const malformed = [
      'strongroom://',
      'strongroom://credential',
      'strongroom://credential/',
      'strongroom://credential//x',
      'strongroom://credential/x/',
      'strongroom://credential/a/../b',
      'strongroom://credential/a/./b',
      'strongroom://credential/-x',
      'strongroom://credential/a b',
      'strongroom://credential/a?x=1',
      `strongroom://credential/${'a'.repeat(129)}`,
      'strongroom://account/db/admin',
      'strongroom://account/db/admin/key',
      'strongroom://account/admin/password',
      'strongroom://account/a/b/c/password',
      'strongroom://account//admin/password',
      'strongroom://account/db/../password',
      'strongroom://provider/github',
      'strongroom://provider/oauth-token',
      'strongroom://provider/a//b/oauth-token',
      'strongroom://secret/x',
      'strongroom://Credential/x',
    ]
    for (const value of malformed) expect(() => parseReference(value), value).toThrow(MalformedReference)
  })
})

describe('requests', () => {
  const key = (value: string) => fetchKey(fetchOf(parseReference(value)!))

  it('shares one request between references to the same credential, account secret or provider', () => {
    expect(key('strongroom://credential/db/username')).toBe(key('strongroom://credential/db/password'))
    expect(key('strongroom://credential/demo/api-key')).toBe(
      key('strongroom://credential/demo/api-key/apiKey'),
    )
    expect(key('strongroom://account/db/admin/password')).not.toBe(
      key('strongroom://account/db/admin/ssh-key'),
    )
    expect(key('strongroom://credential/a/b')).not.toBe(key('strongroom://provider/a/b/oauth-token'))
    expect(key('strongroom://credential/a')).not.toBe(key('strongroom://credential/b'))
  })

  it('shows a reference in its canonical form, and knows which values are public', () => {
    for (const value of [
      'strongroom://credential/demo/api-key',
      'strongroom://credential/db/username',
      'strongroom://account/db/admin/ssh-key',
      'strongroom://provider/gh/oauth-token',
    ]) {
      expect(formatReference(parseReference(value)!)).toBe(value)
    }
    expect(isSecretReference(parseReference('strongroom://credential/db/username')!)).toBe(false)
    expect(isSecretReference(parseReference('strongroom://credential/oa/clientId')!)).toBe(false)
    expect(isSecretReference(parseReference('strongroom://credential/oa/clientSecret')!)).toBe(true)
    expect(isSecretReference(parseReference('strongroom://account/db/admin/password')!)).toBe(true)
  })
})
