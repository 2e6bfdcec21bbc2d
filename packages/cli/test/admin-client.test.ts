import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { AdminClient, MAX_RESPONSE_BYTES } from '../src/admin-client.js'
import { ApiError, CliError } from '../src/errors.js'
import { fakeFetch } from './fake-io.js'

const TOKEN = 'srat_TESTTOKEN1234'

function pagedRoute(total: number) {
  return (url: URL): [number, unknown] => {
    const start = Number(url.searchParams.get('nextToken') ?? '0')
    const size = Number(url.searchParams.get('maxResults'))
    const end = Math.min(total, start + size)
    const entities = Array.from({ length: end - start }, (_, i) => ({ n: start + i }))
    return [200, { entities, nextToken: end < total ? String(end) : null, maxResults: size }]
  }
}

describe('AdminClient', () => {
  it('sends the bearer token and JSON, and parses JSON', async () => {
    const { fetch, requests } = fakeFetch({ 'POST /admin/v1/instances': [201, { instanceId: 'idaas_1' }] })
    const client = new AdminClient({ baseUrl: 'http://h:1/', token: TOKEN, fetch })
    expect(await client.post('/admin/v1/instances', { name: 'x' })).toEqual({ instanceId: 'idaas_1' })
    const [request] = requests
    expect(request?.url.href).toBe('http://h:1/admin/v1/instances')
    expect(request?.headers.get('authorization')).toBe(`Bearer ${TOKEN}`)
    expect(request?.headers.get('content-type')).toBe('application/json')
    expect(request?.body).toEqual({ name: 'x' })
  })

  it('follows nextToken through every page', async () => {
    const { fetch, requests } = fakeFetch({ 'GET /list': pagedRoute(250) })
    const client = new AdminClient({ baseUrl: 'http://h:1', token: TOKEN, fetch })
    const all = await client.list<{ n: number }>('/list', { q: 'x' })
    expect(all.map((e) => e.n)).toEqual(Array.from({ length: 250 }, (_, i) => i))
    expect(requests.map((r) => r.url.search)).toEqual([
      '?q=x&maxResults=100',
      '?q=x&maxResults=100&nextToken=100',
      '?q=x&maxResults=100&nextToken=200',
    ])
  })

  it('stops at the limit, asking for no more than needed', async () => {
    const { fetch, requests } = fakeFetch({ 'GET /list': pagedRoute(250) })
    const client = new AdminClient({ baseUrl: 'http://h:1', token: TOKEN, fetch })
    expect(await client.list('/list', {}, { limit: 130 })).toHaveLength(130)
    expect(requests.map((r) => r.url.searchParams.get('maxResults'))).toEqual(['100', '30'])
  })

  it('turns an error body into an ApiError', async () => {
    const body = {
      Code: 'InvalidParameter',
      Message: 'name is too long',
      RequestId: 'req_9',
      error: 'invalid_request',
      error_description: 'name is too long',
      request_id: 'req_9',
      field: 'name',
      rule: 'maxLength',
    }
    const { fetch } = fakeFetch({ 'POST /x': [400, body] })
    const client = new AdminClient({ baseUrl: 'http://h:1', token: TOKEN, fetch })
    const error = await client.post('/x', {}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({
      apiCode: 'InvalidParameter',
      requestId: 'req_9',
      field: 'name',
      rule: 'maxLength',
      status: 400,
    })
  })

  it('reports a non-JSON error by status', async () => {
    const fetch = (async () =>
      new Response('<html>bad gateway</html>', {
        status: 502,
        statusText: 'Bad Gateway',
      })) as typeof globalThis.fetch
    const client = new AdminClient({ baseUrl: 'http://user:pw@h:1', token: TOKEN, fetch })
    await expect(client.get('/x')).rejects.toThrow('HTTP 502 Bad Gateway from http://h:1')
  })

  it('names the URL and npm start when the connection is refused', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' })
    const fetch = (async () => {
      throw new TypeError('fetch failed', { cause: new AggregateError([refused], 'all attempts failed') })
    }) as typeof globalThis.fetch
    const client = new AdminClient({ baseUrl: 'http://127.0.0.1:9', token: TOKEN, fetch })
    const error = await client.get('/x').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CliError)
    expect(error).toMatchObject({ code: 'ConnectionRefused' })
    expect((error as Error).message).toBe(
      'cannot connect to http://127.0.0.1:9 (connection refused): is the server running? `npm start` starts one',
    )
  })

  it('does not show the token when inspected or serialised', async () => {
    const { inspect } = await import('node:util')
    const client = new AdminClient({ baseUrl: 'http://h:1', token: TOKEN })
    expect(inspect(client, { showHidden: true, depth: 5 })).not.toContain(TOKEN)
    expect(JSON.stringify(client)).not.toContain(TOKEN)
  })
})

