import { REDACTED, Redacted, redactedIfSet } from './redacted.js'

/**
 * The secret parts of the PAM's answers, each a {@link Redacted} object: the secret is a getter,
 * printing shows `[REDACTED]` in its place, the non-secret fields are plain properties.
 */

/** `credentialContent.apiKeyContent` of an `api_key` credential. */
export class ApiKeyContent extends Redacted {
  readonly #apiKey: string
  constructor(apiKey: string) {
    super()
    this.#apiKey = apiKey
    Object.freeze(this)
  }
  /** The API key. Secret. */
  get apiKey(): string {
    return this.#apiKey
  }
  toJSON(): Record<string, unknown> {
    return { apiKey: REDACTED }
  }
}

/** `credentialContent.oauthClientContent` of an `oauth_client` credential. */
export class OAuthClientContent extends Redacted {
  /** The OAuth client id (not secret). */
  readonly clientId: string
  readonly #clientSecret: string
  constructor(clientId: string, clientSecret: string) {
    super()
    this.clientId = clientId
    this.#clientSecret = clientSecret
    Object.freeze(this)
  }
  /** The OAuth client secret. Secret. */
  get clientSecret(): string {
    return this.#clientSecret
  }
  toJSON(): Record<string, unknown> {
    return { clientId: this.clientId, clientSecret: REDACTED }
  }
}

/** `credentialContent.passwordContent`: a strongroom extension the official clients ignore. */
export class PasswordContent extends Redacted {
  readonly username: string | undefined
  readonly #password: string
  constructor(password: string, username?: string) {
    super()
    this.username = username
    this.#password = password
    Object.freeze(this)
  }
  /** The password. Secret. */
  get password(): string {
    return this.#password
  }
  toJSON(): Record<string, unknown> {
    return { ...(this.username === undefined ? {} : { username: this.username }), password: REDACTED }
  }
}

/** `credentialContent.sshKeyContent`: a strongroom extension the official clients ignore. */
export class SshKeyContent extends Redacted {
  readonly publicKey: string | undefined
  readonly #privateKey: string
  readonly #passphrase: string | undefined
  constructor(privateKey: string, passphrase?: string, publicKey?: string) {
    super()
    this.publicKey = publicKey
    this.#privateKey = privateKey
    this.#passphrase = passphrase
    Object.freeze(this)
  }
  /** The private key (PEM or OpenSSH). Secret. */
  get privateKey(): string {
    return this.#privateKey
  }
  /** The private key's passphrase, when it has one. Secret. */
  get passphrase(): string | undefined {
    return this.#passphrase
  }
  toJSON(): Record<string, unknown> {
    return {
      privateKey: REDACTED,
      ...redactedIfSet('passphrase', this.#passphrase),
      ...(this.publicKey === undefined ? {} : { publicKey: this.publicKey }),
    }
  }
}

/** `jwtContent` of the JWT operations. */
export class JwtContent extends Redacted {
  readonly #jwtValue: string
  readonly #derivedShortToken: string | undefined
  constructor(jwtValue: string, derivedShortToken?: string) {
    super()
    this.#jwtValue = jwtValue
    this.#derivedShortToken = derivedShortToken
    Object.freeze(this)
  }
  /** The signed JWT (compact serialisation). Secret. */
  get jwtValue(): string {
    return this.#jwtValue
  }
  /** The `sk-…` short token standing for the JWT, when one was asked for. Secret. */
  get derivedShortToken(): string | undefined {
    return this.#derivedShortToken
  }
  toJSON(): Record<string, unknown> {
    return { jwtValue: REDACTED, ...redactedIfSet('derivedShortToken', this.#derivedShortToken) }
  }
}

/** `oauthAccessTokenContent` of FetchOAuthAuthenticationToken. */
export class OAuthAccessTokenContent extends Redacted {
  /** The space-separated scopes the upstream granted. */
  readonly scope: string
  /** Usually `Bearer`. */
  readonly tokenType: string
  readonly #accessTokenValue: string
  constructor(accessTokenValue: string, scope: string, tokenType: string) {
    super()
    this.scope = scope
    this.tokenType = tokenType
    this.#accessTokenValue = accessTokenValue
    Object.freeze(this)
  }
  /** The upstream access token. Secret. */
  get accessTokenValue(): string {
    return this.#accessTokenValue
  }
  toJSON(): Record<string, unknown> {
    return { accessTokenValue: REDACTED, scope: this.scope, tokenType: this.tokenType }
  }
}
