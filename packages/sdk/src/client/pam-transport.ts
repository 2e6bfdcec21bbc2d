import type { QueryValue } from '../http/build-request.js'
import type { HttpClient } from '../http/http-client.js'
import type { BearerTokenSource } from './bearer-token-source.js'
import type { CallOptions } from './pam-client-params.js'
import { PAM_API_VERSION, PAM_OPERATIONS, type PamAction } from './pam-operations.js'

/** An operation's fields: the query of a GET, the JSON body of a POST (`undefined` ones left out). */
export type PamFields = Readonly<Record<string, unknown>>

/**
 * Sends the PAM operations: `{endpoint}/v2/{instanceId}/{path}` with the instance id
 * percent-encoded, the `x-acs-version` and `x-acs-action` headers of the official client, the
 * bearer token for the operations that take one, and the operation's idempotency (what the HTTP
 * layer may retry after a reset connection).
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

  /** Resolves with the parsed JSON body; `idempotent` overrides the operation's own. */
  async call(
    action: PamAction,
    fields: PamFields,
    options: CallOptions,
    idempotent?: boolean,
  ): Promise<unknown> {
    if (this.#closed) throw new DOMException('The PamClient was closed', 'AbortError')
    const operation = PAM_OPERATIONS[action]
    const { signal } = options
    const send = (authorization?: string) =>
      this.#http.request(operation.method, `${this.#base}${operation.path}`, {
        ...(operation.method === 'GET' ? { query: fields as Record<string, QueryValue> } : { json: fields }),
        headers: { 'x-acs-version': PAM_API_VERSION, 'x-acs-action': action, authorization },
        idempotent: idempotent ?? operation.idempotent,
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
