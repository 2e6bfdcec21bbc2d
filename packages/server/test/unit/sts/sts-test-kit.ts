// What the STS client tests share: a fixed clock, a fetch that remembers what it sent, the error a
// promise rejects with, and the check that no secret reached an error.

import { createServer } from 'node:net'
import { inspect } from 'node:util'
import { expect } from 'vitest'
import { PamError } from '../../../src/errors.js'

/** 2030-01-02T03:04:05Z: both the client's and the stand-in's clock, so expirations are exact. */
export const FIXED_NOW = Date.UTC(2030, 0, 2, 3, 4, 5)
export const fixedClock = (): number => FIXED_NOW

/** A fetch that records each request it sends (URL, headers, body), then sends it. */
export function recordingFetch(inner: typeof fetch = fetch): {
  fetch: typeof fetch
  sent: { url: string; headers: Record<string, string>; body: string }[]
} {
  const sent: { url: string; headers: Record<string, string>; body: string }[] = []
  const recording = ((url: string | URL | Request, init?: RequestInit) => {
    sent.push({
      url: String(url),
      headers: { ...(init?.headers as Record<string, string> | undefined) },
      body: typeof init?.body === 'string' ? init.body : '',
    })
    return inner(url, init)
  }) as typeof fetch
  return { fetch: recording, sent }
}

/** The error `promise` rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<PamError> {
  try {
    await promise
  } catch (error) {
    return error as PamError
  }
  throw new Error('expected a rejection')
}

/** Asserts `error` is a PamError with `code` and `status`. */
export function expectPamError(error: unknown, code: string, status: number): asserts error is PamError {
  expect(error).toBeInstanceOf(PamError)
  expect((error as PamError).code).toBe(code)
  expect((error as PamError).status).toBe(status)
}

/** Nothing of `secrets` in the error's message, stack, inspection (causes included) or JSON. */
export function expectNoSecret(error: unknown, secrets: readonly string[]): void {
  const err = error as Error
  const views = [
    String(error),
    err.message,
    err.stack ?? '',
    inspect(error, { depth: 10, showHidden: true }),
    JSON.stringify(error),
    JSON.stringify(Object.entries(error as object)),
  ].join('\n')
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThan(4)
    expect(views).not.toContain(secret)
  }
}

/** The signatures sent: Alibaba's `Signature` parameter, SigV4's `Signature=` in Authorization. */
export function sentSignatures(sent: readonly { url: string; headers: Record<string, string> }[]): string[] {
  return sent.flatMap(({ url, headers }) => {
    const rpc = new URL(url).searchParams.get('Signature')
    const sigv4 = /Signature=([0-9a-f]{64})/.exec(headers['authorization'] ?? '')?.[1]
    return [rpc, sigv4].filter((s): s is string => s != null)
  })
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
