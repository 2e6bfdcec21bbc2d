// The SDK declares its own result types (its .d.ts must resolve for an application that installs
// only @strongroom/sdk); this checks at compile time that what the server's schemas produce stays
// readable as them, so the two cannot drift apart unnoticed.
import type {
  JwtTokenResult,
  OAuthTokenResult,
  ObtainSshKeyBody,
  ValidateResult,
  AccountSummary as WireAccountSummary,
  ObtainedCredential as WireCredential,
  ObtainedPassword as WireObtainedPassword,
  ObtainedSshKey as WireObtainedSshKey,
  AuthenticationTokenPage as WirePage,
  ScopedToken as WireScopedToken,
  SessionToken as WireSessionToken,
  AuthenticationToken as WireToken,
} from '@strongroom/protocol'
import { describe, expectTypeOf, it } from 'vitest'
import type { ScopedTokenFields, SessionTokenFields } from '../../src/bound-tokens/scoped-token.js'
import type { AccountSummary, ObtainedPassword, SshKeyFacts } from '../../src/client/account-results.js'
import type { GetSshKeyOptions } from '../../src/client/pam-client-params.js'
import type {
  AuthenticationToken,
  AuthenticationTokenPage,
  ObtainedCredential,
} from '../../src/client/pam-results.js'

type Plain<T> = { [K in keyof T]: T[K] extends object ? unknown : T[K] }

describe('the SDK result types and the protocol schemas', () => {
  it('a wire token is an SDK token, field by field', () => {
    expectTypeOf<WireToken>().toExtend<AuthenticationToken>()
    expectTypeOf<JwtTokenResult>().toExtend<AuthenticationToken>()
    expectTypeOf<OAuthTokenResult>().toExtend<AuthenticationToken>()
    expectTypeOf<keyof AuthenticationToken>().toEqualTypeOf<keyof WireToken>()
  })

  it('a wire page and a wire credential carry the SDK’s plain fields', () => {
    expectTypeOf<Omit<WirePage, 'entities'>>().toExtend<Omit<AuthenticationTokenPage, 'entities'>>()
    expectTypeOf<Plain<Omit<WireCredential, 'credentialContent'>>>().toExtend<
      Pick<Plain<ObtainedCredential>, keyof Omit<WireCredential, 'credentialContent'>>
    >()
    expectTypeOf<ValidateResult['active']>().toEqualTypeOf<boolean>()
  })

  it('strongroom’s accounts and bound tokens: the wire shapes, their secrets aside, are the SDK’s', () => {
    expectTypeOf<WireAccountSummary>().toExtend<AccountSummary>()
    expectTypeOf<keyof AccountSummary>().toEqualTypeOf<keyof WireAccountSummary>()
    expectTypeOf<Omit<WireObtainedPassword, 'password'>>().toExtend<
      Pick<ObtainedPassword, 'accountId' | 'accountName' | 'version'>
    >()
    // `format` is absent on the wire for a key as stored (and from older servers); the SDK says null.
    expectTypeOf<Omit<WireObtainedSshKey, 'key' | 'passphrase' | 'format'>>().toExtend<
      Omit<SshKeyFacts, 'format'>
    >()
    expectTypeOf<keyof SshKeyFacts>().toEqualTypeOf<Exclude<keyof WireObtainedSshKey, 'key' | 'passphrase'>>()
    expectTypeOf<NonNullable<SshKeyFacts['format']>>().toEqualTypeOf<
      NonNullable<WireObtainedSshKey['format']>
    >()
    expectTypeOf<NonNullable<GetSshKeyOptions['format']>>().toEqualTypeOf<
      NonNullable<ObtainSshKeyBody['format']>
    >()
    expectTypeOf<Omit<WireScopedToken, 'accessToken'>>().toExtend<ScopedTokenFields>()
    expectTypeOf<keyof ScopedTokenFields>().toEqualTypeOf<Exclude<keyof WireScopedToken, 'accessToken'>>()
    expectTypeOf<Omit<WireSessionToken, 'accessToken'>>().toExtend<SessionTokenFields>()
    expectTypeOf<keyof SessionTokenFields>().toEqualTypeOf<Exclude<keyof WireSessionToken, 'accessToken'>>()
  })
})
