// A PamClient-like source of cloud credentials for the endpoint tests: the SDK's own cache (one
// request in flight, refreshed ahead of expiry, failures not kept) in front of a loader the test
// controls, on a clock the test moves. The SDK's sources, not its package: the cache is not
// exported, and the compiler must see the same credential classes as the cache's (the package's
// types are its built declarations; at run time both are the sources).
import { request as httpRequest } from 'node:http'
import {
  AlibabaCloudStsCredentials,
  AwsStsCredentials,
  type CloudCredentials,
} from '../../../sdk/src/cloud/cloud-credentials.js'
import { CloudCredentialsCache } from '../../../sdk/src/cloud/cloud-credentials-cache.js'
import { ServerError } from '../../../sdk/src/errors.js'
import type { CloudCredentialSource } from '../../src/credential-endpoints/role-feed.js'

export const ALIBABA_ROLE = 'acs:ram::1234567890123456:role/reader'
export const AWS_ROLE = 'arn:aws:iam::123456789012:role/deployer'
export const MINUTE = 60_000
export const HOUR = 60 * MINUTE

/** Secrets look like this, numbered: tests look for `canary` in what was logged. */
export const secretOf = (vendor: string, n: number) => `canary-${vendor}-secret-${n}-7f3e9a`
export const tokenOf = (vendor: string, n: number) => `canary-${vendor}-token-${n}-c41d08`

/** Credentials of `arn`'s vendor, the n-th, expiring at `expiresAtMs` (whole seconds). */
export function credentialsFor(arn: string, n: number, expiresAtMs: number): CloudCredentials {
  const expiresAt = Math.floor(expiresAtMs / 1000)
  const facts = {
    cloudAccountId: 'ca_test',
    cloudAccountRoleId: 'car_test',
    cloudAccountRoleName: 'test',
    cloudAccountRoleExternalId: arn,
    expiration: new Date(expiresAt * 1000),
    expiresAt,
  }
  return arn.startsWith('acs:')
    ? new AlibabaCloudStsCredentials(
        { ...facts, accessKeyId: `STS.key-${n}` },
        secretOf('alibaba', n),
        tokenOf('alibaba', n),
      )
    : new AwsStsCredentials({ ...facts, accessKeyId: `ASIAKEY${n}` }, secretOf('aws', n), tokenOf('aws', n))
}

/** A server-side failure, as the SDK throws it (`serverCode` is what the log must name). */
export const stsUnavailable = () =>
  new ServerError('the STS endpoint could not be reached', { status: 502, serverCode: 'StsUnavailable' })

/** A refusal as the SDK throws it, with a request id of its own each time (as a server gives). */
export function refusals(serverCode: string, message: string): () => Error {
  let n = 0
  return () => new ServerError(message, { status: 403, serverCode, requestId: `req_${++n}` })
}

export interface FakeSource extends CloudCredentialSource {
  /** Loader calls, i.e. requests the server would have seen. */
  readonly calls: { arn: string; durationSeconds: number | undefined }[]
  /** The clock's now, epoch ms. */
  now: number
  /** Each new fetch issues credentials living this long (default an hour). */
  lifetimeMs: number
  /** When set, fetches fail with it. */
  failWith: (() => Error) | undefined
  /** When set, fetches wait for it. */
  gate: Promise<void> | undefined
  close(): void
}

export function fakeSource(start = Date.UTC(2030, 0, 1)): FakeSource {
  let issued = 0
  const source: FakeSource = {
    calls: [],
    now: start,
    lifetimeMs: HOUR,
    failWith: undefined,
    gate: undefined,
    // One SDK at run time; two declarations of it for the compiler (sources and build).
    getCloudCredentials: ((arn: string, options = {}) =>
      cache.get(arn, options)) as unknown as CloudCredentialSource['getCloudCredentials'],
    close: () => cache.close(),
  }
  const cache = new CloudCredentialsCache(
    async (arn, durationSeconds) => {
      source.calls.push({ arn, durationSeconds })
      if (source.gate !== undefined) await source.gate
      if (source.failWith !== undefined) throw source.failWith()
      issued += 1
      return credentialsFor(arn, issued, source.now + source.lifetimeMs)
    },
    { now: () => source.now },
  )
  return source
}

/**
 * A request to the endpoint through node:http, so every header is sent as given (fetch would not
 * send a Host of our choosing), answering the status, headers and body.
 */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers ?? {} },
      (answer) => {
        const chunks: Buffer[] = []
        answer.on('data', (chunk: Buffer) => chunks.push(chunk))
        answer.on('end', () => {
          const headers = new Headers()
          for (const [name, value] of Object.entries(answer.headers))
            if (typeof value === 'string') headers.set(name, value)
          resolve({ status: answer.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') })
        })
        answer.on('error', reject)
      },
    )
    sent.on('error', reject)
    sent.end()
  })
}
