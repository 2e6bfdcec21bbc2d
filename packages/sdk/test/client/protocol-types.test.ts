// The SDK declares its own result types (its .d.ts must resolve for an application that installs
// only @strongroom/sdk); this checks at compile time that what the server's schemas produce stays
// readable as them, so the two cannot drift apart unnoticed.
import type {
  JwtTokenResult,
  OAuthTokenResult,
  ValidateResult,
  ObtainedCredential as WireCredential,
  AuthenticationTokenPage as WirePage,
  AuthenticationToken as WireToken,
} from '@strongroom/protocol'
import { describe, expectTypeOf, it } from 'vitest'
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
})
