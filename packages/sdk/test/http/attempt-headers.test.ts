import { describe, expect, it } from 'vitest'
import { createHttpClient } from '../../src/http/http-client.js'

/** A `fetch` that answers each call from `statuses` in turn and records the headers it was sent. */
function recordingFetch(statuses: number[]) {
  const sent: Headers[] = []
  const fetch = async (_url: string, init: RequestInit) => {
    sent.push(new Headers(init.headers))
    return Response.json({ ok: true }, { status: statuses[sent.length - 1] ?? 200 })
  }
  return { fetch, sent }
}

describe('headers made afresh for every attempt', () => {
  it('each attempt, retries included, gets its own, over the call’s own headers', async () => {
    const { fetch, sent } = recordingFetch([503, 429, 200])
    const http = createHttpClient({ fetch, sleep: async () => {} })
    let made = 0
    await http.request('POST', 'https://api.example.test/x', {
      json: {},
      headers: { 'x-kept': 'yes', dpop: 'from-the-call' },
      attemptHeaders: async () => ({ dpop: `proof-${++made}` }),
    })
    expect(sent.map((h) => h.get('dpop'))).toEqual(['proof-1', 'proof-2', 'proof-3'])
    for (const headers of sent) {
      expect(headers.get('x-kept')).toBe('yes')
      expect(headers.get('content-type')).toBe('application/json; charset=utf-8')
    }
  })

  it('a failure to make them fails the call without a request', async () => {
    const { fetch, sent } = recordingFetch([200])
    const http = createHttpClient({ fetch })
    const failure = new TypeError('not a key')
    await expect(
      http.request('GET', 'https://api.example.test/x', {
        attemptHeaders: async () => {
          throw failure
        },
      }),
    ).rejects.toBe(failure)
    expect(sent).toHaveLength(0)
  })
})