describe('AdminClient: redirects and response size', () => {
  const servers: Server[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))))
  })

  /** A real HTTP server on a free port, recording each request and its body. */
  const listen = async (
    handler: (request: IncomingMessage, body: string) => [number, Record<string, string>, string],
  ) => {
    const received: { path: string | undefined; body: string; authorization: string | undefined }[] = []
    const server = createServer((request, response) => {
      let body = ''
      request.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk
      })
      request.on('end', () => {
        received.push({ path: request.url, body, authorization: request.headers.authorization })
        const [status, headers, text] = handler(request, body)
        response.writeHead(status, headers).end(text)
      })
    })
    servers.push(server)
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }
  }

  it('does not follow a 307: the secret body is not sent again elsewhere, and it is an HTTP error', async () => {
    const elsewhere = await listen(() => [
      201,
      { 'content-type': 'application/json' },
      '{"credentialId":"cred_x"}',
    ])
    const proxy = await listen((request) => [307, { location: `${elsewhere.url}${request.url}` }, ''])
    const client = new AdminClient({ baseUrl: proxy.url, token: TOKEN })
    const error = await client
      .post('/admin/v1/credentials', { value: 'SECRET-VALUE' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CliError)
    expect(error).toMatchObject({ code: 'HttpError' })
    expect((error as Error).message).toBe(
      `HTTP 307 Temporary Redirect from ${proxy.url}: redirects are not followed (give the server's own URL)`,
    )
    expect(proxy.received).toHaveLength(1)
    expect(elsewhere.received).toEqual([])
  })

  it('reports any 3xx, even with a JSON error body, as a redirect not followed', async () => {
    for (const status of [301, 302, 303, 308]) {
      const fetch = (async (_url: unknown, init?: RequestInit) => {
        expect(init?.redirect).toBe('manual')
        return Response.json({ Code: 'Moved', Message: 'x' }, { status, headers: { location: 'http://x/' } })
      }) as typeof globalThis.fetch
      const client = new AdminClient({ baseUrl: 'http://h:1', token: TOKEN, fetch })
      await expect(client.get('/x')).rejects.toThrow(
        /^HTTP 30\d .*from http:\/\/h:1: redirects are not followed/,
      )
    }
  })

  it('reads at most 16 MiB of an answer and reports more as an invalid response', async () => {
    const chunk = new Uint8Array(1024 * 1024).fill(0x20)
    let sent = 0
    // 32 MiB of blanks: the read stops soon after the cap, not at the end.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 32 * chunk.byteLength) return controller.close()
        sent += chunk.byteLength
        controller.enqueue(chunk)
      },
    })
    const fetch = (async () => new Response(body, { status: 200 })) as typeof globalThis.fetch
    const client = new AdminClient({ baseUrl: 'http://h:1', token: TOKEN, fetch })
    const error = await client.get('/admin/v1/whoami').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CliError)
    expect(error).toMatchObject({ code: 'InvalidResponse' })
    expect((error as Error).message).toBe('http://h:1 answered GET /admin/v1/whoami with more than 16 MiB')
    expect(sent).toBeLessThan(MAX_RESPONSE_BYTES + 3 * chunk.byteLength)
  })

  it('reads an answer up to the cap, decoded as UTF-8', async () => {
    const fetch = (async () => Response.json({ name: 'å\u202e' })) as typeof globalThis.fetch
    const client = new AdminClient({ baseUrl: 'http://h:1', token: TOKEN, fetch, maxResponseBytes: 20 })
    expect(await client.get('/x')).toEqual({ name: 'å\u202e' })
    const small = new AdminClient({ baseUrl: 'http://h:1', token: TOKEN, fetch, maxResponseBytes: 10 })
    await expect(small.get('/x')).rejects.toThrow('http://h:1 answered GET /x with more than 10 bytes')
  })
})
