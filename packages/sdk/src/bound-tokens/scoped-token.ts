import { REDACTED, Redacted } from '../client/redacted.js'

/** The fields of a bound token that are not secret. */
export interface ScopedTokenFields {
  /** Always `DPoP`: present the token as `Authorization: DPoP <accessToken>` with a proof. */
  readonly tokenType: string
  /** The scope granted (`audience|value …`): what was asked for, narrowed to what the caller may have. */
  readonly scope: string
  /** Seconds the token had left when it was issued. */
  readonly expiresIn: number
  /** When the token expires, in epoch milliseconds. */
  readonly expirationTime: number
  /** The RFC 7638 thumbprint of the key the token is bound to (its `cnf.jkt`): `key.thumbprint`. */
  readonly jkt: string
  /** The token's `jti`. */
  readonly tokenId: string
}

/**
 * An access token bound to a proof key (RFC 9449 §6): useless without the private key, since every
 * request must carry a fresh DPoP proof signed by it (`boundRequestHeaders`, `boundFetch`). The
 * token is read through the `accessToken` getter and prints as `[REDACTED]`.
 *
 * @example
 * ```ts
 * const key = await createProofKey()
 * const token = await pam.getScopedToken({ scope: 'urn:cloud:idaas:pam|account:read', key })
 * const headers = await boundRequestHeaders(token, key, { method: 'GET', url })
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
export class ScopedToken extends Redacted implements ScopedTokenFields {
  readonly tokenType: string
  readonly scope: string
  readonly expiresIn: number
  readonly expirationTime: number
  readonly jkt: string
  readonly tokenId: string
  readonly #accessToken: string

  constructor(accessToken: string, fields: ScopedTokenFields) {
    super()
    this.tokenType = fields.tokenType
    this.scope = fields.scope
    this.expiresIn = fields.expiresIn
    this.expirationTime = fields.expirationTime
    this.jkt = fields.jkt
    this.tokenId = fields.tokenId
    this.#accessToken = accessToken
    if (new.target === ScopedToken) Object.freeze(this)
  }

  /** The access token (a JWT). Secret. */
  get accessToken(): string {
    return this.#accessToken
  }

  toJSON(): Record<string, unknown> {
    return {
      tokenType: this.tokenType,
      scope: this.scope,
      expiresIn: this.expiresIn,
      expirationTime: this.expirationTime,
      jkt: this.jkt,
      tokenId: this.tokenId,
      accessToken: REDACTED,
    }
  }
}

/** The fields of a session token that are not secret. */
export interface SessionTokenFields extends ScopedTokenFields {
  readonly sessionId: string
  /** When the session ends, in epoch milliseconds: its tokens can be refreshed until then. */
  readonly sessionExpirationTime: number
}

/**
 * A bound token of a session: `pam.refreshSessionToken(token, key)` renews it, authenticated by the
 * token and a proof of the key alone (no client credentials), until `sessionExpirationTime`.
 *
 * @example
 * ```ts
 * let session = await pam.startSession({ scope, key, sessionExpirationInMinutes: 30 })
 * // … later, before session.expirationTime:
 * session = await pam.refreshSessionToken(session, key)
 * ```
 */
export class SessionToken extends ScopedToken implements SessionTokenFields {
  readonly sessionId: string
  readonly sessionExpirationTime: number

  constructor(accessToken: string, fields: SessionTokenFields) {
    super(accessToken, fields)
    this.sessionId = fields.sessionId
    this.sessionExpirationTime = fields.sessionExpirationTime
    Object.freeze(this)
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      sessionId: this.sessionId,
      sessionExpirationTime: this.sessionExpirationTime,
    }
  }
}
