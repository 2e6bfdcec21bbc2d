// The plumbing the two stand-ins share: a real node:http(s) server on 127.0.0.1:0, the raw request
// (method, target, raw headers, body bytes) handed to a handler, hung requests ended on close, the
// mode switch, the record keeping, and the request parameters (query + form body).

import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type {
  StsStandIn,
  StsStandInCredential,
  StsStandInMode,
  StsStandInModeOptions,
  StsStandInOptions,
  StsStandInRequest,
  StsStandInRole,
} from './types.js'

/** A request exactly as received: what a signature is verified against. */
export interface ReceivedRequest {
  readonly method: string
  /** The request target as on the request line: `/?Action=…`. */
  readonly target: string
  /** Names and values alternating, as received (names in their original case). */
  readonly rawHeaders: readonly string[]
  readonly body: Buffer
}

export interface StandInAnswer {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  readonly body: string
}

export type StandInHandler = (request: ReceivedRequest) => Promise<StandInAnswer | 'hang'>

const MAX_BODY_BYTES = 1024 * 1024

/** Starts the server; `close()` ends hanging requests too. */
export async function serveStandIn(
  tls: StsStandInOptions['tls'],
  handler: StandInHandler,
): Promise<{ url: string; host: string; close: () => Promise<void> }> {
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end()
        return
      }
      const received: ReceivedRequest = {
        method: req.method ?? 'GET',
        target: req.url ?? '/',
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      }
      handler(received).then(
        (answer) => {
          if (answer === 'hang') return
          res.writeHead(answer.status, {
            ...answer.headers,
            'content-length': Buffer.byteLength(answer.body),
          })
          res.end(answer.body)
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`stand-in failure: ${String(error)}`)
        },
      )
    })
  }
  const server: Server = tls
    ? createHttpsServer({ cert: pem(tls.cert), key: pem(tls.key) }, listener)
    : createHttpServer(listener)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const host = `127.0.0.1:${port}`
  return {
    url: `${tls ? 'https' : 'http'}://${host}`,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function pem(value: string): string {
  return value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8')
}

/** The values of header `name` (case-insensitive), in the order received. */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === name) values.push(rawHeaders[i + 1]!)
  }
  return values
}

/** The single value of header `name`, or `undefined`. */
export function header(rawHeaders: readonly string[], name: string): string | undefined {
  return headerValues(rawHeaders, name)[0]
}

/**
 * The request's parameters: the query's and, for a form body, the body's (form decoding). A name
 * given twice makes it `{ duplicate }`: no vendor accepts an ambiguous request.
 */
export function requestParams(
  request: ReceivedRequest,
): { params: Map<string, string> } | { duplicate: string } {
  const params = new Map<string, string>()
  const sources: string[] = []
  const question = request.target.indexOf('?')
  if (question >= 0) sources.push(request.target.slice(question + 1))
  const contentType = header(request.rawHeaders, 'content-type') ?? ''
  if (/^application\/x-www-form-urlencoded\b/i.test(contentType)) sources.push(request.body.toString('utf8'))
  for (const source of sources) {
    for (const [name, value] of new URLSearchParams(source)) {
      if (params.has(name)) return { duplicate: name }
      params.set(name, value)
    }
  }
  return { params }
}

/** The mode, with an optional count of requests it lasts for. */
export class ModeSwitch {
  private mode: StsStandInMode = 'normal'
  private options: StsStandInModeOptions = {}
  private left = Number.POSITIVE_INFINITY

  set(mode: StsStandInMode, options: StsStandInModeOptions = {}): void {
    this.mode = mode
    this.options = options
    this.left = options.times ?? Number.POSITIVE_INFINITY
  }

  /** The mode for the request that just arrived (counting it against `times`). */
  take(): { mode: StsStandInMode; options: StsStandInModeOptions } {
    if (this.left <= 0) this.set('normal')
    this.left--
    return { mode: this.mode, options: this.options }
  }
}

/** What both stand-ins keep: keys, roles, records, issued credentials, used nonces. */
export class StandInState {
  readonly keys = new Map<string, string>()
  readonly roles = new Map<string, StsStandInRole>()
  readonly requests: StsStandInRequest[] = []
  readonly issued: StsStandInCredential[] = []
  readonly modes = new ModeSwitch()
  calls = 0

  constructor(options: StsStandInOptions) {
    for (const [id, secret] of Object.entries(options.keys ?? {})) this.keys.set(id, secret)
    for (const role of options.roles ?? []) this.addRole(role)
  }

  addRole(role: StsStandInRole): void {
    const max = role.maxSessionDurationSeconds ?? 3600
    if (!Number.isInteger(max) || max < 900 || max > 43_200) {
      throw new RangeError('maxSessionDurationSeconds must be 900–43200')
    }
    this.roles.set(role.arn, role)
  }

  /** Temporary credentials by access key id. */
  issuedFor(accessKeyId: string): StsStandInCredential | undefined {
    return this.issued.find((credential) => credential.accessKeyId === accessKeyId)
  }

  /** The public object of a stand-in around this state. */
  api(server: { url: string; host: string; close: () => Promise<void> }): StsStandIn {
    const state = this
    return {
      url: server.url,
      host: server.host,
      get calls() {
        return state.calls
      },
      requests: state.requests,
      issued: state.issued,
      setMode: (mode, options) => state.modes.set(mode, options),
      addKey: (id, secret) => void state.keys.set(id, secret),
      addRole: (role) => state.addRole(role),
      clearRecords: () => {
        state.requests.length = 0
        state.calls = 0
      },
      close: server.close,
      [Symbol.asyncDispose]: server.close,
    }
  }
}

/** Remembers nonces for twice the freshness window: a nonce seen in it is a replay. */
export class NonceBook {
  private readonly seen = new Map<string, number>()

  constructor(private readonly windowMs: number) {}

  /** Records `nonce` at `now`; false if it was already used. */
  use(nonce: string, now: number): boolean {
    for (const [old, at] of this.seen) if (at < now - 2 * this.windowMs) this.seen.delete(old)
    if (this.seen.has(nonce)) return false
    this.seen.set(nonce, now)
    return true
  }
}

/** RoleSessionName as both vendors define it: 2–64 of `[\w+=,.@-]`. */
export const SESSION_NAME = /^[\w+=,.@-]{2,64}$/

/** `length` characters drawn from `alphabet`, at random. */
export function randomText(alphabet: string, length: number): string {
  let out = ''
  for (const byte of randomBytes(length * 2)) {
    if (out.length === length) break
    if (byte < 256 - (256 % alphabet.length)) out += alphabet[byte % alphabet.length]
  }
  return out.length === length ? out : out + randomText(alphabet, length - out.length)
}

export const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
export const ALNUM = `${UPPER_ALNUM}abcdefghijklmnopqrstuvwxyz`

/** A stable id derived from `seed` (so one role always has the same role id). */
export function stableId(seed: string, alphabet: string, length: number): string {
  const digest = createHash('sha256').update(seed).digest()
  let out = ''
  for (let i = 0; out.length < length; i++) out += alphabet[digest[i % digest.length]! % alphabet.length]
  return out
}

/** `YYYY-MM-DDTHH:MM:SSZ`. */
export function isoSeconds(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
