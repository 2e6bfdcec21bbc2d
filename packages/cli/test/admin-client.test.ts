import { describe, expect, it } from 'vitest'
import { AdminClient } from '../src/admin-client.js'
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
