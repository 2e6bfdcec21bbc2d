// The wire of OCI request signatures, without a server: the `Signature` authorization as oci-common
// writes it, the headers OCI requires signed, the signing string (checked against the official
// signer's own signature), and the OCI fingerprint of a key (OCI's documented sample key).
import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { DefaultRequestSigner, SimpleAuthenticationDetailsProvider } from 'oci-common'
import { describe, expect, it } from 'vitest'
import { normalizedFingerprint, ociFingerprint } from '../../../src/oci/fingerprint.js'
import {
  MalformedSignature,
  MissingSignedHeader,
  parseSignatureAuthorization,
  type SignedRequest,
  signedDate,
  signingString,
  unsignedRequiredHeaders,
  verifyRsaSha256,
} from '../../../src/oci/request-signature.js'

const SAMPLE = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA7I6Rmqlm0I60Ehz1WjbE
GcK8PfqljMZpOxSxXOhFf0NsHcqJMYnCbwhlJSSzhs/mohZkgMkbPr8Xd/iNeJSR
62Pk94TcfRnbLDTW+DCkhSYvTdVgjEQVzKBRgWi6GTdEnq6tYMcN68kIjdq75OSN
fol+JnkF2v3LxE2bdinkzUC21QMd5zhGgaoa4AmTeRWbD32P4oZ3sIF4Pt0T+MIj
AvIQ+VU6i+2C/5VO2dYUurseTH5axd90WKopq3ScXVCZeQJY1XQy8MLsSVVK2k6B
S7mfb62t1+bXkSev04gAT9opHbTspDf+YfDx0xPDU2yrUZ0M2hVm1J9fcS/1jUZS
RQIDAQAB
-----END PUBLIC KEY-----
`

describe('the OCI fingerprint of a key', () => {
  it("is the one OCI's documentation gives its sample key, from a PEM or the stored JWK", () => {
    const key = createPublicKey(SAMPLE)
    expect(ociFingerprint(key)).toBe('7e:e1:e0:d3:7d:a5:f7:99:1e:97:16:d1:dc:41:f2:58')
    const stored = { ...key.export({ format: 'jwk' }), kid: 'k', use: 'sig', alg: 'RS256' }
    expect(ociFingerprint(stored)).toBe('7e:e1:e0:d3:7d:a5:f7:99:1e:97:16:d1:dc:41:f2:58')
  })

  it('is none for a key that is not RSA, or not a key', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey
    expect(ociFingerprint(ec)).toBeUndefined()
    expect(ociFingerprint({ kty: 'RSA', n: '!' })).toBeUndefined()
  })

  it('is compared in lower case, and must be 16 hex pairs', () => {
    expect(normalizedFingerprint('7E:E1:E0:D3:7D:A5:F7:99:1E:97:16:D1:DC:41:F2:58')).toBe(
      '7e:e1:e0:d3:7d:a5:f7:99:1e:97:16:d1:dc:41:f2:58',
    )
    expect(normalizedFingerprint('7e:e1')).toBeUndefined()
    expect(normalizedFingerprint('7ee1e0d37da5f7991e9716d1dc41f258')).toBeUndefined()
  })
})

describe('a Signature authorization', () => {
  it('is read as oci-common writes it', () => {
    const params = parseSignatureAuthorization(
      'Signature version="1",keyId="t/u/aa",algorithm="rsa-sha256",headers="x-date (request-target) host Content-Type Content-Length x-content-sha256",signature="YWJj"',
    )
    expect(params).toEqual({
      keyId: 't/u/aa',
      algorithm: 'rsa-sha256',
      headers: ['x-date', '(request-target)', 'host', 'content-type', 'content-length', 'x-content-sha256'],
      signature: 'YWJj',
    })
  })

  it.each([
    [undefined, /no Authorization/],
    ['Bearer abc', /not of the Signature scheme/],
    ['Signature keyId="a",keyId="b",algorithm="rsa-sha256",headers="host",signature="YQ=="', /twice/],
    ['Signature version="2",keyId="a",algorithm="rsa-sha256",headers="host",signature="YQ=="', /version/],
    ['Signature keyId="a",headers="host",signature="YQ=="', /algorithm is required/],
    ['Signature keyId="a",algorithm="rsa-sha256",signature="YQ=="', /headers is required/],
    ['Signature keyId="a",algorithm="rsa-sha256",headers="host",signature="not base64!"', /signature/],
    ['Signature keyId=a,algorithm="rsa-sha256",headers="host",signature="YQ=="', /name="value"/],
    ['Signature keyId="",algorithm="rsa-sha256",headers="host",signature="YQ=="', /keyId/],
    ['Signature keyId="a",algorithm="rsa-sha256",headers="Host:",signature="YQ=="', /headers/],
  ])('refuses %s', (header, message) => {
    expect(() => parseSignatureAuthorization(header)).toThrow(MalformedSignature)
    expect(() => parseSignatureAuthorization(header)).toThrow(message)
  })
})

describe('the headers OCI requires signed', () => {
  it('are the target, host and a date, and for a body its length, type and digest', () => {
    expect(unsignedRequiredHeaders('GET', ['x-date', '(request-target)', 'host'])).toEqual([])
    expect(unsignedRequiredHeaders('GET', ['date', '(request-target)', 'host'])).toEqual([])
    expect(unsignedRequiredHeaders('GET', ['host'])).toEqual(['(request-target)', 'date (or x-date)'])
    expect(unsignedRequiredHeaders('POST', ['x-date', '(request-target)', 'host', 'content-type'])).toEqual([
      'content-length',
      'x-content-sha256',
    ])
  })
})

describe('the signing string', () => {
  it('is what oci-common signed: its signature verifies over it', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const provider = new SimpleAuthenticationDetailsProvider(
      't',
      'u',
      'f',
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      null,
    )
    const headers = new Headers({ 'content-type': 'application/json' })
    const body = '{"scope":"s","publicKey":"k"}'
    await new DefaultRequestSigner(provider).signHttpRequest({
      method: 'POST',
      uri: 'https://pam.example.com:8443/base/oci/i/v1/actions/generateScopedAccessToken?x=1',
      headers,
      body,
    })
    const params = parseSignatureAuthorization(headers.get('authorization'))
    const request: SignedRequest = {
      method: 'POST',
      target: '/base/oci/i/v1/actions/generateScopedAccessToken?x=1',
      host: 'pam.example.com:8443',
      header: (name) => headers.get(name) ?? undefined,
    }
    const text = signingString(request, params.headers)
    expect(text.split('\n')[1]).toBe(
      '(request-target): post /base/oci/i/v1/actions/generateScopedAccessToken?x=1',
    )
    expect(verifyRsaSha256(publicKey, text, params.signature)).toBe(true)
    expect(verifyRsaSha256(publicKey, text.replace('post', 'put'), params.signature)).toBe(false)
    expect(
      verifyRsaSha256(
        publicKey,
        signingString({ ...request, host: 'elsewhere' }, params.headers),
        params.signature,
      ),
    ).toBe(false)
    expect(signedDate(request, params.headers)).toBe(Date.parse(headers.get('x-date') ?? ''))
    expect(() => signingString({ ...request, header: () => undefined }, params.headers)).toThrow(
      MissingSignedHeader,
    )
  })
})
