import type { KeyObject } from 'node:crypto'
import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import { CredentialProviderError } from '../errors.js'
import type { SecretSource } from './credential-provider.js'

/** Where a client assertion is sent, and who signs it. */
export interface AssertionContext {
  clientId: string
  tokenEndpoint: string
  /** Epoch milliseconds. */
  now: number
}

/**
 * How a client proves who it is at the token endpoint: adds its fields to the form and its
 * headers. Small factories, one per method (oauth4webapi's `ClientSecretBasic(secret)` style).
 */
export type ClientAuthentication = (
  form: URLSearchParams,
  headers: Record<string, string>,
  context: AssertionContext,
) => Promise<void>

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const ID_TOKEN_BEARER = 'urn:cloud:idaas:params:oauth:client-assertion-type:id-token-bearer'
/** Assertions live this long: the server accepts at most 10 minutes. */
const ASSERTION_LIFETIME_S = 300

export async function resolveSecret(source: SecretSource, what: string): Promise<string> {
  const value = typeof source === 'string' ? source : await source()
  if (typeof value !== 'string' || value === '') {
    throw new CredentialProviderError(`${what} is empty`)
  }
  return value
}

/** RFC 6749 §2.3.1: `client_secret_post`. */
export function clientSecretPost(secret: SecretSource): ClientAuthentication {
  return async (form) => {
    form.set('client_secret', await resolveSecret(secret, 'the client secret'))
  }
}

/** RFC 6749 §2.3.1: `client_secret_basic`, each part form-urlencoded before the base64. */
export function clientSecretBasic(secret: SecretSource): ClientAuthentication {
  return async (_form, headers, { clientId }) => {
    const value = await resolveSecret(secret, 'the client secret')
    const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+')
    headers.authorization = `Basic ${Buffer.from(`${enc(clientId)}:${enc(value)}`).toString('base64')}`
  }
}

function assertionClaims(context: AssertionContext) {
  const iat = Math.floor(context.now / 1000)
  return {
    iss: context.clientId,
    sub: context.clientId,
    aud: context.tokenEndpoint,
    jti: randomUUID(),
    iat,
    exp: iat + ASSERTION_LIFETIME_S,
  }
}

/** RFC 7523 `client_secret_jwt`: an HS256 assertion keyed with the client secret. */
export function clientSecretJwt(secret: SecretSource): ClientAuthentication {
  return async (form, _headers, context) => {
    const key = Buffer.from(await resolveSecret(secret, 'the client secret'), 'utf8')
    const assertion = await new SignJWT(assertionClaims(context))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(key)
    form.set('client_assertion_type', JWT_BEARER)
    form.set('client_assertion', assertion)
  }
}

/** RFC 7523 `private_key_jwt`: an assertion signed with the client's private key, `alg` chosen from the key. */
export function privateKeyJwt(
  key: () => Promise<{ key: KeyObject; alg: string; kid?: string }>,
): ClientAuthentication {
  return async (form, _headers, context) => {
    const signing = await key()
    const assertion = await new SignJWT(assertionClaims(context))
      .setProtectedHeader({ alg: signing.alg, ...(signing.kid ? { kid: signing.kid } : {}) })
      .sign(signing.key)
    form.set('client_assertion_type', JWT_BEARER)
    form.set('client_assertion', assertion)
  }
}

/** Federation: an external OIDC token (a Kubernetes service-account token, a CI job token) as the assertion. */
export function idTokenBearer(
  token: () => Promise<string>,
  applicationFederatedCredentialName: string,
): ClientAuthentication {
  return async (form) => {
    form.set('client_assertion_type', ID_TOKEN_BEARER)
    form.set('client_assertion', await token())
    form.set('application_federated_credential_name', applicationFederatedCredentialName)
  }
}
