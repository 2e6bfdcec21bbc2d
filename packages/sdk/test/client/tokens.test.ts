import { describe, expect, it } from 'vitest'
import { PamClient } from '../../src/client/pam-client.js'
import { createHttpClient, type HttpClient } from '../../src/http/http-client.js'
import { clientWith, countingProvider, ENDPOINT, fakeFetch, INSTANCE, rejectionOf } from './support.js'

const credential = {
  credentialId: 'cred_01',
  credentialIdentifier: 'demo/api-key',
  credentialName: 'Demo',
  credentialType: 'api_key',
  status: 'enabled',
  description: '',
  instanceId: INSTANCE,
  createTime: 1,
  updateTime: 1,
  credentialContent: { apiKeyContent: { apiKey: 'k' } },
}

describe('PamClient access tokens', () => {
  it('1,000 concurrent calls on a cold client ask a cacheable provider for one token', async () => {
    const provider = countingProvider()
    const { client, fake } = clientWith(() => Response.json(credential), { provider })
    const keys = await Promise.all(Array.from({ length: 1000 }, () => client.getApiKey('demo/api-key')))
    expect(new Set(keys)).toEqual(new Set(['k']))
    expect(provider.calls).toBe(1)
    expect(fake.requests).toHaveLength(1000)
    expect(new Set(fake.requests.map((r) => r.headers.get('authorization')))).toEqual(
      new Set(['Bearer access-1']),
    )
    await client.getApiKey('demo/api-key')
    expect(provider.calls).toBe(1)
    await client.close()
  })

  it('asks a provider that is not cacheable at every call', async () => {
    const provider = countingProvider({ cacheable: false })
    const { client, fake } = clientWith(() => Response.json(credential), { provider })
    await Promise.all(Array.from({ length: 5 }, () => client.getApiKey('demo/api-key')))
    expect(provider.calls).toBe(5)
    expect(new Set(fake.requests.map((r) => r.headers.get('authorization'))).size).toBe(5)
    await client.close()
  })

  it('sends its token on Validate and ObtainJwtByDerivedShortToken too (the Python SDK sends none: docs/security-model.md)', async () => {
    const provider = countingProvider()
    const { client, fake } = clientWith(() => Response.json({ active: true }), { provider })
    await client.validateAuthenticationToken('t')
    expect(provider.calls).toBe(1)
    expect(fake.requests[0]!.headers.get('authorization')).toBe('Bearer access-1')
    await client.close()
  })

  it('close() and await using close the token cache and the HTTP client; later calls reject', async () => {
    let httpClosed = 0
    const fake = fakeFetch(() => Response.json(credential))
    const http = createHttpClient({ fetch: fake.fetch })
    const counted: HttpClient = {
      request: (method, url, options) => http.request(method, url, options),
      circuitState: undefined,
      close: async () => {
        httpClosed += 1
      },
      [Symbol.asyncDispose]: async () => {},
    }
    const provider = countingProvider()
    let kept: PamClient | undefined
    {
      await using pam = new PamClient({
        credentials: provider,
        instanceId: INSTANCE,
        endpoint: ENDPOINT,
        http: counted,
      })
      expect(await pam.getApiKey('demo/api-key')).toBe('k')
      kept = pam
    }
    expect(httpClosed).toBe(1)
    await kept.close()
    expect(httpClosed).toBe(1)
    expect(await rejectionOf(kept.getApiKey('demo/api-key'))).toMatchObject({ name: 'AbortError' })
    expect(await rejectionOf(kept.validateAuthenticationToken('t'))).toMatchObject({ name: 'AbortError' })
    expect(JSON.parse(JSON.stringify(kept))).toMatchObject({ closed: true })
    expect(fake.requests).toHaveLength(1)
  })

  it('a caller’s signal stops its wait for the token; the shared refresh goes on for the others', async () => {
    const provider = countingProvider()
    const { client } = clientWith(() => Response.json(credential), { provider })
    const controller = new AbortController()
    const impatient = client.getApiKey('demo/api-key', { signal: controller.signal })
    const patient = client.getApiKey('demo/api-key')
    controller.abort(new Error('gave up'))
    await expect(impatient).rejects.toThrow('gave up')
    await expect(patient).resolves.toBe('k')
    expect(provider.calls).toBe(1)
    await client.close()
  })
})
