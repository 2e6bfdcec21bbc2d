import { describe, expect, it } from 'vitest'
import { PamError } from '../../../src/errors.js'
import {
  allowedValues,
  narrowScope,
  requestedScope,
} from '../../../src/services/bound-tokens/narrow-scope.js'

const PAM = 'urn:cloud:idaas:pam'

describe('narrowing the scope of a bound token', () => {
  it('keeps what is asked and held, in the order asked, .all expanded', () => {
    const held = new Set(['credential:obtain', 'authentication_token:read'])
    expect(narrowScope(requestedScope(`${PAM}|.all`), held, 'x')).toEqual({
      audience: PAM,
      values: ['credential:obtain', 'authentication_token:read'],
    })
    expect(
      narrowScope(requestedScope(`${PAM}|authentication_token:read credential:obtain`), held, 'x').values,
    ).toEqual(['authentication_token:read', 'credential:obtain'])
  })

  it('refuses with 403 InsufficientScope when nothing asked is held, naming what was asked', () => {
    let error: unknown
    try {
      narrowScope(
        requestedScope(`${PAM}|authentication_token:manage`),
        new Set(['credential:obtain']),
        'the token',
      )
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(PamError)
    expect(error).toMatchObject({ status: 403, code: 'InsufficientScope' })
    expect((error as Error).message).toContain(`${PAM}|authentication_token:manage`)
  })

  it('reads an application’s allowed values per audience, and a malformed scope is a 400 on the field', () => {
    const stored = `${PAM}|.all https://api.example|read https://api.example|write`
    expect([...allowedValues(stored, 'https://api.example')]).toEqual(['read', 'write'])
    expect(allowedValues(stored, PAM).has('credential:obtain')).toBe(true)
    expect(allowedValues(stored, 'https://other.example').size).toBe(0)
    expect(allowedValues('not|a|scope|', PAM).size).toBe(0)
    expect(() => requestedScope(`${PAM}|unknown`)).toThrow(
      expect.objectContaining({ status: 400, code: 'InvalidParameter.Scope', field: 'scope' }),
    )
  })
})
