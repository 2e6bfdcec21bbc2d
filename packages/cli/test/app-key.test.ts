import { describe, expect, it } from 'vitest'
import { keysBody } from '../src/commands/app-key.js'

describe('app key add --file', () => {
  it('sends a PEM as pem, a JWKS as jwks and a single JWK as jwk', () => {
    const pem = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n'
    expect(keysBody(`\n${pem}`, 'k.pem')).toEqual({ pem: `\n${pem}` })
    expect(keysBody('{"keys":[{"kty":"OKP"}]}', 'k.json')).toEqual({ jwks: { keys: [{ kty: 'OKP' }] } })
    expect(keysBody('{"kty":"EC","crv":"P-256"}', 'k.json')).toEqual({ jwk: { kty: 'EC', crv: 'P-256' } })
  })

  it('names the file when it is neither', () => {
    expect(() => keysBody('hello', 'key.txt')).toThrow(/key.txt is neither a PEM key nor JSON/)
    expect(() => keysBody('[1,2]', 'key.json')).toThrow(/key.json holds no JWK/)
  })
})
