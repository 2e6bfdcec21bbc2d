import { describe, expect, it } from 'vitest'
import { bypassesProxy, parseNoProxy } from '../../src/http/no-proxy.js'
import { proxyFor, proxySettingsFromEnv } from '../../src/http/proxy-settings.js'

const bypass = (noProxy: string, url: string) => bypassesProxy(new URL(url), parseNoProxy(noProxy))

describe('NO_PROXY', () => {
  it('matches hosts and domain suffixes, case-insensitively', () => {
    expect(bypass('Example.COM', 'https://example.com/')).toBe(true)
    expect(bypass('example.com', 'https://API.example.com/')).toBe(true)
    expect(bypass('.example.com', 'https://a.b.example.com/')).toBe(true)
    expect(bypass('*.example.com', 'https://a.example.com/')).toBe(true)
    expect(bypass('example.com', 'https://notexample.com/')).toBe(false)
    expect(bypass('example.com', 'https://example.com.evil.test/')).toBe(false)
  })

  it('matches ports only where named', () => {
    expect(bypass('pam.internal:8443', 'https://pam.internal:8443/')).toBe(true)
    expect(bypass('pam.internal:8443', 'https://pam.internal/')).toBe(false)
    expect(bypass('pam.internal:443', 'https://pam.internal/')).toBe(true)
    expect(bypass('pam.internal:80', 'http://pam.internal/')).toBe(true)
  })

  it('matches *, IP addresses, IPv6 and CIDR ranges', () => {
    expect(bypass('*', 'https://anything.example/')).toBe(true)
    expect(bypass('10.1.2.3', 'http://10.1.2.3:8080/')).toBe(true)
    expect(bypass('10.0.0.0/8', 'http://10.200.0.1/')).toBe(true)
    expect(bypass('10.0.0.0/8', 'http://11.0.0.1/')).toBe(false)
    expect(bypass('::1', 'http://[::1]:3000/')).toBe(true)
    expect(bypass('[::1]:3000', 'http://[::1]:3000/')).toBe(true)
    expect(bypass('fd00::/8', 'http://[fd12::1]/')).toBe(true)
  })

  it('splits on commas and whitespace and ignores empty entries', () => {
    expect(bypass(' a.test ,, b.test  c.test', 'https://c.test/')).toBe(true)
    expect(bypass('', 'https://c.test/')).toBe(false)
  })
})

describe('proxy settings from the environment', () => {
  it('prefers the lowercase names, defaults the scheme to http and picks by the URL scheme', () => {
    const settings = proxySettingsFromEnv({
      https_proxy: 'proxy.lower:3128',
      HTTPS_PROXY: 'http://proxy.upper:3128',
      HTTP_PROXY: 'http://plain:8080',
      NO_PROXY: 'localhost',
    })
    expect(proxyFor(new URL('https://pam.example/'), settings)?.href).toBe('http://proxy.lower:3128/')
    expect(proxyFor(new URL('http://pam.example/'), settings)?.href).toBe('http://plain:8080/')
    expect(proxyFor(new URL('https://localhost:8443/'), settings)).toBeUndefined()
  })

  it('has no proxy when nothing is set', () => {
    expect(proxyFor(new URL('https://pam.example/'), proxySettingsFromEnv({}))).toBeUndefined()
  })
})
