import { describe, expect, it } from 'vitest'
import {
  AuthenticationError,
  CredentialProviderError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ServerError,
  ValidationError,
} from '../../src/errors.js'
import { clientWith, countingProvider, errorResponse, rejectionOf } from './support.js'

describe('PamClient errors', () => {
  it.each([
    [400, 'InvalidParameter', ValidationError, 'ERR_PAM_VALIDATION'],
    [403, 'PermissionDenied', PermissionError, 'ERR_PAM_PERMISSION'],
    [404, 'CredentialNotFound', NotFoundError, 'ERR_PAM_NOT_FOUND'],
    [429, 'Throttling.User', RateLimitError, 'ERR_PAM_RATE_LIMITED'],
    [500, 'InternalError', ServerError, 'ERR_PAM_SERVER'],
  ] as const)('%i %s → %o with the request id', async (status, serverCode, ErrorClass, code) => {
    const { client } = clientWith(() => errorResponse(status, serverCode, 'the server said no', 'req_42'), {
      http: { retry: false },
    })
    const error = await rejectionOf(client.getApiKey('demo/api-key'))
    expect(error).toBeInstanceOf(ErrorClass)
    expect(error).toMatchObject({ code, status, serverCode, requestId: 'req_42' })
    expect((error as Error).message).toContain('the server said no')
    await client.close()
  })

  it('after a 401 the cached token is refreshed once and the call sent again', async () => {
    const provider = countingProvider()
    const { client, fake } = clientWith(
      (request, index) =>
        index === 0
          ? errorResponse(401, 'InvalidToken', 'token revoked', 'req_1')
          : Response.json({ active: request.headers.get('authorization') === 'Bearer access-2' }),
      { provider },
    )
    await client.revokeAuthenticationToken('t').catch(() => {})
    expect(fake.requests.map((r) => r.headers.get('authorization'))).toEqual([
      'Bearer access-1',
      'Bearer access-2',
    ])
    expect(provider.calls).toBe(2)
    await client.close()
  })

  it('a second 401 is an AuthenticationError; 1,000 concurrent refusals share one refresh', async () => {
    const provider = countingProvider()
    const { client } = clientWith(() => errorResponse(401, 'InvalidToken', 'bad token', 'req_9'), {
      provider,
    })
    const errors = await Promise.all(Array.from({ length: 1000 }, () => rejectionOf(client.getApiKey('x'))))
    for (const error of errors) {
      expect(error).toBeInstanceOf(AuthenticationError)
      expect(error).toMatchObject({ status: 401, serverCode: 'InvalidToken', requestId: 'req_9' })
    }
    expect(provider.calls).toBe(2)
    await client.close()
  })

  it('Validate, like every call, refreshes a refused token once, then reports the 401', async () => {
    const { client, fake } = clientWith(() => errorResponse(401, 'InvalidToken', 'no', 'req_3'))
    expect(await rejectionOf(client.validateAuthenticationToken('t'))).toBeInstanceOf(AuthenticationError)
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('a provider that cannot give a token fails the call without a request', async () => {
    const failing = {
      name: 'failing',
      cacheable: true,
      getToken: async () => {
        throw new CredentialProviderError('no secret configured', { notConfigured: true })
      },
    }
    const { client, fake } = clientWith(() => Response.json({}), { provider: failing })
    expect(await rejectionOf(client.getApiKey('x'))).toBeInstanceOf(CredentialProviderError)
    expect(fake.requests).toHaveLength(0)
    await client.close()
  })
})
