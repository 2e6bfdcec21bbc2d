// Alibaba Cloud's RPC signature against the worked example its API reference documents, and the
// percent-encoding against the formula of Alibaba's own SDK (@alicloud/credentials:
// encodeURIComponent, then ! ' ( ) * encoded too).
//
// The example: Alibaba Cloud API reference, "Request signatures" (ECS, signature method V2,
// https://www.alibabacloud.com/help/doc-detail/25492.htm): DescribeRegions with AccessKeyId
// `testid`, secret `testsecret`, Timestamp 2016-02-23T12:46:24Z, SignatureNonce
// 3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf, Version 2014-05-26, Format XML, GET: its StringToSign and
// its signature `OLeaidS1JvxuMvnyHOwuJ+uX5qY=`.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  encodeParams,
  percentEncode,
  rpcCanonicalQuery,
  rpcSignature,
  rpcStringToSign,
  rpcTimestamp,
} from '../../../src/sts/rpc-signature.js'

const EXAMPLE = {
  Timestamp: '2016-02-23T12:46:24Z',
  Format: 'XML',
  AccessKeyId: 'testid',
  Action: 'DescribeRegions',
  SignatureMethod: 'HMAC-SHA1',
  SignatureNonce: '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
  Version: '2014-05-26',
  SignatureVersion: '1.0',
}

describe('Alibaba RPC signature', () => {
  it('reproduces the documented example: StringToSign and signature', () => {
    const stringToSign = rpcStringToSign('GET', EXAMPLE)
    expect(stringToSign).toBe(
      'GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1' +
        '%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0' +
        '%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26',
    )
    expect(rpcSignature(stringToSign, 'testsecret')).toBe('OLeaidS1JvxuMvnyHOwuJ+uX5qY=')
  })

  it('leaves the Signature parameter out of what it signs', () => {
    expect(rpcCanonicalQuery({ ...EXAMPLE, Signature: 'x' })).toBe(rpcCanonicalQuery(EXAMPLE))
  })

  it('percent-encodes as Alibaba documents: space %20, * %2A, ~ kept, UTF-8 bytes', () => {
    expect(percentEncode("a b*c~d!'()+/=&é")).toBe('a%20b%2Ac~d%21%27%28%29%2B%2F%3D%26%C3%A9')
    expect(percentEncode('-_.~AZaz09')).toBe('-_.~AZaz09')
    expect(encodeParams({ 'a b': 'c&d', e: '' })).toBe('a%20b=c%26d&e=')
  })

  it('percent-encodes exactly as Alibaba’s SDK does, for any text', () => {
    const sdkEncode = (s: string) =>
      encodeURIComponent(s)
        .replace(/!/g, '%21')
        .replace(/'/g, '%27')
        .replace(/\(/g, '%28')
        .replace(/\)/g, '%29')
        .replace(/\*/g, '%2A')
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => percentEncode(s) === sdkEncode(s)),
      { numRuns: 500 },
    )
  })

  it('dates Timestamp in whole UTC seconds, YYYY-MM-DDTHH:MM:SSZ', () => {
    expect(rpcTimestamp(Date.UTC(2030, 0, 2, 3, 4, 5, 999))).toBe('2030-01-02T03:04:05Z')
  })
})
