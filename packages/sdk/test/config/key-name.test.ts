import { describe, expect, it } from 'vitest'
import { isSensitiveKey, snakeCaseKey } from '../../src/config/key-name.js'

describe('snakeCaseKey folds keys as the official SDKs do', () => {
  it.each([
    ['idaasInstanceId', 'idaas_instance_id'],
    ['idaas_instance_id', 'idaas_instance_id'],
    ['IdaasInstanceId', 'idaas_instance_id'],
    ['unsafeIgnoreSSLCert', 'unsafe_ignore_ssl_cert'],
    ['unsafeIgnoreSslCert', 'unsafe_ignore_ssl_cert'],
    ['clientX509Certificate', 'client_x509_certificate'],
    ['x509CertChains', 'x509_cert_chains'],
    ['openApiEndpoint', 'open_api_endpoint'],
  ])('%s → %s', (key, folded) => {
    expect(snakeCaseKey(key)).toBe(folded)
  })
})

describe('isSensitiveKey', () => {
  it.each([
    'clientSecretEnvVarName',
    'private_key_env_var_name',
    'tokenEndpoint',
    'x509CertChains',
    'apiKey',
  ])('%s is sensitive', (key) => expect(isSensitiveKey(key)).toBe(true))
  it.each(['readTimeout', 'authnMethod', 'identityType', 'issuer'])('%s is not', (key) =>
    expect(isSensitiveKey(key)).toBe(false),
  )
})
