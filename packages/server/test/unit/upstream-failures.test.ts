import { ERROR_STATUS } from '@strongroom/protocol'
import { describe, expect, it } from 'vitest'
import { PamError } from '../../src/errors.js'
import { type UpstreamRequest, UpstreamTokens } from '../../src/services/providers/upstream-tokens.js'

const request: UpstreamRequest = {
  provider: 'upstream-test',
  settings: {
    tokenEndpoint: 'https://upstream.example/token',
    clientId: 'client',
    authMethod: 'client_secret_post',
    defaultScope: '',
  },
  clientSecret: async () => 'secret',
  scope: '',
  customParameters: {},
}

async function failure(fetchFn: typeof fetch): Promise<PamError> {
  const error = await new UpstreamTokens(() => 0, fetchFn).get('p', 1, 'v', request, false).catch((e) => e)
  expect(error).toBeInstanceOf(PamError)
  return error as PamError
}

describe('an upstream token endpoint that does not answer', () => {
  it('is UpstreamTimeout (504) when it gives no answer in time', async () => {
    const error = await failure(async () => {
      throw new DOMException('The operation was aborted due to timeout', 'TimeoutError')
    })
    expect(error.code).toBe('UpstreamTimeout')
    expect(ERROR_STATUS[error.code].status).toBe(504)
    expect(error.message).toMatch(/did not answer within 10 s$/)
  })

  it('is UpstreamUnavailable (502) when it cannot be reached', async () => {
    const error = await failure(async () => {
      throw new TypeError('fetch failed')
    })
    expect(error.code).toBe('UpstreamUnavailable')
    expect(ERROR_STATUS[error.code].status).toBe(502)
    expect(error.message).toMatch(/could not be reached$/)
  })
})
