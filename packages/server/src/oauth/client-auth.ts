import type { Kysely } from 'kysely'
import { hashesEqual, isWellFormedSecret, keyedHash, SECRET_PREFIX } from '../crypto/minted-secret.js'
import { OAuthError } from '../errors.js'
import type { Services } from '../services/context.js'
import type { ApplicationTable, Database } from '../store/schema.js'

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post'

export const SUPPORTED_CLIENT_AUTH_METHODS: ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post']

/** The assertion types of CONTRACT.md and what each is. */
const ASSERTION_TYPES: Record<string, string> = {
  'urn:ietf:params:oauth:client-assertion-type:jwt-bearer': 'client_secret_jwt / private_key_jwt',
  'urn:cloud:idaas:params:oauth:client-assertion-type:id-token-bearer': 'federated OIDC (id-token-bearer)',
  'urn:cloud:idaas:params:oauth:client-assertion-type:pkcs7-bearer':
    'PKCS#7 instance documents (pkcs7-bearer)',
  'urn:cloud:idaas:params:oauth:client-assertion-type:x509-jwt-bearer':
    'X.509 certificates (x509-jwt-bearer)',
}

export interface ClientCredentials {
  method: ClientAuthMethod
  clientId: string
  secret: string
}

/**
 * Which client authentication the request uses, from the `Authorization` header and the
 * parameters (RFC 6749 §2.3): exactly one method, or an `invalid_request` saying why not.
 */
export function presentedCredentials(
  params: Map<string, string>,
  authorization: string | undefined,
): ClientCredentials {
  const assertionType = params.get('client_assertion_type')
  const basic =
    authorization !== undefined && /^basic /i.test(authorization) ? parseBasic(authorization) : undefined
  const secret = params.get('client_secret')
  const used = [basic !== undefined, secret !== undefined, assertionType !== undefined].filter(Boolean).length
  if (used > 1)
    throw new OAuthError(
      'invalid_request',
      'InvalidParameter',
      'use exactly one client authentication method',
    )
  if (assertionType !== undefined) {
    const what = ASSERTION_TYPES[assertionType]
    throw new OAuthError(
      'unsupported_client_auth_method',
      'UnsupportedClientAuthMethod',
      what
        ? `client authentication by ${what} is not supported by this server; use client_secret_basic or client_secret_post`
        : 'client_assertion_type names no client authentication method this server knows',
    )
  }
  const clientId = params.get('client_id')
  if (basic) {
    if (clientId !== undefined && clientId !== basic.clientId) {
      throw new OAuthError(
        'invalid_request',
        'InvalidParameter',
        'client_id differs from the one in the Authorization header',
      )
    }
    return { method: 'client_secret_basic', clientId: basic.clientId, secret: basic.secret }
  }
  if (secret !== undefined) {
    if (clientId === undefined)
      throw new OAuthError('invalid_request', 'InvalidParameter', 'client_id is required with client_secret')
    return { method: 'client_secret_post', clientId, secret }
  }
  throw new OAuthError('invalid_client', 'InvalidClient', 'client authentication is required', 401)
}

/** RFC 6749 §2.3.1: both parts are form-urlencoded before base64. */
function parseBasic(header: string): { clientId: string; secret: string } {
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0)
    throw new OAuthError('invalid_request', 'InvalidParameter', 'the Basic credentials are malformed')
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon).replaceAll('+', ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replaceAll('+', ' ')),
    }
  } catch {
    throw new OAuthError('invalid_request', 'InvalidParameter', 'the Basic credentials are malformed')
  }
}

/** Why authentication failed, for the audit event; the client only ever hears "failed". */
export type ClientAuthFailure = 'unknown_client' | 'disabled' | 'bad_secret'

/**
 * Checks a client secret: the application must exist in the instance and be enabled, and the
 * secret must be a live (not revoked, not expired) secret of that application, compared as keyed
 * hashes in constant time.
 */
export async function verifyClientSecret(
  s: Pick<Services, 'keyring' | 'now'>,
  db: Kysely<Database>,
  instanceId: string,
  credentials: ClientCredentials,
): Promise<
  { application: ApplicationTable } | { failure: ClientAuthFailure; application?: ApplicationTable }
> {
  const application = await db
    .selectFrom('applications')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .where('client_id', '=', credentials.clientId)
    .executeTakeFirst()
  if (!application) return { failure: 'unknown_client' }
  if (application.status !== 'enabled') return { failure: 'disabled', application }
  if (!isWellFormedSecret(credentials.secret, SECRET_PREFIX.clientSecret))
    return { failure: 'bad_secret', application }
  const hash = keyedHash(s.keyring.hashKey, credentials.secret)
  const secret = await db
    .selectFrom('client_secrets')
    .select(['secret_hash', 'revoked_at', 'expires_at'])
    .where('application_id', '=', application.id)
    .where('secret_hash', '=', hash)
    .executeTakeFirst()
  const now = s.now()
  if (
    !secret ||
    !hashesEqual(secret.secret_hash, hash) ||
    secret.revoked_at !== null ||
    (secret.expires_at !== null && Number(secret.expires_at) <= now)
  ) {
    return { failure: 'bad_secret', application }
  }
  return { application }
}
