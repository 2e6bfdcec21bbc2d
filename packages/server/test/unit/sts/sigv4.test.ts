// SigV4 against AWS's published test vectors and against AWS's own signer (@smithy/signature-v4,
// what @aws-sdk/client-sts signs with).
//
// Vectors: the "AWS Signature Version 4 test suite" (aws-sig-v4-test-suite: get-vanilla,
// post-vanilla, get-vanilla-query-order-key-case, post-x-www-form-urlencoded,
// get-vanilla-with-session-token; credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
// 20150830T123600Z, us-east-1, service "service", host example.amazonaws.com), and the worked
// example of the AWS General Reference "Signature Version 4 signing process" (IAM ListUsers:
// GET https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08, its canonical request hash,
// derived signing key and signature).

import { createHash, createHmac } from 'node:crypto'
import { SignatureV4 } from '@smithy/signature-v4'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  amzDate,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  sha256Hex,
  signingKey,
  signSigV4,
} from '../../../src/sts/sigv4.js'

const SUITE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }
const AT = Date.UTC(2015, 7, 30, 12, 36, 0)
const SCOPE = { region: 'us-east-1', service: 'service' }

describe('SigV4: the AWS test suite', () => {
  it('get-vanilla', () => {
    const signed = signSigV4(
      { method: 'GET', url: new URL('https://example.amazonaws.com/'), headers: {}, body: '' },
      SUITE,
      SCOPE,
      AT,
    )
    expect(signed.headers).toEqual({
      'x-amz-date': '20150830T123600Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    })
    expect(signed.canonicalRequest).toBe(
      'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
  })

  it('post-vanilla', () => {
    const signed = signSigV4(
      { method: 'POST', url: new URL('https://example.amazonaws.com/'), headers: {}, body: '' },
      SUITE,
      SCOPE,
      AT,
    )
    expect(signed.signature).toBe('5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b')
  })

  it('get-vanilla-query-order-key-case', () => {
    const url = new URL('https://example.amazonaws.com/?Param2=value2&Param1=value1')
    const signed = signSigV4({ method: 'GET', url, headers: {}, body: '' }, SUITE, SCOPE, AT)
    expect(signed.signature).toBe('b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500')
  })

  it('post-x-www-form-urlencoded', () => {
    const signed = signSigV4(
      {
        method: 'POST',
        url: new URL('https://example.amazonaws.com/'),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'Param1=value1',
      },
      SUITE,
      SCOPE,
      AT,
    )
    expect(signed.canonicalRequest.split('\n').at(-1)).toBe(
      '9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e',
    )
    expect(signed.signedHeaders).toBe('content-type;host;x-amz-date')
    expect(signed.signature).toBe('ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a')
  })

  it('get-vanilla-with-session-token', () => {
    const signed = signSigV4(
      { method: 'GET', url: new URL('https://example.amazonaws.com/'), headers: {}, body: '' },
      { ...SUITE, sessionToken: '6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267' },
      SCOPE,
      AT,
    )
    expect(signed.signedHeaders).toBe('host;x-amz-date;x-amz-security-token')
    expect(signed.headers['x-amz-security-token']).toBe(
      '6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267',
    )
    expect(signed.signature).toBe('07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8')
  })

  it('the IAM ListUsers worked example: canonical request hash, signing key, signature', () => {
    const url = new URL('https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08')
    const headers = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }
    const signed = signSigV4(
      { method: 'GET', url, headers, body: '' },
      SUITE,
      { region: 'us-east-1', service: 'iam' },
      AT,
    )
    expect(sha256Hex(signed.canonicalRequest)).toBe(
      'f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59',
    )
    expect(signingKey(SUITE.secretAccessKey, '20150830', 'us-east-1', 'iam').toString('hex')).toBe(
      'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9',
    )
    expect(signed.stringToSign).toBe(
      'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59',
    )
    expect(signed.signature).toBe('5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7')
  })
})

describe('SigV4: the canonical forms', () => {
  it('dates as YYYYMMDDTHHMMSSZ', () => {
    expect(amzDate(Date.UTC(2030, 0, 2, 3, 4, 5, 678))).toBe('20300102T030405Z')
  })

  it('normalizes and encodes paths (non-S3) and queries', () => {
    expect(canonicalUri('/')).toBe('/')
    expect(canonicalUri('/a/./b/../c//d%20e/')).toBe('/a/c/d%2520e/')
    expect(canonicalQuery('?b=2&a=2&a=1&c')).toBe('a=1&a=2&b=2&c=')
    expect(canonicalQuery('?k=%7E%2A+x%20')).toBe('k=~%2A%2Bx%20')
  })

  it('trims header values and collapses inner spaces', () => {
    const { text } = canonicalRequest(
      'GET',
      new URL('https://h/'),
      { Host: 'h', 'My-Header': '  a   b  c ' },
      'x',
    )
    expect(text).toContain('my-header:a b c\n')
  })
})

/** What @smithy/signature-v4 hashes: text or bytes. */
type SourceData = string | ArrayBuffer | ArrayBufferView

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

/** The hash constructor @smithy/signature-v4 wants, over node:crypto. */
class NodeSha256 {
  private readonly hash
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret))
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data))
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest())
  }
}

describe('SigV4: the same signature as AWS’s own signer (@smithy/signature-v4)', () => {
  it('for STS AssumeRole form bodies of any content, at any time, in any region', async () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 })
    await fc.assert(
      fc.asyncProperty(
        text,
        text,
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
        fc.constantFrom('us-east-1', 'eu-west-1', 'ap-southeast-2', 'cn-north-1'),
        fc.string({ minLength: 8, maxLength: 60 }),
        async (sessionName, policy, at, region, secret) => {
          const body = `Action=AssumeRole&Version=2011-06-15&RoleSessionName=${encodeURIComponent(sessionName)}&Policy=${encodeURIComponent(policy)}`
          const url = new URL(`https://sts.${region}.amazonaws.com/`)
          const headers = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }
          const credentials = { accessKeyId: 'AKIAPROPERTY0000TEST', secretAccessKey: secret }
          const ours = signSigV4(
            { method: 'POST', url, headers, body },
            credentials,
            { region, service: 'sts' },
            at,
          )
          const smithy = await new SignatureV4({
            service: 'sts',
            region,
            credentials,
            sha256: NodeSha256,
            applyChecksum: false,
          }).sign(
            {
              method: 'POST',
              protocol: 'https:',
              hostname: url.hostname,
              path: '/',
              query: {},
              headers: { host: url.host, ...headers },
              body,
            },
            { signingDate: new Date(at) },
          )
          expect(ours.headers['authorization']).toBe(smithy.headers['authorization'])
          expect(ours.headers['x-amz-date']).toBe(smithy.headers['x-amz-date'])
        },
      ),
      { numRuns: 150 },
    )
  })
})
