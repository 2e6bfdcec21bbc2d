import { describe, expect, it } from 'vitest'
import { PamClient } from '../../src/client/pam-client.js'
import type { ClientConfig } from '../../src/config/client-config.js'
import { ConfigurationError } from '../../src/errors.js'
import { countingProvider, fakeFetch } from './support.js'

const config: ClientConfig = {
  source: '/etc/idaas/client-config.json',
  idaasInstanceId: 'idaas_cfg',
  clientId: 'app_cfg',
  issuer: 'https://auth.example.test/v2/idaas_cfg/authorizationServer/iauths_system',
  tokenEndpoint: 'https://auth.example.test/v2/idaas_cfg/authorizationServer/iauths_system/oauth2/token',
  scope: 'urn:cloud:idaas:pam|.all',
  developerApiEndpoint: 'https://developer.example.test',
  authnConfiguration: {
    identityType: 'CLIENT',
    authnMethod: 'CLIENT_SECRET_POST',
    humanAuthenticateClientId: 'iap_developer',
  },
  httpConfiguration: { connectTimeout: 5000, readTimeout: 10_000, unsafeIgnoreSslCert: false },
}

describe('PamClient.fromClientConfig', () => {
  it('takes the instance and the developer API endpoint from the configuration', async () => {
    const fake = fakeFetch(() => Response.json({ active: true }))
    const pam = PamClient.fromClientConfig(config, {
      credentials: countingProvider(),
      http: { fetch: fake.fetch },
    })
    expect(pam).toMatchObject({ instanceId: 'idaas_cfg', endpoint: 'https://developer.example.test' })
    await pam.validateAuthenticationToken('t')
    expect(fake.requests[0]!.url.href).toBe(
      'https://developer.example.test/v2/idaas_cfg/authenticationTokens/_/actions/validate',
    )
    await pam.close()
  })

  it('a configuration without developerApiEndpoint is a ConfigurationError naming the file and the key', () => {
    const { developerApiEndpoint: _, ...without } = config
    expect(() => PamClient.fromClientConfig(without, { credentials: countingProvider() })).toThrow(
      ConfigurationError,
    )
    expect(() => PamClient.fromClientConfig(without, { credentials: countingProvider() })).toThrow(
      '/etc/idaas/client-config.json: developerApiEndpoint is required',
    )
  })
})
