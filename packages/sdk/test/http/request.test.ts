import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NotFoundError, type PamError, ServerError, ValidationError } from '../../src/errors.js'
import { createHttpClient } from '../../src/http/http-client.js'
import { SDK_VERSION } from '../../src/version.js'
import { bodyOf, json, startHttpServer, type TestServer } from './support.js'

let server: TestServer
beforeAll(async () => {
  server = await startHttpServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x')
    if (url.pathname === '/echo') {
      json(response, 200, {
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: bodyOf(request),
      })
    } else if (url.pathname === '/empty') {
      response.writeHead(204).end()
    } else if (url.pathname === '/html') {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<html>portal</html>')
    } else if (url.pathname === '/big') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(`"${'a'.repeat(5_000)}"`)
    } else if (url.pathname === '/bad-field') {
      json(response, 400, {
        Code: 'InvalidParameter',
        Message: 'field credentialIdentifier must not be empty',
        RequestId: 'req-body',
        field: 'credentialIdentifier',
      })
    } else if (url.pathname === '/oauth') {
      json(response, 400, {
        error: 'invalid_client',
        error_description: 'client authentication failed',
        request_id: 'req-oauth',
      })
    } else if (url.pathname === '/header-id') {
      response.writeHead(404, { 'x-request-id': 'req-header', 'content-type': 'text/plain' }).end('not here')
    } else if (url.pathname === '/redirect') {
      response.writeHead(302, { location: 'https://elsewhere.example/?token=abc' }).end()
    } else {
      json(response, 404, {})
    }
  })
})
afterAll(() => server.close())

type Echo = { method: string; url: string; headers: Record<string, string>; body: string }

describe('requests', () => {
  it('sends a User-Agent naming the SDK and Node versions', async () => {
    const client = createHttpClient({ userAgent: 'my-service/1.2.3' })
    const echo = await client.request<Echo>('GET', `${server.url}/echo`)
    expect(echo.headers['user-agent']).toBe(
      `strongroom-sdk/${SDK_VERSION} node/${process.version} (${process.platform}; ${process.arch}) my-service/1.2.3`,
    )
    expect(echo.headers['accept']).toBe('application/json')
  })

  it('sends JSON POST bodies with a Bearer header, resolving URLs against baseUrl', async () => {
    const client = createHttpClient({ baseUrl: `${server.url}/` })
    const echo = await client.request<Echo>('POST', 'echo', {
      json: { credentialIdentifier: 'payments/stripe' },
      headers: { authorization: 'Bearer at_123' },
    })
    expect(echo.method).toBe('POST')
    expect(echo.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(echo.headers['authorization']).toBe('Bearer at_123')
    expect(JSON.parse(echo.body)).toEqual({ credentialIdentifier: 'payments/stripe' })
  })

  it('puts GET fields in the query string (booleans, numbers, repeated arrays; undefined left out)', async () => {
    const client = createHttpClient()
    const echo = await client.request<Echo>('GET', `${server.url}/echo`, {
      query: { revoked: false, maxResults: 20, scope: ['a', 'b'], nextToken: undefined, name: 'x y' },
    })
    expect(echo.url).toBe('/echo?revoked=false&maxResults=20&scope=a&scope=b&name=x+y')
  })

  it('sends form bodies for the token endpoint', async () => {
    const client = createHttpClient()
    const echo = await client.request<Echo>('POST', `${server.url}/echo`, {
      form: {
        grant_type: 'client_credentials',
        client_id: 'app',
        scope: 'urn:cloud:idaas:pam|.all',
        unused: undefined,
      },
    })
    expect(echo.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(echo.body).toBe(
      'grant_type=client_credentials&client_id=app&scope=urn%3Acloud%3Aidaas%3Apam%7C.all',
    )
  })

  it('resolves an empty body as undefined', async () => {
    await expect(createHttpClient().request('DELETE', `${server.url}/empty`)).resolves.toBeUndefined()
  })

  it('refuses a 2xx body that is not JSON, and one over the size limit', async () => {
    const client = createHttpClient({ maxResponseBytes: 1_000 })
    await expect(client.request('GET', `${server.url}/html`)).rejects.toThrow(/not JSON/)
    await expect(client.request('GET', `${server.url}/big`)).rejects.toThrow(/over the limit of 1000 bytes/)
  })

  it('refuses json and form together as a programming error', async () => {
    await expect(
      createHttpClient().request('POST', `${server.url}/echo`, { json: {}, form: {} }),
    ).rejects.toThrow(TypeError)
  })
})

describe('error mapping', () => {
  it('keeps field, server code and request id from the body; the body stays non-enumerable', async () => {
    const client = createHttpClient()
    const error = (await client
      .request('POST', `${server.url}/bad-field?access_token=secret-in-query`, {
        json: { secret: 'hunter2' },
        headers: { authorization: 'Bearer secret-token' },
      })
      .catch((e: unknown) => e)) as ValidationError
    expect(error).toBeInstanceOf(ValidationError)
    expect(error).toMatchObject({
      code: 'ERR_PAM_VALIDATION',
      status: 400,
      serverCode: 'InvalidParameter',
      requestId: 'req-body',
      field: 'credentialIdentifier',
    })
    expect(error.message).toBe('field credentialIdentifier must not be empty (request id req-body)')
    expect(Object.keys(error)).not.toContain('response')
    expect(error.response).toMatchObject({ Code: 'InvalidParameter' })
    const shown = `${error.message} ${inspect(error)} ${JSON.stringify(error)} ${error.stack}`
    expect(shown).not.toMatch(/secret-in-query|hunter2|secret-token/)
  })

  it('reads the OAuth key set (error, error_description, request_id)', async () => {
    const error = (await createHttpClient()
      .request('POST', `${server.url}/oauth`, { form: { client_secret: 'shh' } })
      .catch((e: unknown) => e)) as PamError
    expect(error).toMatchObject({ status: 400, serverCode: 'invalid_client', requestId: 'req-oauth' })
    expect(error.message).toContain('client authentication failed')
    expect(error.message).not.toContain('shh')
  })

  it('falls back to the x-request-id header and a message without the query', async () => {
    const error = (await createHttpClient()
      .request('GET', `${server.url}/header-id?token=abc`)
      .catch((e: unknown) => e)) as NotFoundError
    expect(error).toBeInstanceOf(NotFoundError)
    expect(error.requestId).toBe('req-header')
    expect(error.message).toBe(`GET ${server.url}/header-id answered 404 Not Found (request id req-header)`)
  })

  it('does not follow redirects', async () => {
    const error = (await createHttpClient()
      .request('GET', `${server.url}/redirect`)
      .catch((e: unknown) => e)) as ServerError
    expect(error).toBeInstanceOf(ServerError)
    expect(error.status).toBe(302)
    expect(error.message).not.toContain('token=abc')
  })
})
