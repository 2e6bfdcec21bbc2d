// Fakes for the PamClient's unit tests: a recording `fetch` answering from a handler, and a
// credential provider that counts the tokens it was asked for.

import { PamClient } from '../../src/client/pam-client.js'
import type { PamClientOptions } from '../../src/client/pam-client-options.js'
import type { CredentialProvider } from '../../src/credentials/credential-provider.js'
import type { HttpClientOptions } from '../../src/http/client-options.js'

export const INSTANCE = 'idaas_test01'
export const ENDPOINT = 'https://pam.example.test'
export const BASE = `${ENDPOINT}/v2/${INSTANCE}`

export interface RecordedRequest {
  readonly method: string
  readonly url: URL
  readonly headers: Headers
  /** The parsed JSON body, `undefined` when there was none. */
  readonly json: unknown
}

export type Handler = (request: RecordedRequest, index: number) => Response | Promise<Response>

export interface FakeFetch {
  readonly requests: RecordedRequest[]
  fetch(url: string, init: RequestInit): Promise<Response>
}

export function fakeFetch(handler: Handler): FakeFetch {
  const requests: RecordedRequest[] = []
  return {
    requests,
    async fetch(url, init) {
      const body = typeof init.body === 'string' ? init.body : undefined
      const request: RecordedRequest = {
        method: init.method ?? 'GET',
        url: new URL(url),
        headers: new Headers(init.headers),
        json: body === undefined ? undefined : JSON.parse(body),
      }
      requests.push(request)
      return handler(request, requests.length - 1)
    },
  }
}

export interface CountingProvider extends CredentialProvider {
  /** How many tokens were asked for. */
  readonly calls: number
}

/** Gives `access-1`, `access-2`, … valid for an hour, each after a macrotask (like a real request). */
export function countingProvider(options: { cacheable?: boolean; name?: string } = {}): CountingProvider {
  let calls = 0
  return {
    name: options.name ?? 'counting',
    cacheable: options.cacheable ?? true,
    get calls() {
      return calls
    },
    async getToken({ signal } = {}) {
      calls += 1
      const n = calls
      await new Promise((resolve) => setTimeout(resolve, 5))
      signal?.throwIfAborted()
      return { accessToken: `access-${n}`, expiresAt: Date.now() + 3_600_000, tokenType: 'bearer' }
    },
  }
}

/** A client whose every request goes to `handler`; retries wait nothing. */
export function clientWith(
  handler: Handler,
  options: Partial<Omit<PamClientOptions, 'http'>> & {
    provider?: CredentialProvider
    /** Merged into the HTTP options (which already have the fake `fetch` and a no-wait `sleep`). */
    http?: HttpClientOptions
  } = {},
): { client: PamClient; fake: FakeFetch; provider: CredentialProvider } {
  const fake = fakeFetch(handler)
  const { provider = countingProvider(), http, ...rest } = options
  const client = new PamClient({
    credentials: provider,
    instanceId: INSTANCE,
    endpoint: ENDPOINT,
    ...rest,
    http: { fetch: fake.fetch, sleep: async () => {}, ...http },
  })
  return { client, fake, provider }
}

/** Token T as the server sends it (times in epoch milliseconds). */
export function tokenRecord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    authenticationTokenId: 'atntkn_01',
    authenticationTokenType: 'jwt',
    consumerId: 'app_demo',
    consumerType: 'application',
    creatorId: 'app_demo',
    creatorType: 'application',
    credentialProviderId: 'atp_01',
    instanceId: INSTANCE,
    revoked: false,
    createTime: 1_700_000_000_000,
    updateTime: 1_700_000_000_500,
    expirationTime: 1_700_000_600_000,
    ...overrides,
  }
}

/** The error body of a strongroom server, both key sets. */
export function errorResponse(status: number, code: string, message: string, requestId: string): Response {
  return Response.json(
    {
      Code: code,
      Message: message,
      RequestId: requestId,
      error: code,
      error_description: message,
      request_id: requestId,
    },
    { status },
  )
}

/** What the platform `fetch` rejects with when the server reset the connection. */
export function connectionReset(): TypeError {
  return new TypeError('fetch failed', {
    cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
  })
}

/** The rejection of `promise` (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail')
    },
    (error: unknown) => error,
  )
}
