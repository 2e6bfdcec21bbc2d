import type { QueryValue } from '../http/build-request.js'
import type { HttpClient } from '../http/http-client.js'
import type { BearerTokenSource } from './bearer-token-source.js'
import type { CallOptions } from './pam-client-params.js'
import { PAM_API_VERSION, PAM_OPERATIONS, type PamAction, type PamOperation } from './pam-operations.js'
import { STRONGROOM_OPERATIONS, type StrongroomAction } from './strongroom-operations.js'

/** An operation's fields: the query of a GET, the JSON body of a POST (`undefined` ones left out). */
export type PamFields = Readonly<Record<string, unknown>>

/** What one call changes of its operation's defaults. */
export interface CallOverrides {
  /** Whether repeating this call is harmless; the operation's own when absent. */
  idempotent?: boolean | undefined
  /**
   * Headers made afresh for every attempt, for an operation sent without the bearer token: a DPoP
   * proof may be used once only, so a retried request needs a new one.
   */
  attemptHeaders?: (() => Promise<Readonly<Record<string, string>>>) | undefined
}

/**
 * Sends the PAM operations: `{endpoint}/v2/{instanceId}/{path}` with the instance id
 * percent-encoded, the `x-acs-version` and `x-acs-action` headers of the official client (on the
 * IDaaS operations), the bearer token for the operations that take one, and the operation's
 * idempotency (what the HTTP layer may retry after a reset connection).
 */
export class PamTransport {
  readonly #http: HttpClient
  readonly #tokens: BearerTokenSource
  readonly #base: string
  #closed = false

  constructor(http: HttpClient, tokens: BearerTokenSource, endpoint: string, instanceId: string) {
    this.#http = http
    this.#tokens = tokens
    this.#base = `${endpoint}/v2/${encodeURIComponent(instanceId)}/`
  }

  /** The URL an operation is sent to (what a DPoP proof's `htu` names). */
  url(action: PamAction | StrongroomAction): string {
    return `${this.#base}${operationOf(action).path}`
  }

  /** Resolves with the parsed JSON body. */
  async call(
    action: PamAction | StrongroomAction,
    fields: PamFields,
    options: CallOptions,
    overrides: CallOverrides = {},
  ): Promise<unknown> {
    if (this.#closed) throw new DOMException('The PamClient was closed', 'AbortError')
    const operation = operationOf(action)
    const { signal } = options
    const acs = Object.hasOwn(PAM_OPERATIONS, action)
      ? { 'x-acs-version': PAM_API_VERSION, 'x-acs-action': action }
      : {}
    const send = (authorization?: string) =>
      this.#http.request(operation.method, this.url(action), {
        ...(operation.method === 'GET' ? { query: fields as Record<string, QueryValue> } : { json: fields }),
        headers: { ...acs, authorization },
        attemptHeaders: overrides.attemptHeaders,
        idempotent: overrides.idempotent ?? operation.idempotent,
        signal,
      })
    return operation.bearer ? this.#tokens.run(signal, send) : send()
  }

  /** Closes the token cache, then the HTTP client. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#tokens.close()
    await this.#http.close()
  }

  toJSON(): Record<string, unknown> {
    return { ...this.#tokens.toJSON(), closed: this.#closed }
  }
}

function operationOf(action: PamAction | StrongroomAction): PamOperation {
  return Object.hasOwn(PAM_OPERATIONS, action)
    ? PAM_OPERATIONS[action as PamAction]
    : STRONGROOM_OPERATIONS[action as StrongroomAction]
}
