import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { presentedToken } from '../../../src/services/bound-tokens/presented-token.js'

describe('presentedToken', () => {
  it('reads the Bearer and DPoP schemes in any case, and nothing else', () => {
    expect(presentedToken('Bearer abc.def')).toEqual({ scheme: 'Bearer', token: 'abc.def' })
    expect(presentedToken('bearer  abc ')).toEqual({ scheme: 'Bearer', token: 'abc' })
    expect(presentedToken('DPoP abc')).toEqual({ scheme: 'DPoP', token: 'abc' })
    expect(presentedToken('dpop abc')).toEqual({ scheme: 'DPoP', token: 'abc' })
    for (const header of [
      undefined,
      '',
      'Basic abc',
      'Bearer',
      'DPoP ',
      'Bearer a b',
      'DPoPabc',
      ['Bearer a'],
    ])
      expect(presentedToken(header)).toBeUndefined()
  })

  it('never throws, and a token it finds is printable ASCII without spaces', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (header) => {
        const found = presentedToken(header)
        if (found) expect(found.token).toMatch(/^[\x21-\x7e]+$/)
      }),
    )
  })
})
