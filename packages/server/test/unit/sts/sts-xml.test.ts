import { describe, expect, it } from 'vitest'
import { decodeXmlText, parseXml, xmlText } from '../../../src/sts/sts-xml.js'

describe('the STS XML reader', () => {
  it('reads an AssumeRoleResponse as AWS documents it', () => {
    const document = parseXml(`<?xml version="1.0" encoding="UTF-8"?>
<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <SourceIdentity>DevUser123</SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/demo/John</Arn>
      <AssumedRoleId>ARO123EXAMPLE123:John</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW&amp;+/=</SessionToken>
      <Expiration>2019-11-09T13:34:41Z</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>`)
    expect(document?.name).toBe('AssumeRoleResponse')
    expect(xmlText(document, ['AssumeRoleResult', 'Credentials', 'SessionToken'])).toBe(
      'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW&+/=',
    )
    expect(xmlText(document, ['AssumeRoleResult', 'AssumedRoleUser', 'AssumedRoleId'])).toBe(
      'ARO123EXAMPLE123:John',
    )
    expect(xmlText(document, ['ResponseMetadata', 'RequestId'])).toBe('c6104cbe-af31-11e0-8154-cbc7ccf896c7')
    expect(xmlText(document, ['AssumeRoleResult', 'Credentials', 'Nothing'])).toBeUndefined()
  })

  it('decodes entities, character references and CDATA; drops prefixes, comments and attributes', () => {
    const document = parseXml(
      `<s:E a='1>2' b="x"><!-- c --><M>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;<![CDATA[<&>]]></M><Empty/></s:E>`,
    )
    expect(document?.name).toBe('E')
    expect(xmlText(document, ['M'])).toBe(`<>&"'AB<&>`)
    expect(document?.children.map((c) => c.name)).toEqual(['M', 'Empty'])
  })

  it.each([
    ['not XML at all', '{"Code":"x"}'],
    ['HTML that is not well-formed', '<html><body><p>hi</body></html>'],
    ['an unclosed element', '<A><B>x</B>'],
    ['two roots', '<A/><B/>'],
    ['text after the root', '<A/>trailing'],
    ['a DOCTYPE (no entity expansion)', '<!DOCTYPE A [<!ENTITY x "y">]><A>&x;</A>'],
    ['an unknown entity', '<A>&nbsp;</A>'],
    ['a bare ampersand', '<A>a & b</A>'],
    ['a NUL character reference', '<A>&#0;</A>'],
    ['an empty document', ''],
  ])('refuses %s', (_, text) => {
    expect(parseXml(text)).toBeUndefined()
  })

  it('refuses nesting deeper than any STS answer', () => {
    expect(parseXml(`${'<a>'.repeat(40)}${'</a>'.repeat(40)}`)).toBeUndefined()
    expect(parseXml(`${'<a>'.repeat(10)}${'</a>'.repeat(10)}`)?.name).toBe('a')
  })

  it('decodes text on its own', () => {
    expect(decodeXmlText('a&amp;b')).toBe('a&b')
    expect(decodeXmlText('a&b')).toBeUndefined()
  })
})
