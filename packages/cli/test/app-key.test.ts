import { describe, expect, it } from 'vitest'
import { keysBody, ociSdkNote } from '../src/commands/app-key.js'
import { applicationKeyColumns } from '../src/views.js'

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

describe('app key add with an OCI API public key', () => {
  it('shows its OCI fingerprint in a column of its own, empty for keys that are not RSA', () => {
    const column = applicationKeyColumns.find((c) => c.header === 'OCI FINGERPRINT')
    const key = {
      applicationKeyId: 'apk_0',
      applicationId: 'app_0',
      kid: 'k',
      kty: 'RSA',
      crv: null,
      alg: null,
      createTime: 0,
    }
    expect(column?.value({ ...key, ociFingerprint: '7e:e1:e0:d3:7d:a5:f7:99:1e:97:16:d1:dc:41:f2:58' })).toBe(
      '7e:e1:e0:d3:7d:a5:f7:99:1e:97:16:d1:dc:41:f2:58',
    )
    expect(column?.value({ ...key, kty: 'OKP' })).toBeNull()
  })

  it('tells what the OCI SDK needs: the endpoint to override, tenancy, user and fingerprint', () => {
    expect(ociSdkNote('https://pam.example.com/', 'idaas_1', 'app_1', 'aa:bb')).toBe(
      'OCI SDK: endpoint https://pam.example.com/oci/idaas_1, tenancy idaas_1, user app_1, fingerprint aa:bb',
    )
  })
})
